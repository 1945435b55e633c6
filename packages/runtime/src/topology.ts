/**
 * The JetStream resources jetsched uses, created idempotently by every actor at start-up (any
 * instance may be first). Names come from @jetsched/protocol `names()`; docs/protocol.md lists them.
 */
import {
  AckPolicy,
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
  type ConsumerConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { isTransientNatsError } from './transient.js';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DEFAULT_PREFIX, names, type Names } from '@jetsched/protocol';

// Server API error codes the client library does not name.
const STREAM_NAME_IN_USE = 10058;
const CONSUMER_EXISTS_CODES: readonly number[] = [10013, 10148];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** @defaultValue 7 days */
export const DEFAULT_TASK_RETENTION_MS = 7 * DAY_MS;
/** @defaultValue 24 hours */
export const DEFAULT_EVENT_RETENTION_MS = DAY_MS;
/** @defaultValue 7 days */
export const DEFAULT_DLQ_RETENTION_MS = 7 * DAY_MS;
/** JetStream publish dedupe window on the work, sched and outcome streams. @defaultValue 2 minutes */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** How long an executor may hold a subtask without a heartbeat. @defaultValue 30 s */
export const DEFAULT_ACK_WAIT_MS = 30_000;
/** Subtasks in flight per executor group (the consumer's max_ack_pending). @defaultValue 10,000 */
export const DEFAULT_GROUP_MAX_ACK_PENDING = 10_000;

export interface TopologyOptions {
  /** @defaultValue {@link DEFAULT_PREFIX} */
  prefix?: string;
  /** Stream and bucket replicas: 1 for a single server, 3 on a cluster. @defaultValue 1 */
  replicas?: number;
  /** Task records, subtask records, results and idempotency keys expire after this. */
  taskRetentionMs?: number;
  eventRetentionMs?: number;
  dlqRetentionMs?: number;
}

export interface TopologyConfig {
  readonly prefix: string;
  readonly replicas: number;
  readonly taskRetentionMs: number;
  readonly eventRetentionMs: number;
  readonly dlqRetentionMs: number;
}

export function topologyConfig(opts: TopologyOptions = {}): TopologyConfig {
  return Object.freeze({
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    replicas: opts.replicas ?? 1,
    taskRetentionMs: opts.taskRetentionMs ?? DEFAULT_TASK_RETENTION_MS,
    eventRetentionMs: opts.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
    dlqRetentionMs: opts.dlqRetentionMs ?? DEFAULT_DLQ_RETENTION_MS,
  });
}

/** Handles on every resource, for one connection. */
export interface Topology {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly config: TopologyConfig;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: { readonly tasks: KV; readonly subtasks: KV; readonly results: KV; readonly idempotency: KV };
  /** The claim-check object store for large payloads, opened on first use. */
  payloads(): Promise<ObjectStore>;
}

type StreamSpec = Partial<StreamConfig> & { name: string };

function streamConfigs(n: Names, c: TopologyConfig): StreamSpec[] {
  const base = {
    storage: StorageType.File,
    num_replicas: c.replicas,
    duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS),
  };
  return [
    { ...base, name: n.streams.sched, subjects: [n.subjects.schedAll], retention: RetentionPolicy.Workqueue },
    { ...base, name: n.streams.work, subjects: [n.subjects.workAll], retention: RetentionPolicy.Workqueue },
    {
      ...base,
      name: n.streams.outcomes,
      subjects: [n.subjects.outcomesAll],
      retention: RetentionPolicy.Workqueue,
    },
    {
      ...base,
      name: n.streams.events,
      subjects: [n.subjects.eventsAll],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(c.eventRetentionMs),
    },
    {
      ...base,
      name: n.streams.dlq,
      subjects: [n.subjects.dlqAll],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: nanos(c.dlqRetentionMs),
    },
  ];
}

async function ensureStream(jsm: JetStreamManager, cfg: StreamSpec): Promise<void> {
  try {
    await jsm.streams.add(cfg);
  } catch (err) {
    // 10058: exists with a different configuration (an older jetsched, or changed retention):
    // apply ours where the server allows it.
    if (err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE) {
      await jsm.streams.update(cfg.name, cfg);
      return;
    }
    throw err;
  }
}

async function ensureKv(kvm: Kvm, name: string, c: TopologyConfig): Promise<KV> {
  try {
    return await kvm.create(name, { history: 1, replicas: c.replicas, ttl: c.taskRetentionMs });
  } catch (err) {
    // the bucket exists with other settings (an operator changed them): use it as it is
    if (err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE) return kvm.open(name);
    throw err;
  }
}

/** How long start-up waits for JetStream to become available (a cluster electing its leader). */
export const TOPOLOGY_READY_TIMEOUT_MS = 30_000;

/**
 * Creates (or finds) every stream and bucket and returns handles on them. Retries while JetStream
 * is temporarily unavailable (a cluster still electing its meta leader, a server restarting).
 */
export async function ensureTopology(nc: NatsConnection, opts: TopologyOptions = {}): Promise<Topology> {
  const deadline = Date.now() + TOPOLOGY_READY_TIMEOUT_MS;
  for (;;) {
    try {
      return await provision(nc, opts);
    } catch (err) {
      if (Date.now() > deadline || !isTransientNatsError(err)) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function provision(nc: NatsConnection, opts: TopologyOptions): Promise<Topology> {
  const config = topologyConfig(opts);
  const n = names(config.prefix);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  for (const cfg of streamConfigs(n, config)) await ensureStream(jsm, cfg);
  const kvm = new Kvm(js);
  const [tasks, subtasks, results, idempotency] = await Promise.all([
    ensureKv(kvm, n.buckets.tasks, config),
    ensureKv(kvm, n.buckets.subtasks, config),
    ensureKv(kvm, n.buckets.results, config),
    ensureKv(kvm, n.buckets.idempotency, config),
  ]);
  let payloads: Promise<ObjectStore> | undefined;
  return {
    nc,
    names: n,
    config,
    js,
    jsm,
    kv: { tasks, subtasks, results, idempotency },
    payloads: () =>
      (payloads ??= new Objm(js).create(n.buckets.payloads, {
        replicas: config.replicas,
        ttl: config.taskRetentionMs,
      })),
  };
}

/** Creates or updates the durable pull consumer shared by every member of an executor group. */
export async function ensureExecutorConsumer(
  topo: Topology,
  group: string,
  opts: { ackWaitMs?: number; maxAckPending?: number } = {},
): Promise<string> {
  const durable = topo.names.consumers.executor(group);
  const cfg = {
    durable_name: durable,
    filter_subject: topo.names.workSubject(group),
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS),
    max_ack_pending: opts.maxAckPending ?? DEFAULT_GROUP_MAX_ACK_PENDING,
  };
  await ensureConsumer(topo.jsm, topo.names.streams.work, cfg);
  return durable;
}

/** Creates or updates a durable pull consumer (consumer create is idempotent for equal configs). */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  cfg: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.add(stream, { ack_policy: AckPolicy.Explicit, ...cfg });
  } catch (err) {
    if (err instanceof JetStreamApiError && CONSUMER_EXISTS_CODES.includes(err.code)) {
      await jsm.consumers.update(stream, cfg.durable_name, cfg);
      return;
    }
    throw err;
  }
}
