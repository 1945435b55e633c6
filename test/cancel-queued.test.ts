/**
 * Cancellation removes queued work: after the cancel reply no subtask of the task starts anywhere,
 * also on an executor started later (the stop is a durable tombstone in the stops stream, not
 * process memory). Starts are counted from a ledger the handlers write with wall-clock times.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('cancelling a task with queued work', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    c.procs.start('executor', ['--concurrency', '4']);
    c.procs.start('executor', ['--concurrency', '4']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  /** Submits a task of 2,000 10-ms subtasks; returns its id and a reader of its starts. */
  async function submitTicks(): Promise<{ id: string; ticks: () => { at: number; executor: string }[] }> {
    const { id } = await c.client.submit({
      type: 'tick',
      payload: Array.from({ length: 2000 }, (_, i) => i),
      split: { kind: 'items', chunkSize: 1 },
      aggregate: { kind: 'none' },
    });
    const ticks = (): { at: number; executor: string }[] =>
      c
        .ledger()
        .filter((l) => l.startsWith(`tick ${id} `))
        .map((l) => {
          const [, , , at, executor] = l.split(' ');
          return { at: Number(at), executor: executor ?? '' };
        });
    return { id, ticks };
  }

  it('a task of 2,000 subtasks cancelled mid-run starts none after the reply, also on a new executor', async () => {
    const { id, ticks } = await submitTicks();
    await c.waitForLedger(() => ticks().length >= 200, 30_000);
    const task = await c.client.cancel(id, 'no longer needed');
    const repliedAt = Date.now();
    expect(task.state).toBe('cancelled');
    const before = ticks().length;
    expect(before).toBeLessThan(2000);

    // an executor that starts after the cancel finds the tombstone and skips what is queued
    await sleep(500);
    const late = c.procs.start('executor', ['--concurrency', '4']);
    await late.ready;
    await sleep(1_500);
    const after = ticks().filter((t) => t.at > repliedAt);
    expect(after, `${after.length} subtasks started after the cancel reply`).toEqual([]);
    expect(ticks().length).toBe(before);
    expect((await c.client.get(id)).task).toMatchObject({
      state: 'cancelled',
      cancelReason: 'no longer needed',
    });
  });

  it('an executor that starts after the cancel skips the queued work it never heard of live', async () => {
    const { id, ticks } = await submitTicks();
    await c.waitForLedger(() => ticks().length >= 100, 30_000);
    // every executor dies: the rest of the task stays queued, and nobody hears the cancel live
    await Promise.all(c.procs.all.filter((p) => p.role === 'executor').map((p) => p.stop('SIGKILL')));
    const before = ticks().length;
    await c.client.cancel(id, 'no longer needed');
    const repliedAt = Date.now();
    const late = c.procs.start('executor', ['--concurrency', '8']);
    await late.ready;
    await sleep(2_000);
    const after = ticks().filter((t) => t.at > repliedAt);
    expect(after, `${after.length} subtasks started after the cancel reply`).toEqual([]);
    expect(ticks().length).toBe(before);
  });
});
