/**
 * Tasks with `subtasksPerMessage` > 1: several subtasks per work message and one outcome message
 * back, with the executor's concurrency still bounding handler runs, fail-fast inside a message,
 * and messages split in halves when they would exceed the server's max_payload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { names, type ItemsChunk } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('several subtasks per work message', () => {
  let stack: Stack;
  let jsm: JetStreamManager;
  let active = 0;
  let maxActive = 0;
  const abortedBySibling: number[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 2,
          handlers: {
            double: async (input) => {
              active++;
              maxActive = Math.max(maxActive, active);
              await sleep(2);
              active--;
              return (input as ItemsChunk<number>).items.map((x) => x * 2);
            },
            twice: (input) => (input as ItemsChunk<string>).items.map((s) => s + s),
          },
        },
        {
          group: 'wide',
          concurrency: 8,
          handlers: {
            failOrHang: async (input, ctx) => {
              const [x] = (input as ItemsChunk<number>).items;
              if (x === 2) throw new Error('two is bad');
              await new Promise<void>((resolve, reject) => {
                const t = setTimeout(resolve, 30_000);
                ctx.signal.addEventListener('abort', () => {
                  clearTimeout(t);
                  abortedBySibling.push(ctx.index);
                  reject(ctx.signal.reason as Error);
                });
              });
            },
          },
        },
      ],
    });
    jsm = await jetstreamManager(stack.raw);
  });
  afterAll(() => stack?.close());

  /** Messages stored in `stream` while `fn` runs (stream sequence numbers used). */
  async function messagesDuring(stream: string, fn: () => Promise<void>): Promise<number> {
    const before = (await jsm.streams.info(stream)).state.last_seq;
    await fn();
    return (await jsm.streams.info(stream)).state.last_seq - before;
  }

  it('sends 100 subtasks in 13 work messages and 13 outcome messages, 2 handlers at a time', async () => {
    const n = names(stack.prefix);
    const items = Array.from({ length: 1000 }, (_, i) => i);
    let result: unknown;
    const outcomes = await messagesDuring(n.streams.outcomes, async () => {
      const work = await messagesDuring(n.streams.work, async () => {
        const { id } = await stack.client.submit({
          type: 'double',
          payload: items,
          split: { kind: 'items', chunkSize: 10 },
          subtasksPerMessage: 8,
        });
        result = await stack.client.result(id, { timeoutMs: 30_000 });
      });
      expect(work).toBe(13);
    });
    expect(outcomes).toBe(13);
    expect((result as number[][]).flat()).toEqual(items.map((x) => x * 2));
    expect(maxActive).toBe(2);
  });

  it('fails the task with the failing subtask and aborts its siblings in the message', async () => {
    const t0 = Date.now();
    const { id } = await stack.client.submit({
      type: 'failOrHang',
      group: 'wide',
      payload: [0, 1, 2, 3],
      split: { kind: 'items', chunkSize: 1 },
      subtasksPerMessage: 4,
    });
    await expect(stack.client.result(id, { timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'HANDLER_ERROR',
      message: 'two is bad',
    });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const { task } = await stack.client.get(id);
    expect(task.error?.details).toMatchObject({ subtask: 2 });
    expect(abortedBySibling.sort()).toEqual([0, 1, 3]);
  });

  it('splits work and outcome messages that would exceed max_payload', async () => {
    const n = names(stack.prefix);
    // 8 inputs of 300 KB: a message of 8 (or 4) is over the 1 MB max_payload, one of 2 fits;
    // each result doubles its input, so an outcome message of 2 must be split again
    const big = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(300_000));
    let result: unknown;
    const outcomes = await messagesDuring(n.streams.outcomes, async () => {
      const work = await messagesDuring(n.streams.work, async () => {
        const { id } = await stack.client.submit({
          type: 'twice',
          payload: big,
          split: { kind: 'items', chunkSize: 1 },
          subtasksPerMessage: 8,
        });
        result = await stack.client.result(id, { timeoutMs: 30_000 });
      });
      expect(work).toBe(4);
    });
    expect(outcomes).toBe(8);
    expect((result as string[][]).flat()).toEqual(big.map((s) => s + s));
  });
});
