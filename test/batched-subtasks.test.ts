/**
 * Batch-native work: subtasks share work messages when more wait than the executors have free
 * slots (never more per message than an executor runs at once, nor than a task's
 * `subtasksPerMessage`), a lone subtask goes alone, the executor's concurrency bounds handler runs,
 * a failure stops the task's other subtasks, and messages are packed up to the server's max_payload.
 * Work is released as the executors have room (ADR 0018), so how many messages a task takes depends
 * on how the rounds fall; what each message holds is what these tests bound.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Header, names, type ItemsChunk, type SubmitRequest } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('subtasks per work message', () => {
  let stack: Stack;
  let jsm: JetStreamManager;
  let active = 0;
  let maxActive = 0;
  const abortedBySibling: number[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 10,
          handlers: {
            double: async (input) => {
              active++;
              maxActive = Math.max(maxActive, active);
              await sleep(2);
              active--;
              return (input as ItemsChunk<number>).items.map((x) => x * 2);
            },
          },
        },
        {
          group: 'big',
          concurrency: 8,
          handlers: { twice: (input) => (input as ItemsChunk<string>).items.map((s) => s + s) },
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

  /**
   * Runs a task to its result, counting the work and outcome messages it took and the subtasks each
   * work message carried (seen on the work subjects as they are published).
   */
  async function runCounting(req: SubmitRequest): Promise<{
    result: unknown;
    workMessages: number;
    outcomeMessages: number;
    perMessage: number[];
    bytes: number[];
  }> {
    const n = names(stack.prefix);
    const lastSeq = async (stream: string): Promise<number> =>
      (await jsm.streams.info(stream)).state.last_seq;
    const [work0, out0] = [await lastSeq(n.streams.work), await lastSeq(n.streams.outcomes)];
    const perMessage: number[] = [];
    const bytes: number[] = [];
    const sub = stack.raw.subscribe(`${n.prefix}.work.${req.group ?? 'default'}.*`, {
      callback: (_err, m) => {
        perMessage.push(Number(m.headers?.get(Header.Items)));
        bytes.push(m.data.length);
      },
    });
    await stack.raw.flush();
    try {
      const { id } = await stack.client.submit(req);
      const result = await stack.client.result(id, { timeoutMs: 30_000 });
      return {
        result,
        workMessages: (await lastSeq(n.streams.work)) - work0,
        outcomeMessages: (await lastSeq(n.streams.outcomes)) - out0,
        perMessage,
        bytes,
      };
    } finally {
      sub.unsubscribe();
    }
  }

  it('packs 200 subtasks 10 to a message for an executor running 10 at once, and runs 10 at a time', async () => {
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const run = await runCounting({
      type: 'double',
      payload: items,
      split: { kind: 'items', chunkSize: 10 },
    });
    // never more per message than the executor runs at once; packed, not one message per subtask
    expect(Math.max(...run.perMessage)).toBe(10);
    expect(run.perMessage.reduce((a, b) => a + b, 0)).toBe(200);
    expect(run.workMessages).toBe(run.perMessage.length);
    expect(run.workMessages).toBeLessThanOrEqual(40);
    expect(run.outcomeMessages).toBeLessThanOrEqual(run.workMessages);
    expect((run.result as number[][]).flat()).toEqual(items.map((x) => x * 2));
    expect(maxActive).toBe(10);
  });

  it("keeps to a task's subtasksPerMessage", async () => {
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const run = await runCounting({
      type: 'double',
      payload: items,
      split: { kind: 'items', chunkSize: 10 },
      subtasksPerMessage: 4,
    });
    expect(Math.max(...run.perMessage)).toBe(4);
    expect(run.workMessages).toBeGreaterThanOrEqual(50);
    expect((run.result as number[][]).flat()).toEqual(items.map((x) => x * 2));
  });

  it('sends a lone subtask alone, at once', async () => {
    const run = await runCounting({
      type: 'double',
      payload: [1, 2, 3],
      split: { kind: 'items', chunkSize: 10 },
    });
    expect(run.workMessages).toBe(1);
    expect(run.outcomeMessages).toBe(1);
    expect(run.result).toEqual([[2, 4, 6]]);
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

  it('packs work and outcome messages up to max_payload, and no further', async () => {
    // 24 inputs of 400 KB for 8 free slots: 3 per message by backlog, but only 2 fit a 1 MB message;
    // each result doubles its input, so an outcome message holds one
    const big = Array.from({ length: 24 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(400_000));
    const run = await runCounting({
      type: 'twice',
      group: 'big',
      payload: big,
      split: { kind: 'items', chunkSize: 1 },
    });
    expect(Math.max(...run.perMessage)).toBe(2);
    expect(Math.max(...run.bytes)).toBeLessThanOrEqual(1024 * 1024);
    expect(run.workMessages).toBeLessThan(24);
    expect(run.outcomeMessages).toBe(24);
    expect((run.result as string[][]).flat()).toEqual(big.map((s) => s + s));
  });
});
