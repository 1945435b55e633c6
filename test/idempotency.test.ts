import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { startStack, type Stack } from './helpers/stack.js';

describe('idempotency keys', () => {
  let server: NatsServer;
  let stack: Stack;
  beforeAll(async () => {
    server = await startServer();
    stack = await startStack({ server, executors: [{ handlers: { echo: (x) => x } }] });
  });
  afterAll(async () => {
    await stack?.close();
    await server?.stop({ clean: true });
  });

  it('gives one task for the same key submitted twice, also across a nats-server restart', async () => {
    const req = { type: 'echo', payload: 'once', idempotencyKey: 'order-1234' };
    const first = await stack.client.submit(req);
    expect(first.duplicate).toBe(false);
    const second = await stack.client.submit(req);
    expect(second).toEqual({ id: first.id, duplicate: true });
    // the same key in another tenant is another task
    const other = await stack.client.submit({ ...req, tenant: 'other' });
    expect(other.id).not.toBe(first.id);
    await stack.client.result(first.id, { timeoutMs: 20_000 });

    await server.restart();
    // clients and actors reconnect on their own; a submit lost in the reconnect is retried by the
    // SDK because it carries an idempotency key
    expect(await stack.client.submit(req)).toEqual({ id: first.id, duplicate: true });
    const { tasks } = await stack.client.list({ type: 'echo', tenant: 'default' });
    expect(tasks.filter((t) => t.idempotencyKey === 'order-1234')).toHaveLength(1);
  });
});
