import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { names } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

const TASKS = 50;
const ITEMS = 40;
const CHUNK = 2; // 20 subtasks per task, 1,000 in all

/** Counts messages stored under a subject filter in a stream. */
async function countSubjects(
  nc: NatsConnection,
  stream: string,
  filter: string,
): Promise<Map<string, number>> {
  const js = jetstream(nc);
  const info = await (await js.streams.get(stream)).info(false, { subjects_filter: filter });
  return new Map(Object.entries(info.state.subjects ?? {}));
}

describe('many instances of every role, as separate processes', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    // short ack waits so a killed instance's work moves on within seconds
    c = await startProcessCluster({ JETSCHED_TEST_DELAY_MS: '25' }, { ackWaitMs: 3_000 });
    c.procs.start('coordinator');
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    c.procs.start('scheduler');
    for (let i = 0; i < 3; i++) c.procs.start('executor', ['--concurrency', '4']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('2 coordinators, 2 schedulers, 3 executors: every task completes once, right, also after kill -9 of a coordinator and a scheduler', async () => {
    const n = names(c.prefix);
    const ids: string[] = [];
    for (let t = 0; t < TASKS; t++) {
      const items = Array.from({ length: ITEMS }, (_, i) => i + t);
      const { id } = await c.client.submit({
        type: 'squares',
        payload: items,
        split: { kind: 'items', chunkSize: CHUNK },
        aggregate: { kind: 'reduce' },
        idempotencyKey: `task-${t}`,
      });
      ids.push(id);
    }
    // mid-run: some subtasks are done, most are not
    await c.waitForLedger((lines) => lines.length >= 150, 30_000);
    const [coordinator, scheduler] = [c.procs.all[0]!, c.procs.all[2]!];
    await Promise.all([coordinator.stop('SIGKILL'), scheduler.stop('SIGKILL')]);
    const doneAtKill = c.ledger().length;
    expect(doneAtKill).toBeLessThan(TASKS * (ITEMS / CHUNK) * 0.8);

    const results = await Promise.all(ids.map((id) => c.client.result<number>(id, { timeoutMs: 90_000 })));
    results.forEach((r, t) => {
      const items = Array.from({ length: ITEMS }, (_, i) => i + t);
      expect(r, c.procs.logs()).toBe(items.reduce((s, x) => s + x * x, 0));
    });

    // each task finished once: one succeeded entry each in the list index, complete and exact counts
    const succeeded = await c.client.list({ state: 'succeeded', type: 'squares', limit: 1000 });
    expect(succeeded.tasks.map((t) => t.id).sort()).toEqual([...ids].sort());
    for (const id of ids) {
      const { task } = await c.client.get(id);
      expect(task.subtasks).toMatchObject({ total: ITEMS / CHUNK, succeeded: ITEMS / CHUNK, failed: 0 });
    }
    // each subtask outcome recorded once: one record per subtask, no more (subtask records are
    // `<taskId>.<index>` beside the task records; `<taskId>.result` is the task's result)
    const kept = await countSubjects(c.nc, `KV_${n.buckets.tasks}`, `$KV.${n.buckets.tasks}.*.*`);
    const records = new Map([...kept].filter(([subject]) => !subject.endsWith('.result')));
    expect(records.size).toBe(TASKS * (ITEMS / CHUNK));
    for (const count of records.values()) expect(count).toBe(1);
    // and with no executor killed, no subtask ran twice
    const runs = c.ledger();
    expect(runs).toHaveLength(TASKS * (ITEMS / CHUNK));
    expect(new Set(runs.map((l) => l.split(' ').slice(0, 2).join(' '))).size).toBe(runs.length);
    // the work was shared by all three executors
    const perExecutor = new Map<string, number>();
    for (const l of runs) perExecutor.set(l.split(' ')[3]!, (perExecutor.get(l.split(' ')[3]!) ?? 0) + 1);
    expect(perExecutor.size).toBe(3);
  });
});
