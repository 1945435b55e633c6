/**
 * Custom splitters registered in the scheduler: their output becomes subtasks, a throw fails the
 * task, and one that hangs fails its task after `splitTimeoutMs` (its signal fires) instead of
 * holding the task forever; the scheduler keeps serving either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScheduler, type Scheduler } from '@jetsched/scheduler';
import { startStack, type Stack } from './helpers/stack.js';

describe('custom splitters', () => {
  let stack: Stack;
  let scheduler: Scheduler;
  const hangSignals: AbortSignal[] = [];
  beforeAll(async () => {
    stack = await startStack({
      schedulers: 0,
      executors: [{ handlers: { pairs: (input) => input, hang: (input) => input, bad: (input) => input } }],
    });
    scheduler = createScheduler({
      nc: await stack.connect(),
      prefix: stack.prefix,
      splitTimeoutMs: 300,
      splitters: {
        pairs: (payload) => {
          const xs = payload as number[];
          return Array.from({ length: xs.length / 2 }, (_, i) => [xs[2 * i], xs[2 * i + 1]]);
        },
        hang: (_payload, ctx) => {
          hangSignals.push(ctx.signal);
          return new Promise<never>(() => undefined);
        },
        bad: () => {
          throw new Error('cannot split this');
        },
      },
    });
    await scheduler.start();
  });
  afterAll(async () => {
    await scheduler?.close();
    await stack?.close();
  });

  it('runs the subtasks a splitter returns', async () => {
    const { id } = await stack.client.submit({
      type: 'pairs',
      payload: [1, 2, 3, 4],
      split: { kind: 'custom' },
    });
    expect(await stack.client.result(id, { timeoutMs: 10_000 })).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('fails the task of a splitter that hangs, after the split timeout, and keeps serving', async () => {
    const t0 = Date.now();
    const { id } = await stack.client.submit({ type: 'hang', payload: 1, split: { kind: 'custom' } });
    await expect(stack.client.result(id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'SPLIT_FAILED',
      message: 'splitter for "hang" did not finish within 300 ms',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(hangSignals).toHaveLength(1);
    expect(hangSignals[0]?.aborted).toBe(true);

    const { id: next } = await stack.client.submit({
      type: 'pairs',
      payload: [5, 6],
      split: { kind: 'custom' },
    });
    expect(await stack.client.result(next, { timeoutMs: 10_000 })).toEqual([[5, 6]]);
  });

  it('fails the task of a splitter that throws, with its message', async () => {
    const { id } = await stack.client.submit({ type: 'bad', payload: 1, split: { kind: 'custom' } });
    await expect(stack.client.result(id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'SPLIT_FAILED',
      message: 'splitter for "bad" threw: cannot split this',
    });
  });
});
