import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '@jetsched/executor';
import type { ItemsChunk } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

describe('results larger than a NATS message', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 4,
          handlers: {
            ident: (input) => (input as ItemsChunk<number>).items,
            huge: () => 'x'.repeat(2 * 1024 * 1024),
            circular: () => {
              const o: Record<string, unknown> = { a: 1 };
              o['self'] = o;
              return o;
            },
            bigger: () => 2n ** 70n,
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('stores and returns a collected result of several MB through the object store', async () => {
    const n = 400_000; // about 2 MB of msgpack, twice the server's max_payload
    const items = Array.from({ length: n }, (_, i) => i * 7);
    const { id } = await stack.client.submit({
      type: 'ident',
      payload: items,
      split: { kind: 'items', chunkSize: 50_000 },
      aggregate: { kind: 'collect' },
    });
    const result = await stack.client.result<number[][]>(id, { timeoutMs: 60_000 });
    expect(result.flat()).toEqual(items);
    const { task } = await stack.client.get(id);
    expect(task).toMatchObject({ state: 'succeeded', hasResult: true });
  });

  it('keeps a claim-checked payload and a large result for the task retention, not seconds', async () => {
    // a 2 MB payload waits in the object store for an executor that comes 2 s later
    const items = Array.from({ length: 400_000 }, (_, i) => i);
    const { id } = await stack.client.submit({
      type: 'ident',
      group: 'later',
      payload: items,
      split: { kind: 'items', chunkSize: 200_000 },
    });
    await sleep(2_000);
    const late = createExecutor({
      nc: await stack.connect(),
      prefix: stack.prefix,
      group: 'later',
      handlers: { ident: (input) => (input as ItemsChunk<number>).items },
    });
    await late.start();
    try {
      const first = await stack.client.result<number[][]>(id, { timeoutMs: 30_000 });
      // and its result, stored as an object too, is still there later
      await sleep(2_000);
      expect(await stack.client.result<number[][]>(id, { timeoutMs: 5_000 })).toEqual(first);
      expect(first.flat()).toEqual(items);
    } finally {
      await late.close();
    }
  });

  it('fails a subtask whose own result cannot fit a message, instead of retrying it forever', async () => {
    const { id } = await stack.client.submit({ type: 'huge' });
    await expect(stack.client.result(id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'RESULT_TOO_LARGE',
      retryable: false,
    });
  });

  it('fails a subtask whose result cannot be encoded (a circular object, an integer beyond 64 bits), saying why', async () => {
    for (const type of ['circular', 'bigger']) {
      const { id } = await stack.client.submit({ type });
      await expect(stack.client.result(id, { timeoutMs: 20_000 })).rejects.toMatchObject({
        code: 'RESULT_UNENCODABLE',
        message: expect.stringMatching(/cannot be encoded as msgpack/) as unknown,
        retryable: false,
      });
    }
  });
});
