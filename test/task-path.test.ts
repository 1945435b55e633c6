import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemsChunk, RangeChunk } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

describe('submit -> split -> execute -> aggregate', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 8,
          handlers: {
            double: (input) => (input as ItemsChunk<number>).items.map((x) => x * 2),
            sumsq: (input) => {
              const { start, end } = input as RangeChunk;
              let s = 0;
              for (let i = start; i < end; i++) s += i * i;
              return s;
            },
            echo: (input) => input,
          },
        },
      ],
      reducers: { sumsq: (acc, v) => ((acc as number | undefined) ?? 0) + (v as number) },
    });
  });
  afterAll(() => stack?.close());

  it('collects an items task of 1,000 items in chunks of 10 in subtask order', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const { id } = await stack.client.submit({
      type: 'double',
      payload: items,
      split: { kind: 'items', chunkSize: 10 },
      aggregate: { kind: 'collect' },
    });
    const result = await stack.client.result<number[][]>(id, { timeoutMs: 30_000 });
    expect(result).toHaveLength(100);
    expect(result.flat()).toEqual(items.map((x) => x * 2));
    const { task } = await stack.client.get(id);
    expect(task.state).toBe('succeeded');
    expect(task.subtasks).toMatchObject({ total: 100, succeeded: 100, failed: 0 });
    expect(task.finishedAt).toBeGreaterThanOrEqual(task.createdAt);
  });

  it('reduces a range task with the registered reducer', async () => {
    const { id } = await stack.client.submit({
      type: 'sumsq',
      split: { kind: 'range', start: 0, end: 100_000, chunkSize: 1_000 },
      aggregate: { kind: 'reduce' },
    });
    const n = 99_999;
    expect(await stack.client.result(id, { timeoutMs: 30_000 })).toBe((n * (n + 1) * (2 * n + 1)) / 6);
  });

  it('runs a task without a payload: its subtask gets null', async () => {
    const { id } = await stack.client.submit({ type: 'echo' });
    expect(await stack.client.result(id, { timeoutMs: 30_000 })).toEqual([null]);
  });

  it('runs an unsplit task as one subtask whose result is the task result', async () => {
    const { id } = await stack.client.submit({ type: 'echo', payload: { hello: 'world' } });
    expect(await stack.client.result(id, { timeoutMs: 30_000 })).toEqual([{ hello: 'world' }]);
  });
});
