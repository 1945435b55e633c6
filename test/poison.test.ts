/**
 * Bounded retries: a message of any kind that keeps failing is given up on its consumer's last
 * delivery (max_deliver), and a task whose splitter keeps asking to be retried after its attempts:
 * it is dead-lettered with the reason and the number of deliveries or attempts, its tasks fail with
 * a readable error, and everything else carries on, the other tasks of the same message included.
 * The dead letter is written before the tasks fail: whoever sees a task failed this way finds its
 * dead letter.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, type SchedBatch, type WorkBatch } from '@jetsched/protocol';
import { deadLetters } from './helpers/dead-letters.js';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';
import { watchSubject } from './helpers/subjects.js';

const MAX_DELIVER = 3;

describe('a task whose splitter keeps failing', () => {
  const ATTEMPTS = 3;
  let stack: Stack;
  /** Runs of the `fine` handler, by task. */
  const fineRuns = new Map<string, number>();
  beforeAll(async () => {
    stack = await startStack({
      splitAttempts: ATTEMPTS,
      executors: [
        {
          handlers: {
            stuck: (x) => x,
            fine: (x, ctx) => {
              fineRuns.set(ctx.taskId, (fineRuns.get(ctx.taskId) ?? 0) + 1);
              return x;
            },
          },
        },
      ],
      splitters: {
        // the store it reads from is down, and says so as a retryable error, every time
        stuck: () => {
          throw Object.assign(new Error('input store unavailable'), { code: 'STORE_DOWN', retryable: true });
        },
      },
    });
  });
  afterAll(() => stack?.close());

  it('is given up after its attempts: dead-lettered first, then failed; the other tasks run at once, once', async () => {
    const [stuck, fine] = await stack.client.submitMany([
      { type: 'stuck', payload: 3, split: { kind: 'custom' } },
      { type: 'fine', payload: 4 },
    ]);
    if (!stuck?.ok || !fine?.ok) throw new Error('submit failed');
    // the healthy task does not wait for the other one's attempts to run out
    expect(await stack.client.result(fine.id, { timeoutMs: 10_000 })).toEqual([4]);
    expect((await stack.client.get(stuck.id)).task.state).toBe('pending');
    await expect(stack.client.result(stuck.id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'SPLIT_FAILED',
      message: expect.stringMatching(
        /could not be split after 3 attempts: .*input store unavailable/,
      ) as unknown,
    });
    expect(fineRuns.get(fine.id)).toBe(1);
    // the dead letter holds what was given up: the failing task alone, with its attempts
    const dl = (await deadLetters(stack.raw, stack.prefix)).filter(
      (d) => d.source === 'ready' && (decode(d.data) as SchedBatch).tasks?.some((t) => t.id === stuck.id),
    );
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ deliveries: ATTEMPTS, reason: { code: 'SPLIT_FAILED' } });
    expect((decode(dl[0]!.data) as SchedBatch).tasks?.map((t) => t.id)).toEqual([stuck.id]);
  });
});

describe('work that kills every executor that runs it', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 1_500, maxDeliver: MAX_DELIVER });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('runs max_deliver - 1 times, is then dead-lettered unrun, and fails its task', async () => {
    const { id } = await c.client.submit({ type: 'crash', payload: null });
    // a supervisor: start an executor again whenever one dies, until the task has ended
    const deadline = Date.now() + 40_000;
    let state = 'pending';
    while (Date.now() < deadline) {
      const e = c.procs.start('executor');
      await e.ready;
      while (e.proc.exitCode === null && e.proc.signalCode === null && Date.now() < deadline) {
        state = (await c.client.get(id)).task.state;
        if (state === 'failed') break;
        await sleep(100);
      }
      if (state === 'failed') break;
    }
    await expect(c.client.result(id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'MAX_DELIVERIES',
      message: expect.stringMatching(/delivered 3 times without an outcome/) as unknown,
    });
    expect(c.ledger().filter((l) => l.startsWith(`crash ${id} `))).toHaveLength(MAX_DELIVER - 1);
    const dl = (await deadLetters(c.nc, c.prefix)).filter((d) => d.source === 'work');
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ deliveries: MAX_DELIVER, reason: { code: 'MAX_DELIVERIES' } });
  });
});

describe('a work message shared with a subtask that kills every executor that runs it', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 1_500, maxDeliver: MAX_DELIVER });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('gives up only that subtask; the healthy tasks packed with it succeed, each recorded once', async () => {
    // 4 tasks wait for an executor of 2 slots: more than it has free slots, so they share work
    // messages two by two, the crashing one (the oldest) with a healthy one
    const work = await watchSubject(c.nc, `${c.prefix}.work.>`);
    const replies = await c.client.submitMany([
      { type: 'crash', payload: null },
      ...[1, 2, 3].map(() => ({ type: 'whoami', payload: { ms: 0 } })),
    ]);
    const ids = replies.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.id;
    });
    const [crash, ...healthy] = ids as [string, ...string[]];
    let e = c.procs.start('executor', ['--concurrency', '2']);
    await e.ready;
    // a supervisor: start an executor again whenever one dies, until every task has ended. These
    // hold one message at a time: an executor that dies takes every message it holds down with it
    // (each then comes back, a delivery used), which splitting a message does not change
    const deadline = Date.now() + 60_000;
    const ended = async (): Promise<boolean> => {
      const states = await Promise.all(ids.map(async (id) => (await c.client.get(id)).task.state));
      return states.every((s) => s === 'succeeded' || s === 'failed');
    };
    while (!(await ended()) && Date.now() < deadline) {
      if (e.proc.exitCode !== null || e.proc.signalCode !== null) {
        e = c.procs.start('executor', ['--concurrency', '1']);
        await e.ready;
      }
      await sleep(100);
    }
    work.stop();
    // the crashing subtask did share its first work message with a healthy task
    const first = work.seen.find((m) => (m.body as WorkBatch).items.some((i) => i.taskId === crash));
    const sharedWith = (first?.body as WorkBatch).items.map((i) => i.taskId).filter((id) => id !== crash);
    expect(sharedWith).toHaveLength(1);
    expect(healthy).toContain(sharedWith[0]);

    for (const id of healthy) {
      expect(await c.client.result(id, { timeoutMs: 10_000 })).toHaveLength(1);
      const { task } = await c.client.get(id);
      expect(task.subtasks).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
    }
    await expect(c.client.result(crash, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'MAX_DELIVERIES',
    });
    // it ran at most max_deliver times in all (once in the shared message, then in its own)
    const crashes = c.ledger().filter((l) => l.startsWith(`crash ${crash} `));
    expect(crashes.length).toBeGreaterThanOrEqual(2);
    expect(crashes.length).toBeLessThanOrEqual(MAX_DELIVER);
    // the dead letter is the crashing subtask's own message
    const dl = (await deadLetters(c.nc, c.prefix)).filter((d) => d.source === 'work');
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ deliveries: MAX_DELIVER, reason: { code: 'MAX_DELIVERIES' } });
    expect((decode(dl[0]!.data) as WorkBatch).items.map((i) => i.taskId)).toEqual([crash]);
  });
});

describe('an outcome that can never be recorded', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 2_000, maxDeliver: MAX_DELIVER });
    // this coordinator fails to record any outcome of a task of type `poison`, every time
    const coordinator = c
      .roles({ JETSCHED_FAILPOINTS: 'coordinator.record.poison=throw' })
      .start('coordinator');
    c.procs.start('scheduler');
    c.procs.start('executor');
    await Promise.all([coordinator.ready, ...c.procs.all.map((p) => p.ready)]);
  });
  afterAll(() => c?.close());

  it('is dead-lettered after max_deliver and fails its task; outcomes of other tasks are recorded', async () => {
    const [poisoned, fine] = await c.client.submitMany([
      { type: 'poison', payload: 'x' },
      {
        type: 'squares',
        payload: [3],
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'reduce' },
      },
    ]);
    if (!poisoned?.ok || !fine?.ok) throw new Error('submit failed');
    expect(await c.client.result(fine.id, { timeoutMs: 10_000 })).toBe(9);
    await expect(c.client.result(poisoned.id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'MAX_DELIVERIES',
      message: expect.stringMatching(/outcomes could not be recorded after 3 deliveries/) as unknown,
    });
    const dl = (await deadLetters(c.nc, c.prefix)).filter((d) => d.source === 'outcomes');
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ deliveries: MAX_DELIVER, reason: { code: 'MAX_DELIVERIES' } });
  });
});
