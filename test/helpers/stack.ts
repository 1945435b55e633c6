/**
 * Starts a real nats-server and jetsched actors in this process, each on its own connection (as
 * separate processes would be), under a prefix unique to the test.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nanoid } from 'nanoid';
import { connectClient, type Client } from '@jetsched/client';
import { createCoordinator, type Coordinator, type Reducer } from '@jetsched/coordinator';
import { createExecutor, type Executor, type Handler } from '@jetsched/executor';
import { createScheduler, type Scheduler, type Splitter } from '@jetsched/scheduler';
import { startServer, type NatsCluster, type NatsServer } from '@jetsched/testkit';
import { provision, type TlsFiles, type TopologyOptions } from '@jetsched/runtime';

export interface StackOptions {
  server?: NatsServer;
  /** Run on a cluster instead: every connection gets all its URLs, streams get `replicas`. */
  cluster?: NatsCluster;
  replicas?: number;
  /** Ack wait of every shared consumer (how soon a lost delivery comes back). */
  ackWaitMs?: number;
  /** Deliveries every shared consumer allows (the last one gives a message up). */
  maxDeliver?: number;
  executors?: { group?: string; handlers: Record<string, Handler>; concurrency?: number; profile?: string }[];
  reducers?: Record<string, Reducer>;
  splitters?: Record<string, Splitter>;
  /** The schedulers' rescue round, and their periodic re-check of parked work (shortened by tests). */
  rescueIntervalMs?: number;
  /** Schedulers' attempts at a split that asks to be retried. */
  splitAttempts?: number;
  /** Schedulers' aging step of priorities (0 turns aging off). */
  agingMs?: number;
  coordinators?: number;
  schedulers?: number;
  /** Connect every actor and the client with TLS (the server's CA; a certificate if it verifies clients). */
  tls?: TlsFiles;
}

export interface Stack {
  server: NatsServer;
  prefix: string;
  client: Client;
  coordinators: Coordinator[];
  schedulers: Scheduler[];
  executors: Executor[];
  /** A raw connection for tests that speak the wire protocol themselves. */
  raw: NatsConnection;
  connect(): Promise<NatsConnection>;
  close(): Promise<void>;
}

export function uniquePrefix(): string {
  return `t${nanoid(8).replace(/[^A-Za-z0-9]/g, 'x')}`;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const server = opts.server ?? opts.cluster?.servers[0] ?? (await startServer());
  const ownsServer = !opts.server && !opts.cluster;
  const urls = opts.cluster?.urls ?? [server.url];
  const prefix = uniquePrefix();
  const conns: NatsConnection[] = [];
  const newConn = async (): Promise<NatsConnection> => {
    const nc = await connect({
      servers: urls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 100,
      ...(opts.tls ? { tls: opts.tls } : {}),
    });
    conns.push(nc);
    return nc;
  };
  const admin = await newConn();
  await provision(admin, topologyOptions(prefix, opts));
  const coordinators = await Promise.all(
    Array.from({ length: opts.coordinators ?? 1 }, async () =>
      createCoordinator({
        nc: await newConn(),
        prefix,
        ...(opts.reducers ? { reducers: opts.reducers } : {}),
      }),
    ),
  );
  const schedulers = await Promise.all(
    Array.from({ length: opts.schedulers ?? 1 }, async () =>
      createScheduler({
        nc: await newConn(),
        prefix,
        ...(opts.splitters ? { splitters: opts.splitters } : {}),
        ...(opts.rescueIntervalMs ? { rescueIntervalMs: opts.rescueIntervalMs } : {}),
        ...(opts.splitAttempts ? { splitAttempts: opts.splitAttempts } : {}),
        ...(opts.agingMs === undefined ? {} : { agingMs: opts.agingMs }),
      }),
    ),
  );
  const executors = await Promise.all(
    (opts.executors ?? []).map(async (e) =>
      createExecutor({
        nc: await newConn(),
        prefix,
        handlers: e.handlers,
        ...(e.group ? { group: e.group } : {}),
        ...(e.concurrency ? { concurrency: e.concurrency } : {}),
        ...(e.profile ? { profile: e.profile } : {}),
        drainTimeoutMs: 2_000,
      }),
    ),
  );
  for (const a of [...coordinators, ...schedulers, ...executors]) await a.start();
  const client = await connectClient({ nc: await newConn(), prefix });
  const raw = await newConn();
  return {
    server,
    prefix,
    client,
    coordinators,
    schedulers,
    executors,
    raw,
    connect: newConn,
    async close() {
      await Promise.allSettled([...executors, ...schedulers, ...coordinators].map((a) => a.close()));
      await Promise.allSettled(conns.map((c) => c.close()));
      if (ownsServer) await server.stop({ clean: true });
    },
  };
}

/** The topology a test provisions: its replicas, and short ack waits or few deliveries when it asks. */
export function topologyOptions(
  prefix: string,
  o: { replicas?: number; ackWaitMs?: number; maxDeliver?: number },
): TopologyOptions {
  const c = {
    ...(o.ackWaitMs === undefined ? {} : { ackWaitMs: o.ackWaitMs }),
    ...(o.maxDeliver === undefined ? {} : { maxDeliver: o.maxDeliver }),
  };
  return {
    prefix,
    replicas: o.replicas ?? 1,
    consumers: { work: c, outcomes: c, due: c },
  };
}
