import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerContext } from '@jetsched/executor';
import { startStack, type Stack } from './helpers/stack.js';

describe('executor shutdown', () => {
  let stack: Stack;
  let calls = 0;
  beforeAll(async () => {
    const handler = async (_input: unknown, ctx: HandlerContext): Promise<string> => {
      // the first run outlives its executor's drain timeout; any later run finishes at once
      if (++calls === 1) {
        await new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        });
      }
      return `ran on ${ctx.executor}`;
    };
    stack = await startStack({
      executors: [
        { concurrency: 1, handlers: { slow: handler } },
        { concurrency: 1, handlers: { slow: handler } },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('hands a subtask aborted by a drain timeout back to the group instead of failing the task', async () => {
    const { id } = await stack.client.submit({ type: 'slow' });
    const deadline = Date.now() + 10_000;
    while (!stack.executors.some((e) => e.running > 0) && Date.now() < deadline) await sleep(10);
    const busy = stack.executors.find((e) => e.running > 0)!;
    const other = stack.executors.find((e) => e !== busy)!;
    await busy.close(); // drain timeout is 2 s in the test stack: the handler is aborted
    const result = await stack.client.result<string[]>(id, { timeoutMs: 20_000 });
    expect(result).toEqual([`ran on ${other.id}`]);
    expect(calls).toBe(2);
  });
});
