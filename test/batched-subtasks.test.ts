/**
 * Tasks with `subtasksPerMessage` > 1: several subtasks per work message and one outcome message
 * back, with the executor's concurrency still bounding handler runs, fail-fast inside a message,
 * and messages split in halves when they would exceed the server's max_payload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { names, type ItemsChunk, type SubmitRequest } from '@jetsched/protocol';
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

  /** Runs a task to its result, counting the work and outcome messages it took. */
  async function runCounting(
    req: SubmitRequest,
  ): Promise<{ result: unknown; workMessages: number; outcomeMessages: number }> {
    const n = names(stack.prefix);
    const lastSeq = async (stream: string): Promise<number> =>
      (await jsm.streams.info(stream)).state.last_seq;
    const [work0, out0] = [await lastSeq(n.streams.work), await lastSeq(n.streams.outcomes)];
    const { id } = await stack.client.submit(req);
    const result = await stack.client.result(id, { timeoutMs: 30_000 });
    return {
      result,
      workMessages: (await lastSeq(n.streams.work)) - work0,
      outcomeMessages: (await lastSeq(n.streams.outcomes)) - out0,
    };
  }

  it('sends 100 subtasks in 13 work messages and 13 outcome messages, 2 handlers at a time', async () => {
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const run = await runCounting({
      type: 'double',
      payload: items,
      split: { kind: 'items', chunkSize: 10 },
      subtasksPerMessage: 8,
    });
    expect(run.workMessages).toBe(13);
    expect(run.outcomeMessages).toBe(13);
    expect((run.result as number[][]).flat()).toEqual(items.map((x) => x * 2));
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
    // 8 inputs of 300 KB: a message of 8 (or 4) is over the 1 MB max_payload, one of 2 fits;
    // each result doubles its input, so an outcome message of 2 must be split again
    const big = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(300_000));
    const run = await runCounting({
      type: 'twice',
      payload: big,
      split: { kind: 'items', chunkSize: 1 },
      subtasksPerMessage: 8,
    });
    expect(run.workMessages).toBe(4);
    expect(run.outcomeMessages).toBe(8);
    expect((run.result as string[][]).flat()).toEqual(big.map((s) => s + s));
  });
});
