import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '@jetsched/protocol';
import { profileOf } from '@jetsched/executor';
import { natsCli } from '@jetsched/testkit';
import { startStack, type Stack } from './helpers/stack.js';

describe('operating with the real nats CLI', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [{ handlers: { wordcount: (x) => String(x).split(/\s+/).length } }],
    });
  });
  afterAll(() => stack?.close());

  it('submits a task as JSON with `nats req` and reads it back with `nats kv get`', async () => {
    const n = names(stack.prefix);
    const { stdout } = await natsCli(stack.server.url, [
      'req',
      n.api.submit,
      JSON.stringify({ type: 'wordcount', payload: 'the quick brown fox', tenant: 'cli' }),
      '-H',
      'Content-Type:application/json',
      '--raw',
    ]);
    const reply = JSON.parse(stdout) as { ok: boolean; id: string };
    expect(reply.ok).toBe(true);
    expect(reply.id).toMatch(/^[A-Za-z0-9]{21}$/);
    expect(await stack.client.result(reply.id, { timeoutMs: 20_000 })).toEqual([4]);

    const kv = await natsCli(stack.server.url, ['kv', 'get', n.buckets.tasks, reply.id, '--raw']);
    const record = JSON.parse(kv.stdout) as Record<string, unknown>;
    expect(record).toMatchObject({ id: reply.id, type: 'wordcount', tenant: 'cli', state: 'succeeded' });

    const getReply = await natsCli(stack.server.url, [
      'req',
      n.api.get,
      JSON.stringify({ id: reply.id, includeResult: true }),
      '-H',
      'Content-Type:application/json',
      '--raw',
    ]);
    expect(JSON.parse(getReply.stdout)).toMatchObject({ ok: true, task: { id: reply.id }, result: [4] });
  });

  it('shows the expected streams, consumers and buckets with `nats stream ls` and `nats consumer ls`', async () => {
    const n = names(stack.prefix);
    const streams = (await natsCli(stack.server.url, ['stream', 'ls', '--names'])).stdout.split(/\s+/);
    for (const s of Object.values(n.streams)) expect(streams).toContain(s);
    for (const b of Object.values(n.buckets).filter((b) => b !== n.buckets.payloads)) {
      expect(streams).toContain(`KV_${b}`);
    }
    const work = (await natsCli(stack.server.url, ['consumer', 'ls', n.streams.work, '--names'])).stdout;
    expect(work.split(/\s+/)).toContain(n.consumers.executor('default', profileOf(['wordcount'])));
    const outcomes = (await natsCli(stack.server.url, ['consumer', 'ls', n.streams.outcomes, '--names']))
      .stdout;
    expect(outcomes.split(/\s+/)).toContain(n.consumers.coordinatorOutcomes);
  });
});

describe('reading task state and events with the nats CLI', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ executors: [{ handlers: { echo: (x) => x } }] });
  });
  afterAll(() => stack?.close());

  it('shows every change of a task record as a JSON event with `nats sub`, state in a header', async () => {
    const n = names(stack.prefix);
    const sub = stack.raw.subscribe(n.subjects.eventsAll);
    const { id } = await stack.client.submit({ type: 'echo', payload: 'hi', aggregate: { kind: 'none' } });
    await stack.client.result(id, { timeoutMs: 20_000 });
    const states: string[] = [];
    for await (const m of sub) {
      expect(m.subject).toBe(n.eventSubject(id));
      const record = JSON.parse(m.string()) as { id: string; state: string };
      expect(record.id).toBe(id);
      expect(m.headers?.get('Jetsched-State')).toBe(record.state);
      states.push(record.state);
      if (record.state === 'succeeded') break;
    }
    expect(states).toEqual(['pending', 'succeeded']);
  });
});
