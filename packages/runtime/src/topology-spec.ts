/**
 * What the JetStream layout of one prefix is: every stream, bucket and shared consumer, computed from
 * the topology manifest. `provision` creates and updates them from here; every role checks them
 * against here at start (and refuses to run when something is missing or differs).
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  DEFAULT_PREFIX,
  DELIVERIES_PER_SEND,
  WIRE_VERSION,
  type ConsumerRole,
  type Names,
  type TopologyManifest,
} from '@jetsched/protocol';

/**
 * Version of the layout below; a role refuses a manifest of another layout. 3: subtask records and
 * results moved into the tasks bucket, beside the records that guard them (no subtasks and results
 * buckets); the tasks bucket republishes record keys only. 6: the delayed stream holds tasks'
 * deadlines (`<prefix>.deadline.>`). 7: and the backstops of hand-offs (`<prefix>.backstop.>`).
 */
export const TOPOLOGY_LAYOUT = 7;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** @defaultValue 7 days */
export const DEFAULT_TASK_RETENTION_MS = 7 * DAY_MS;
/**
 * How long a stop notice is kept. Work of a stopped task first delivered after its notice expired
 * runs, and its outcome is refused (the record is terminal). @defaultValue 1 day
 */
export const DEFAULT_STOP_RETENTION_MS = DAY_MS;
/** @defaultValue 7 days */
export const DEFAULT_DLQ_RETENTION_MS = 7 * DAY_MS;
/** JetStream publish dedupe window on the hand-off, work, outcome and stop streams. @defaultValue 2 minutes */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;
/** Executor adverts older than this vanish from the executors bucket. @defaultValue 1 minute */
export const EXECUTOR_ADVERT_TTL_MS = 60_000;

/** Each shared consumer's ack wait, deliveries and in-flight cap, unless provisioned otherwise. */
export const DEFAULT_CONSUMERS: Readonly<TopologyManifest['consumers']> = Object.freeze({
  work: { ackWaitMs: 30_000, maxDeliver: 5, maxAckPending: 10_000 },
  outcomes: { ackWaitMs: 60_000, maxDeliver: 10, maxAckPending: 20_000 },
  due: { ackWaitMs: 10_000, maxDeliver: 10, maxAckPending: 20_000 },
});

/** What `provision` takes; everything has a default. */
export interface TopologyOptions {
  /** @defaultValue {@link DEFAULT_PREFIX} */
  prefix?: string;
  /** Stream and bucket replicas: 1 for a single server, 3 on a cluster. Never lowered. @defaultValue 1 */
  replicas?: number;
  /** Task records (with their subtask records and results), idempotency keys and the list index expire after this. */
  taskRetentionMs?: number;
  stopRetentionMs?: number;
  dlqRetentionMs?: number;
  /** Per shared consumer: ack wait, max deliveries, max ack pending. */
  consumers?: Partial<Record<ConsumerRole, Partial<TopologyManifest['consumers'][ConsumerRole]>>>;
}

/** The manifest for `opts`, validated: a zero or negative setting is refused here, at provisioning. */
export function manifestFor(opts: TopologyOptions = {}, now = Date.now()): TopologyManifest {
  const positive = (name: string, v: number): number => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
    return v;
  };
  const consumers = {} as TopologyManifest['consumers'];
  for (const role of Object.keys(DEFAULT_CONSUMERS) as ConsumerRole[]) {
    const c = { ...DEFAULT_CONSUMERS[role], ...(opts.consumers?.[role] ?? {}) };
    positive(`${role} ack wait`, c.ackWaitMs);
    positive(`${role} max ack pending`, c.maxAckPending);
    if (!Number.isInteger(c.maxDeliver) || c.maxDeliver < 2 || c.maxDeliver >= DELIVERIES_PER_SEND) {
      throw new Error(
        `${role} max deliver must be at least 2 (the last delivery gives the message up) and below ${DELIVERIES_PER_SEND}, got ${c.maxDeliver}`,
      );
    }
    consumers[role] = c;
  }
  return {
    v: WIRE_VERSION,
    layout: TOPOLOGY_LAYOUT,
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    replicas: positive('replicas', opts.replicas ?? 1),
    taskRetentionMs: positive('task retention', opts.taskRetentionMs ?? DEFAULT_TASK_RETENTION_MS),
    stopRetentionMs: positive('stop retention', opts.stopRetentionMs ?? DEFAULT_STOP_RETENTION_MS),
    dlqRetentionMs: positive('dead-letter retention', opts.dlqRetentionMs ?? DEFAULT_DLQ_RETENTION_MS),
    consumers,
    provisionedAt: now,
  };
}

export type StreamSpec = Partial<StreamConfig> & { name: string; subjects: string[] };

/** Every stream of the layout (KV buckets and the object store included), with its settings. */
export function streamSpecs(n: Names, m: TopologyManifest): StreamSpec[] {
  const base = { storage: StorageType.File, num_replicas: m.replicas };
  const dedupe = { duplicate_window: nanos(DEFAULT_DUPLICATE_WINDOW_MS) };
  const limits = (maxAgeMs: number): Partial<StreamConfig> => ({
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
  });
  const workQueue = { ...dedupe, retention: RetentionPolicy.Workqueue };
  const kv = (bucket: string, ttlMs: number | undefined, extra: Partial<StreamConfig> = {}): StreamSpec => ({
    ...base,
    name: `KV_${bucket}`,
    subjects: [`$KV.${bucket}.>`],
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.New,
    max_msgs_per_subject: 1,
    max_age: ttlMs === undefined ? 0 : nanos(ttlMs),
    allow_rollup_hdrs: true,
    deny_delete: true,
    deny_purge: false,
    allow_direct: true,
    ...extra,
  });
  return [
    // the ready queue: read by subject (direct gets) by each group's releaser, which purges what it
    // has released; nothing consumes it, so it is a limits stream (ADR 0018)
    {
      ...base,
      ...dedupe,
      ...limits(m.taskRetentionMs),
      name: n.streams.ready,
      subjects: [n.subjects.readyAll],
      allow_direct: true,
    },
    // direct gets let a group's releaser count what is in flight (the work stream holds it all)
    { ...base, ...workQueue, name: n.streams.work, subjects: [n.subjects.workAll], allow_direct: true },
    { ...base, ...workQueue, name: n.streams.outcomes, subjects: [n.subjects.outcomesAll] },
    // server-held schedules: one `@at` per delayed task on <p>.delayed.<group>.<type>.<taskId>, one
    // cron or `@every` per schedule definition on <p>.cron.<id>, each firing its due notice on <p>.due
    // in the same stream (a schedule's target must be); the coordinators' consumer reads only the
    // due notices, so acking one never touches a schedule (ADRs 0019, 0020)
    {
      ...base,
      ...dedupe,
      name: n.streams.delayed,
      subjects: [
        n.subjects.delayedAll,
        n.subjects.cronAll,
        n.subjects.deadlineAll,
        n.subjects.backstopAll,
        n.dueSubject(),
      ],
      retention: RetentionPolicy.Workqueue,
      allow_msg_schedules: true,
      allow_direct: true,
    },
    {
      ...base,
      ...dedupe,
      ...limits(m.stopRetentionMs),
      name: n.streams.stops,
      subjects: [n.subjects.stopsAll],
      max_msgs_per_subject: 1,
      allow_direct: true,
    },
    {
      ...base,
      ...limits(m.taskRetentionMs),
      name: n.streams.index,
      subjects: [n.subjects.indexAll],
      allow_direct: true,
    },
    { ...base, ...limits(m.dlqRetentionMs), name: n.streams.dlq, subjects: [n.subjects.dlqAll] },
    // every change of a task record is republished by the server as the task's event: events come
    // from the durable state change itself and cannot be lost between a write and its event. Subtask
    // records and results live in the same stream, since their writes are guarded by the record's
    // revision and an expected-sequence check can only name a subject of the same stream; their
    // two-token keys are left out of the single-token source: one event per record write, no more
    kv(n.buckets.tasks, m.taskRetentionMs, {
      republish: { src: n.subjects.taskRecordsAll, dest: n.subjects.eventsRepublish, headers_only: false },
    }),
    kv(n.buckets.idempotency, m.taskRetentionMs),
    kv(n.buckets.executors, EXECUTOR_ADVERT_TTL_MS),
    kv(n.buckets.config, undefined),
    kv(n.buckets.release, undefined),
    // the object store of claim-checked payloads and large results, in the layout nats.js opens
    {
      ...base,
      name: `OBJ_${n.buckets.payloads}`,
      subjects: [`$O.${n.buckets.payloads}.C.>`, `$O.${n.buckets.payloads}.M.>`],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_age: nanos(m.taskRetentionMs),
      allow_rollup_hdrs: true,
      allow_direct: true,
    },
  ];
}

export type ConsumerSpec = Partial<ConsumerConfig> & { durable_name: string };

/** Every shared consumer the layout provisions, by the stream it reads. */
export function consumerSpecs(
  n: Names,
  m: TopologyManifest,
): { stream: string; role: ConsumerRole; config: ConsumerSpec }[] {
  const c = (role: ConsumerRole, durable: string, filter: string, extra: Partial<ConsumerConfig> = {}) => ({
    role,
    config: {
      ...consumerSettings(m, role),
      durable_name: durable,
      filter_subject: filter,
      deliver_policy: DeliverPolicy.All,
      ...extra,
    },
  });
  return [
    {
      stream: n.streams.outcomes,
      ...c('outcomes', n.consumers.coordinatorOutcomes, `${n.prefix}.outcomes.*`),
    },
    { stream: n.streams.delayed, ...c('due', n.consumers.due, n.dueSubject()) },
  ];
}

/** Ack policy, ack wait, deliveries and in-flight cap of a shared consumer of `role`. */
export function consumerSettings(m: TopologyManifest, role: ConsumerRole): Partial<ConsumerConfig> {
  const s = m.consumers[role];
  return {
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(s.ackWaitMs),
    max_deliver: s.maxDeliver,
    max_ack_pending: s.maxAckPending,
  };
}

/** The consumer shared by the executors of one handler profile in a group. */
export function executorConsumerSpec(
  n: Names,
  m: TopologyManifest,
  group: string,
  profile: string,
): ConsumerSpec {
  return {
    ...consumerSettings(m, 'work'),
    durable_name: n.consumers.executor(group, profile),
    filter_subject: n.workSubject(group, profile),
    deliver_policy: DeliverPolicy.All,
  };
}

/** The settings a role relies on, by which an existing consumer differs from `spec` (names only). */
export function consumerDifferences(actual: Partial<ConsumerConfig>, spec: ConsumerSpec): string[] {
  return (['ack_wait', 'max_deliver', 'max_ack_pending', 'filter_subject'] as const).filter(
    (k) => spec[k] !== undefined && actual[k] !== spec[k],
  );
}
