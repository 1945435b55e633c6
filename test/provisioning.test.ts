/**
 * Provisioning apart from roles: `jetsched provision` creates and updates the layout from one
 * config; roles bind and check it, and refuse to start, saying what to run, when it is missing or
 * differs. Provisioning again changes nothing that is in place.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createCoordinator } from '@jetsched/coordinator';
import { createExecutor } from '@jetsched/executor';
import { names } from '@jetsched/protocol';
import { provision } from '@jetsched/runtime';
import { run } from '@jetsched/cli';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { uniquePrefix } from './helpers/stack.js';

describe('provisioning', () => {
  let server: NatsServer;
  let nc: NatsConnection;
  beforeAll(async () => {
    server = await startServer();
    nc = await connect({ servers: server.url });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop({ clean: true });
  });

  it('a role refuses to start on a prefix nobody provisioned, and says what to run', async () => {
    const prefix = uniquePrefix();
    const c = createCoordinator({ nc, prefix });
    await expect(c.start()).rejects.toMatchObject({
      code: 'NOT_PROVISIONED',
      message: expect.stringContaining(`run \`jetsched provision --prefix ${prefix}\``) as unknown,
    });
  });

  it('a role refuses to start when a stream of the layout is missing, naming it', async () => {
    const prefix = uniquePrefix();
    await provision(nc, { prefix });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(names(prefix).streams.stops);
    const c = createCoordinator({ nc, prefix });
    await expect(c.start()).rejects.toMatchObject({
      code: 'NOT_PROVISIONED',
      message: expect.stringContaining(`stream ${names(prefix).streams.stops} is missing`) as unknown,
    });
    // provisioning again repairs it, and then the role starts
    const again = await provision(nc, { prefix });
    expect(again.changes).toEqual([`created stream ${names(prefix).streams.stops}`]);
    const ok = createCoordinator({ nc, prefix });
    await ok.start();
    await ok.close();
  });

  it('is repeatable: a second run changes nothing; new settings update consumers in place', async () => {
    const prefix = uniquePrefix();
    const first = await provision(nc, { prefix });
    expect(first.changes.length).toBeGreaterThan(10);
    expect((await provision(nc, { prefix })).changes).toEqual([]);
    const changed = await provision(nc, { prefix, consumers: { work: { ackWaitMs: 5_000 } } });
    expect(changed.changes).toEqual([]); // no executor consumer exists yet: nothing to update
    const ex = createExecutor({ nc, prefix, handlers: { a: () => 1 } });
    await ex.start();
    await ex.close();
    const jsm = await jetstreamManager(nc);
    const n = names(prefix);
    const durable = n.consumers.executor('default', ex.profile);
    expect((await jsm.consumers.info(n.streams.work, durable)).config.ack_wait).toBe(5_000_000_000);
    const slower = await provision(nc, { prefix, consumers: { work: { ackWaitMs: 7_000 } } });
    expect(slower.changes).toEqual([`updated consumer ${n.streams.work} ${durable}: ack_wait`]);
  });

  it('an executor refuses a consumer whose settings differ from the provisioned ones', async () => {
    const prefix = uniquePrefix();
    await provision(nc, { prefix });
    const first = createExecutor({ nc, prefix, handlers: { a: () => 1 } });
    await first.start();
    await first.close();
    const n = names(prefix);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.update(n.streams.work, n.consumers.executor('default', first.profile), {
      max_deliver: 99,
    });
    const second = createExecutor({ nc, prefix, handlers: { a: () => 1 } });
    await expect(second.start()).rejects.toMatchObject({
      code: 'NOT_PROVISIONED',
      message: expect.stringMatching(/differs from the provisioned work settings \(max_deliver\)/) as unknown,
    });
  });

  it("a role refuses to start when a shared consumer was changed behind provision's back", async () => {
    const prefix = uniquePrefix();
    await provision(nc, { prefix });
    const n = names(prefix);
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.update(n.streams.outcomes, n.consumers.coordinatorOutcomes, { max_deliver: 99 });
    const c = createCoordinator({ nc, prefix });
    await expect(c.start()).rejects.toMatchObject({
      code: 'NOT_PROVISIONED',
      message: expect.stringContaining(
        `consumer ${n.consumers.coordinatorOutcomes} on ${n.streams.outcomes} differs in max_deliver`,
      ) as unknown,
    });
    // provisioning again puts it back
    expect((await provision(nc, { prefix })).changes).toEqual([
      `updated consumer ${n.streams.outcomes} ${n.consumers.coordinatorOutcomes}: max_deliver`,
    ]);
    const ok = createCoordinator({ nc, prefix });
    await ok.start();
    await ok.close();
  });

  it('keeps settings given before when run again without them', async () => {
    const prefix = uniquePrefix();
    await provision(nc, { prefix, taskRetentionMs: 3_600_000, consumers: { work: { ackWaitMs: 4_000 } } });
    const again = await provision(nc, { prefix, consumers: { outcomes: { maxDeliver: 7 } } });
    expect(again.manifest).toMatchObject({
      taskRetentionMs: 3_600_000,
      consumers: { work: { ackWaitMs: 4_000 }, outcomes: { maxDeliver: 7 } },
    });
  });

  it('`jetsched provision` prints what it did as JSON', async () => {
    const prefix = uniquePrefix();
    const out: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    try {
      expect(
        await run(['provision', '--server', server.url, '--prefix', prefix, '--work-ack-wait-ms', '4000']),
      ).toBe(0);
    } finally {
      write.mockRestore();
    }
    const printed = JSON.parse(out.join('')) as {
      provisioned: string;
      manifest: { consumers: { work: { ackWaitMs: number } } };
    };
    expect(printed.provisioned).toBe(prefix);
    expect(printed.manifest.consumers.work.ackWaitMs).toBe(4_000);
  });
});
