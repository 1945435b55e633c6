/**
 * Conformance: a client with no jetsched code (./interop/raw-client.ts: a plain NATS client, a
 * standard msgpack library writing int 64 / uint 64, JSON bodies) submits tasks, serves as an
 * executor and reads results, following docs/protocol.md alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { packInt64, protocolNames, requestJson, runRawExecutor, unpack } from './interop/raw-client.js';
import { startStack, type Stack } from './helpers/stack.js';

describe('a client written from docs/protocol.md alone', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            sumRange: (input) => {
              const { start, end } = input as { start: number; end: number };
              let s = 0;
              for (let i = start; i < end; i++) s += i;
              return s;
            },
            echo: (input) => input,
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('submits in JSON with v: 2 and ranges beyond 2^32, and waits in JSON', async () => {
    const n = protocolNames(stack.prefix);
    const start = 2 ** 32;
    const submit = await requestJson(stack.raw, n.submit, {
      v: 2,
      type: 'sumRange',
      split: { kind: 'range', start, end: start + 1000, chunkSize: 250 },
      aggregate: { kind: 'collect' },
    });
    expect(submit.value).toMatchObject({ ok: true, duplicate: false });
    const done = await requestJson(stack.raw, n.wait, {
      id: submit.value['id'],
      includeResult: true,
      timeoutMs: 20_000,
    });
    const sums = [0, 1, 2, 3].map((k) => {
      let s = 0;
      for (let i = start + k * 250; i < start + (k + 1) * 250; i++) s += i;
      return s;
    });
    expect(done.value).toMatchObject({ ok: true, task: { state: 'succeeded' }, result: sums });
  });

  it('submits in msgpack with every integer as int 64 / uint 64, and gets huge integers back exactly in JSON', async () => {
    const n = protocolNames(stack.prefix);
    const reply = await stack.raw.request(
      n.submit,
      packInt64({
        v: 2,
        type: 'echo',
        priority: 7,
        timeoutMs: 60_000,
        payload: { big: 2n ** 60n + 1n, small: 5 },
      }),
      { timeout: 10_000 },
    );
    const r = unpack(reply.data) as { ok: boolean; id: string };
    expect(r.ok).toBe(true);
    const done = await requestJson(stack.raw, n.wait, { id: r.id, includeResult: true, timeoutMs: 20_000 });
    expect(done.value).toMatchObject({ ok: true, task: { state: 'succeeded', priority: 7 } });
    // 2^60 + 1 has no exact double: it must come back as the very digits, not rounded
    expect(done.text).toContain('"big":1152921504606846977');
  });

  it('serves as an executor: pulls work, answers with JSON and int 64 outcomes, and jetsched writes integers as integers', async () => {
    const n = protocolNames(stack.prefix);
    const { id } = await stack.client.submit({
      type: 'triple',
      group: 'polyglot',
      payload: [1, 2],
      split: { kind: 'items', chunkSize: 1 },
      aggregate: { kind: 'collect' },
    });
    const ran = await runRawExecutor(stack.raw, stack.prefix, {
      group: 'polyglot',
      profile: 'py-triple-1',
      types: ['triple'],
      count: 2,
      run: (input) => (input as { items: (number | bigint)[] }).items.map((x) => Number(x) * 3),
      asJson: (index) => index === 0,
    });
    expect(ran.map((w) => Number(w.index)).sort()).toEqual([0, 1]);
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([[3], [6]]);

    // the subtask records jetsched wrote: times (integers above 2^32) read back as 64-bit integers
    const jsm = await jetstreamManager(stack.raw);
    const rec = await jsm.streams.getMessage(`KV_${n.tasks}`, {
      last_by_subj: `$KV.${n.tasks}.${id}.1`,
    });
    const sub = unpack(rec!.data) as { startedAt: unknown; finishedAt: unknown; index: unknown };
    expect(typeof sub.startedAt).toBe('bigint');
    expect(typeof sub.finishedAt).toBe('bigint');
  });
});
