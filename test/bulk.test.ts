/**
 * A bulk run across processes: 20,000 tasks in submit_many batches, three executor processes. The
 * ledger (one line per handler run, across processes) and the records show every task terminal,
 * every task run once and its outcome recorded once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubmitRequest, TaskRecord } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

const TASKS = 20_000;

describe('20,000 tasks with submit_many over 3 executor processes', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({ JETSCHED_TEST_DELAY_MS: '0' });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    for (let i = 0; i < 3; i++) c.procs.start('executor', ['--concurrency', '32']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('ends every task, running and recording each once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i += 1000) {
      const batch: SubmitRequest[] = Array.from({ length: 1000 }, (_, k) => ({
        type: 'squares',
        payload: [i + k],
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'reduce' },
      }));
      for (const r of await c.client.submitMany(batch)) {
        if (!r.ok) throw new Error(r.error.message);
        ids.push(r.id);
      }
    }
    await c.waitForLedger((lines) => lines.length >= TASKS, 120_000);
    // every task ended succeeded, with its one subtask counted once (read from the list index)
    const done = new Map<string, TaskRecord>();
    const deadline = Date.now() + 60_000;
    while (done.size < TASKS && Date.now() < deadline) {
      done.clear();
      let cursor: string | undefined;
      do {
        const page = await c.client.list({
          state: 'succeeded',
          type: 'squares',
          limit: 1000,
          ...(cursor ? { cursor } : {}),
        });
        for (const t of page.tasks) done.set(t.id, t);
        cursor = page.nextCursor;
      } while (cursor);
    }
    expect(done.size).toBe(TASKS);
    for (const id of ids) expect(done.get(id)?.subtasks).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
    // and ran once: one ledger line per task, spread over the three executors
    const runs = c.ledger();
    expect(runs).toHaveLength(TASKS);
    expect(new Set(runs.map((l) => l.split(' ')[0])).size).toBe(TASKS);
    expect(new Set(runs.map((l) => l.split(' ')[3])).size).toBe(3);
  });
});
