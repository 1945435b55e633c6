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
