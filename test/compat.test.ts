/**
 * Rolling upgrades: stored records and messages between roles accept fields a newer version adds,
 * and keep them when they change a record. A task whose record carries unknown fields is still
 * dispatched, run, recorded, listed and served by every role.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { createExecutor } from '@jetsched/executor';
import { names } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

describe('a record with fields from a newer version', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ executors: [] });
  });
  afterAll(() => stack?.close());

  it('is dispatched, run, recorded, listed and served, and keeps its fields', async () => {
    // the task waits (no executor serves its group yet) while a newer coordinator adds a field
    const { id } = await stack.client.submit({
      type: 'echo',
      group: 'later',
      payload: 'hi',
      tenant: 'future',
    });
    const kv = await new Kvm(stack.raw).open(names(stack.prefix).buckets.tasks);
    const entry = await kv.get(id);
    const record = JSON.parse(entry!.string()) as Record<string, unknown>;
    await kv.update(id, JSON.stringify({ ...record, lane: { name: 'express', weight: 3 } }), entry!.revision);

    expect((await stack.client.get(id)).task).toMatchObject({ state: 'pending', lane: { name: 'express' } });
    const executor = createExecutor({
      nc: await stack.connect(),
      prefix: stack.prefix,
      group: 'later',
      handlers: { echo: (x) => x },
    });
    await executor.start();
    try {
      expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual(['hi']);
      const { task } = await stack.client.get(id);
      expect(task).toMatchObject({ state: 'succeeded', lane: { name: 'express', weight: 3 } });
      const listed = await stack.client.list({ tenant: 'future' });
      expect(listed.tasks.map((t) => t.id)).toEqual([id]);
    } finally {
      await executor.close();
    }
  });
});
