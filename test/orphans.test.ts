/**
 * Orphans (issue 8): a coordinator that dies after writing a submit's records and before handing its
 * tasks on leaves no task stuck `pending` or `delayed`. The round's backstops, sent ahead of the
 * records, fire `--orphan-check-ms` later and another coordinator hands the tasks on (a ready
 * task, a delayed one, one with a deadline); each runs once. A retry of the submit with its
 * idempotency key answers the same task. A submit that goes through leaves no backstop behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { names, type SubmitRequest } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

const CHECK_MS = 2_000;

describe('a task whose coordinator died mid-submit is handed on', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
    c.procs.start('scheduler');
    c.procs.start('executor');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  const task = (extra: Partial<SubmitRequest>): SubmitRequest => ({
    type: 'squares',
    payload: [1, 2],
    split: { kind: 'items', chunkSize: 1 },
    aggregate: { kind: 'reduce' },
    ...extra,
  });

  it('hands on ready, delayed and deadline hand-offs from their backstops, each run once', async () => {
    const crashing = c
      .roles({ JETSCHED_FAILPOINTS: 'coordinator.before-hand-off=crash' })
      .start('coordinator', ['--orphan-check-ms', String(CHECK_MS)]);
    await crashing.ready;
    const submitted = [
      task({ idempotencyKey: 'orphan-1', tenant: 'orphans' }),
      task({ delayMs: 500, tenant: 'orphans' }),
      task({ deadlineMs: 60_000, tenant: 'orphans' }),
    ];
    // the coordinator dies after writing the records: the request gets no reply
    await expect(c.client.submitMany(submitted)).rejects.toThrow();
    expect(await crashing.exited).toBeNull();
    const killedAt = Date.now();

    const other = c.procs.start('coordinator', ['--orphan-check-ms', String(CHECK_MS)]);
    await other.ready;
    const { tasks } = await c.client.list({ tenant: 'orphans' });
    expect(tasks.map((t) => t.state).sort()).toEqual(['delayed', 'pending', 'pending']);

    // the retry with the key is the same task, not a second one
    const again = await c.client.submit(task({ idempotencyKey: 'orphan-1', tenant: 'orphans' }));
    expect(again.duplicate).toBe(true);
    expect(tasks.map((t) => t.id)).toContain(again.id);

    for (const t of tasks) expect(await c.client.result(t.id, { timeoutMs: 20_000 })).toBe(5);
    expect(Date.now() - killedAt).toBeLessThan(CHECK_MS + 12_000);
    // every subtask of the three ran once: the backstop was the hand-off, not a second one
    const runs = c.ledger().filter((l) => tasks.some((t) => l.startsWith(`${t.id} `)));
    expect(runs).toHaveLength(6);
    expect(c.procs.logOf(other)).toContain('handed on tasks whose coordinator stopped');
  });

  it('purges the backstops of a hand-off that was stored', async () => {
    const ids = await Promise.all(
      [task({}), task({ delayMs: 300 }), task({ deadlineMs: 60_000 })].map((t) => c.client.submit(t)),
    );
    for (const { id } of ids) expect(await c.client.result(id, { timeoutMs: 20_000 })).toBe(5);
    const n = names(c.prefix);
    const jsm = await jetstreamManager(c.nc);
    // the purge follows the hand-off in the background: give it a moment
    let left: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const info = await jsm.streams.info(n.streams.delayed, { subjects_filter: n.subjects.backstopAll });
      left = info.state.subjects ?? {};
      if (Object.keys(left).length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(left).toEqual({});
    const runs = c.ledger().filter((l) => ids.some((t) => l.startsWith(`${t.id} `)));
    expect(runs).toHaveLength(6);
  });
});
