/**
 * Bounded redelivery: a message of any kind that keeps failing is given up on its consumer's last
 * delivery (max_deliver): it is dead-lettered with the reason and the number of deliveries, its
 * tasks fail with MAX_DELIVERIES and a readable error, and everything else carries on.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetters } from './helpers/dead-letters.js';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';

const MAX_DELIVER = 3;

describe('a hand-off that keeps failing', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      ackWaitMs: 2_000,
      maxDeliver: MAX_DELIVER,
      executors: [{ handlers: { stuck: (x) => x, fine: (x) => x } }],
      splitters: {
        // the store it reads from is down, and says so as a retryable error, every time
        stuck: () => {
          throw Object.assign(new Error('input store unavailable'), { code: 'STORE_DOWN', retryable: true });
        },
      },
    });
  });
  afterAll(() => stack?.close());

  it('is dead-lettered after max_deliver and fails its task; other tasks run', async () => {
    const { id } = await stack.client.submit({ type: 'stuck', payload: 1, split: { kind: 'custom' } });
    const { id: fine } = await stack.client.submit({ type: 'fine', payload: 2 });
    expect(await stack.client.result(fine, { timeoutMs: 10_000 })).toEqual([2]);
    await expect(stack.client.result(id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'MAX_DELIVERIES',
      message: expect.stringMatching(
        /could not be scheduled after 3 deliveries: .*input store unavailable/,
      ) as unknown,
    });
    const dl = (await deadLetters(stack.raw, stack.prefix)).filter((d) => d.source === 'sched');
    expect(dl).toHaveLength(1);
    expect(dl[0]).toMatchObject({ deliveries: MAX_DELIVER, reason: { code: 'MAX_DELIVERIES' } });
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
