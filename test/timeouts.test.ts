/**
 * Timeouts that hold: a subtask's timeout fires its AbortSignal and its attempt fails with `TIMEOUT`
 * (retried by policy), but a handler that ignores the signal keeps its slot until it really
 * returns, so an executor never runs more handlers than its concurrency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerContext } from '@jetsched/executor';
import { startStack, type Stack } from './helpers/stack.js';

const CONCURRENCY = 2;

describe('a handler that ignores its timeout', () => {
  let stack: Stack;
  let running = 0;
  let most = 0;
  const attempts = new Map<string, number[]>();
  const note = (ctx: HandlerContext): void => {
    running++;
    most = Math.max(most, running);
    attempts.set(ctx.taskId, [...(attempts.get(ctx.taskId) ?? []), ctx.attempt]);
  };
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: CONCURRENCY,
          handlers: {
            // runs 1.2 s whatever its signal says
            stubborn: async (_x, ctx) => {
              note(ctx);
              await sleep(1_200);
              running--;
              return 'late';
            },
            quick: async (x, ctx) => {
              note(ctx);
              await sleep(20);
              running--;
              return x;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('fails its attempt with TIMEOUT at once, retried by policy, and keeps its slot until it returns', async () => {
    const started = Date.now();
    const stubborn = await stack.client.submitMany(
      [1, 2, 3].map((n) => ({
        type: 'stubborn',
        payload: n,
        timeoutMs: 200,
        retry: { maxAttempts: 2 },
      })),
    );
    const quick = await stack.client.submitMany([1, 2, 3, 4].map((n) => ({ type: 'quick', payload: n })));
    for (const r of stubborn) {
      if (!r.ok) throw new Error('submit failed');
      await expect(stack.client.result(r.id, { timeoutMs: 20_000 })).rejects.toMatchObject({
        code: 'TIMEOUT',
      });
      expect(attempts.get(r.id)).toEqual([1, 2]);
    }
    for (const r of quick) {
      if (!r.ok) throw new Error('submit failed');
      await stack.client.result(r.id, { timeoutMs: 20_000 });
    }
    // none ran beside another in a slot that other had given back at its abort
    expect(most).toBeLessThanOrEqual(CONCURRENCY);
    // and six stubborn runs of 1.2 s on two slots end no sooner than three rounds of 1.2 s
    while (running > 0) await sleep(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 1_200);
  });
});

describe('a task deadline', () => {
  let stack: Stack;
  const aborted = new Map<string, number>();
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            // waits 5 s unless aborted; notes when its signal fired
            slow: async (_x, ctx) => {
              await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, 5_000);
                ctx.signal.addEventListener('abort', () => {
                  aborted.set(ctx.taskId, Date.now());
                  clearTimeout(t);
                  resolve();
                });
              });
              return 'finished';
            },
            fast: (x) => x,
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('fails the whole task when reached, aborting its running subtasks; a task that ended before it stays ended', async () => {
    const t0 = Date.now();
    const [slow, fast] = await stack.client.submitMany([
      { type: 'slow', payload: [1, 2], split: { kind: 'items', chunkSize: 1 }, deadlineMs: 1_000 },
      { type: 'fast', payload: 1, deadlineMs: 1_000 },
    ]);
    if (!slow?.ok || !fast?.ok) throw new Error('submit failed');
    expect(await stack.client.result(fast.id, { timeoutMs: 10_000 })).toEqual([1]);
    await expect(stack.client.result(slow.id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    const failedAt = Date.now();
    // not before its deadline, and well before its handlers would have ended
    expect(failedAt - t0).toBeGreaterThanOrEqual(1_000);
    expect(failedAt - t0).toBeLessThan(4_000);
    // its running subtasks were aborted within a second of the deadline
    while (!aborted.has(slow.id) && Date.now() - failedAt < 2_000) await sleep(20);
    expect((aborted.get(slow.id) ?? Infinity) - t0).toBeLessThan(2_500);
    // the task that ended in time stays succeeded after the deadline has passed
    await sleep(500);
    expect((await stack.client.get(fast.id)).task.state).toBe('succeeded');
  });
});
