import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { ContentType, decode, decodeJson, encode, names, type DeadLetter } from '@jetsched/protocol';
import { profileOf } from '@jetsched/executor';
import { deadLetters } from './helpers/dead-letters.js';
import { startStack, type Stack } from './helpers/stack.js';

describe('bad input from a raw NATS client', () => {
  let stack: Stack;
  let submit: string;
  beforeAll(async () => {
    stack = await startStack({ executors: [{ handlers: { echo: (x) => x } }] });
    submit = names(stack.prefix).api.submit;
  });
  afterAll(() => stack?.close());

  async function rawRequest(data: Uint8Array, json = false): Promise<Record<string, unknown>> {
    const h = headers();
    if (json) h.set('Content-Type', ContentType.Json);
    const reply = await stack.raw.request(submit, data, { timeout: 5_000, headers: h });
    return (json ? decodeJson(reply.data) : decode(reply.data)) as Record<string, unknown>;
  }

  it('answers malformed msgpack with BAD_ENCODING naming msgpack', async () => {
    const r = await rawRequest(new Uint8Array([0xc1, 0xff, 0x00]));
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    expect((r['error'] as { message: string }).message).toMatch(/malformed msgpack/);
  });

  it('answers malformed JSON with BAD_ENCODING naming JSON, in JSON', async () => {
    const r = await rawRequest(new TextEncoder().encode('{"type": "echo",'), true);
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_ENCODING' } });
    expect((r['error'] as { message: string }).message).toMatch(/malformed JSON/);
  });

  it('answers a schema-invalid submission with BAD_REQUEST naming the field', async () => {
    const r1 = await rawRequest(encode({ payload: 1 }));
    expect(r1).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((r1['error'] as { message: string }).message).toMatch(/type/);
    const r2 = await rawRequest(encode({ type: 'echo', split: { kind: 'items', chunkSize: 0 } }));
    expect((r2['error'] as { message: string }).message).toMatch(/split/);
    const r3 = await rawRequest(encode({ type: 'echo', priority: 'high' }));
    expect((r3['error'] as { message: string }).message).toMatch(/priority/);
    const r4 = await rawRequest(
      encode({ type: 'echo', payload: { a: 1 }, split: { kind: 'items', chunkSize: 2 } }),
    );
    expect(r4).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((r4['error'] as { message: string }).message).toMatch(/array/);
  });

  it('answers an oversized submission with PAYLOAD_TOO_LARGE and the limit', async () => {
    const r = await rawRequest(encode({ type: 'echo', payload: 'x'.repeat(900 * 1024) }));
    expect(r).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect((r['error'] as { message: string }).message).toMatch(/786432-byte limit/);
  });

  it('dead-letters each bad request with its reason and keeps serving', async () => {
    const { id } = await stack.client.submit({ type: 'echo', payload: 42 });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([42]);

    const js = jetstream(stack.raw);
    const consumer = await js.consumers.get(names(stack.prefix).streams.dlq);
    const reasons: string[] = [];
    const batch = await consumer.fetch({ max_messages: 100, expires: 2_000 });
    for await (const m of batch) {
      const dl = decode(m.data) as DeadLetter;
      expect(dl.kind).toBe('dead-letter');
      expect(dl.subject).toBe(submit);
      reasons.push(dl.reason.code);
      if (m.info.pending === 0) break;
    }
    expect(reasons.filter((c) => c === 'BAD_ENCODING')).toHaveLength(2);
    expect(reasons.filter((c) => c === 'BAD_REQUEST')).toHaveLength(4);
    expect(reasons.filter((c) => c === 'PAYLOAD_TOO_LARGE')).toHaveLength(1);
  });

  it('refuses a split into more subtasks than a task may have, and submits the rest of the batch', async () => {
    const huge = { kind: 'range', start: 0, end: Number.MAX_SAFE_INTEGER, chunkSize: 1 } as const;
    const r = await rawRequest(encode({ type: 'echo', split: huge }));
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((r['error'] as { message: string }).message).toMatch(/more than the 100000 a task may have/);
    // in a submit_many, only the oversized task is refused
    const [bad, good] = await stack.client.submitMany([
      { type: 'echo', split: huge },
      { type: 'echo', payload: 'fine' },
    ]);
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    if (!good?.ok) throw new Error(`the healthy task was refused: ${JSON.stringify(good)}`);
    expect(await stack.client.result(good.id, { timeoutMs: 20_000 })).toEqual(['fine']);
  });

  it('dead-letters a malformed work message naming a real task, and leaves that task alone', async () => {
    // a real task parked in a group nobody serves, and a garbage subtask naming it on the default
    // group: its headers are anyone's to write, so it must not fail the task (ADR 0026)
    const { id } = await stack.client.submit({ type: 'echo', group: 'nobody', payload: 1 });
    const h = headers();
    h.set('Jetsched-Task-Id', id);
    h.set('Jetsched-Task-Type', 'echo');
    await jetstream(stack.raw).publish(
      names(stack.prefix).workSubject('default', profileOf(['echo'])),
      encode({ v: 2, kind: 'work' }),
      { headers: h },
    );
    await expect
      .poll(async () => (await deadLetters(stack.raw, stack.prefix)).some((d) => d.source === 'work'), {
        timeout: 10_000,
      })
      .toBe(true);
    const { task, waiting } = await stack.client.get(id);
    expect(task.state).toBe('pending');
    expect(waiting).toBe('no executor in group "nobody" serves type "echo"');
  });

  it('dead-letters a malformed work message and still runs the next subtask', async () => {
    const js = jetstream(stack.raw);
    await js.publish(
      names(stack.prefix).workSubject('default', profileOf(['echo'])),
      new Uint8Array([0x92, 0x01]),
    );
    const { id } = await stack.client.submit({ type: 'echo', payload: 'after' });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual(['after']);
    const info = await (
      await js.streams.get(names(stack.prefix).streams.dlq)
    ).info(false, {
      subjects_filter: '>',
    });
    expect(Object.keys(info.state.subjects ?? {})).toContain(`${stack.prefix}.dlq.work`);
  });
});
