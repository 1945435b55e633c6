/**
 * Wire shapes: exactly what travels on subjects and is stored in KV, field for field. The JSON
 * Schemas in ./schemas.ts describe the same shapes and are what validates them; docs/protocol.md
 * documents both. Times are integer milliseconds since the epoch.
 *
 * Protocol v2 is batch-native: a hand-off, a work message and an outcome message each carry items of
 * many tasks. Stored records and messages between actors accept fields they do not know (a newer
 * version may add some), and a record keeps them when it is changed.
 */
import type { ErrorRecord } from './errors.js';
import type { TaskState } from './task-state.js';

/** The protocol version every message and record carries as `v`. */
export const WIRE_VERSION = 2;

// ---- task specification -------------------------------------------------------------------------

export type SplitSpec =
  | { kind: 'none' }
  /** `payload` is an array; each subtask gets `{ items, offset }` with at most `chunkSize` items. */
  | { kind: 'items'; chunkSize: number }
  /** Integers in [start, end); each subtask gets `{ start, end }` spanning at most `chunkSize`. */
  | { kind: 'range'; start: number; end: number; chunkSize: number }
  /** A splitter registered in the scheduler for the task type turns the payload into inputs. */
  | { kind: 'custom' };

export type AggregateSpec =
  /** The task result is the array of subtask results, in subtask order. */
  | { kind: 'collect' }
  /** A reducer registered in the coordinator for the task type folds results in subtask order. */
  | { kind: 'reduce' }
  /** Results are discarded; the task result is null. */
  | { kind: 'none' };

/** A claim check: the payload is stored in the payloads object store under `name`. */
export interface PayloadRef {
  bucket: string;
  name: string;
}

/**
 * How long to wait before the next attempt of a failed subtask: `fixed` waits `delayMs` every time,
 * `exponential` waits `delayMs * 2^(attempt-1)`; both at most `maxDelayMs`, and with `jitter` (0-1)
 * a random share of the wait taken off (0.2: between 80% and 100% of it).
 */
export interface Backoff {
  kind: 'fixed' | 'exponential';
  delayMs: number;
  maxDelayMs?: number;
  jitter?: number;
}

/**
 * Retries of a failed subtask (./retry.ts decides): at most `maxAttempts` attempts in all (1: no
 * retry), waiting `backoff` between them. A failure with `retryable: false` is never retried; one
 * with `retryAfterMs` waits that long instead of the backoff.
 */
export interface RetryPolicy {
  maxAttempts: number;
  /** @defaultValue no wait */
  backoff?: Backoff;
}

/**
 * How many failed subtasks a task survives: it fails at once on one more than that; with no more, it
 * succeeds with partial results (`null` for each failed subtask's result; a reducer skips them).
 * `maxFailures`: at most that many; `maxFailureRatio`: at most that share of its subtasks; both
 * given, both hold. Absent: the first failure fails the task.
 */
export interface FanIn {
  maxFailures?: number;
  maxFailureRatio?: number;
}

/** What a client sends to submit one task. */
export interface SubmitRequest {
  /** Optional: the protocol version the client speaks (1 or 2). */
  v?: number;
  type: string;
  payload?: unknown;
  payloadRef?: PayloadRef;
  group?: string;
  /** 0-9; 9 runs first. @defaultValue 5 */
  priority?: number;
  tenant?: string;
  /**
   * What release is fair across within a priority (weighted round-robin), e.g. a customer id.
   * @defaultValue the tenant
   */
  fairnessKey?: string;
  idempotencyKey?: string;
  split?: SplitSpec;
  aggregate?: AggregateSpec;
  /** Per-subtask handler timeout; the handler's AbortSignal fires when it expires. */
  timeoutMs?: number;
  /**
   * Most subtasks of this task one work message may carry. Without it the scheduler packs as many
   * as the backlog calls for; set 1 for long subtasks so that they spread over the executors.
   */
  subtasksPerMessage?: number;
  /** Refuse the task (`NO_EXECUTOR`) when no live executor of its group serves its type. */
  requireExecutor?: boolean;
  /** Run no sooner than this many ms after submit (the task is `delayed` until then). */
  delayMs?: number;
  /** Run no sooner than this time (ms since the epoch); not with `delayMs`. */
  runAt?: number;
  /** Retries of its failed subtasks. @defaultValue the group's policy for the type, else one attempt */
  retry?: RetryPolicy;
  /**
   * The task fails with `DEADLINE_EXCEEDED` if it has not ended this many ms after it may start (its
   * submit, or its `runAt`); its running subtasks are aborted.
   */
  deadlineMs?: number;
  /** Finish with partial results when few enough subtasks failed. @defaultValue fail at once */
  fanIn?: FanIn;
  metadata?: Record<string, string>;
}

export interface SubmitManyRequest {
  v?: number;
  tasks: SubmitRequest[];
}

export interface GetRequest {
  v?: number;
  id: string;
  includeResult?: boolean;
}

export interface ListRequest {
  v?: number;
  state?: TaskState;
  type?: string;
  tenant?: string;
  limit?: number;
  cursor?: string;
}

export interface CancelRequest {
  v?: number;
  id: string;
  reason?: string;
}

export interface WaitRequest {
  v?: number;
  id: string;
  timeoutMs?: number;
  includeResult?: boolean;
}

// ---- stored records -----------------------------------------------------------------------------

/** Subtask progress kept inside the task record, changed only by ./transitions.ts. */
export interface SubtaskCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** base64 bitmap: bit i set when subtask i has a recorded outcome. Makes counting idempotent. */
  done: string;
  /**
   * Subtasks whose work message was redelivered and claimed: index -> the delivery that owns it now.
   * An outcome from any other delivery is stale. A subtask without an entry is owned by delivery 1.
   */
  claims?: Record<string, number>;
  /**
   * Subtasks on a later attempt than their first (retried): index -> the attempt that may report. A
   * subtask without an entry is on attempt 1. An outcome or claim of any other attempt does not count.
   */
  attempts?: Record<string, number>;
}

/** The task record in the tasks KV bucket, key = task id. JSON, so `nats kv get` shows it. */
export interface TaskRecord {
  v: number;
  id: string;
  type: string;
  group: string;
  priority: number;
  tenant: string;
  /** Absent: the tenant. */
  fairnessKey?: string;
  idempotencyKey?: string;
  split: SplitSpec;
  aggregate: AggregateSpec;
  timeoutMs?: number;
  subtasksPerMessage?: number;
  /** As submitted; absent: the group's policy for the type when a subtask fails. */
  retry?: RetryPolicy;
  /** When the task fails unless it has ended (ms since the epoch): `deadlineMs` after it may start. */
  deadline?: number;
  fanIn?: FanIn;
  metadata?: Record<string, string>;
  /** A delayed task runs no sooner than this (ms); it is `delayed` until then. */
  runAt?: number;
  /** The schedule that created the task, and the occurrence (ms; none when triggered by hand). */
  schedule?: { id: string; occurrence?: number };
  /** W3C trace context of the submit (`traceparent`), carried to each subtask: see docs/protocol.md. */
  trace?: string;
  payloadBytes: number;
  state: TaskState;
  createdAt: number;
  updatedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** Present once the number of subtasks is known: at submit for built-in splits, else on the first outcome. */
  subtasks?: SubtaskCounts;
  error?: ErrorRecord;
  cancelReason?: string;
  /** True once a result is stored in the results bucket under the task id. */
  hasResult?: boolean;
}

/** What release is fair across for a task: its fairness key, else its tenant. */
export function fairnessKeyOf(rec: Pick<TaskRecord, 'fairnessKey' | 'tenant'>): string {
  return rec.fairnessKey ?? rec.tenant;
}

/**
 * A task result in the results KV bucket, key = task id, msgpack: the value inline, or a reference to
 * the payloads object store when the encoded value is larger than fits a message.
 */
export type ResultEnvelope = { v: number; value: unknown } | { v: number; ref: PayloadRef };

/**
 * One recorded subtask outcome, in the tasks bucket beside its task: key `<taskId>.<index>` for its
 * last attempt, and `<taskId>.<index>.<attempt>` for each failed attempt that was retried. msgpack.
 */
export interface SubtaskRecord {
  v: number;
  taskId: string;
  index: number;
  attempt: number;
  delivery: number;
  ok: boolean;
  result?: unknown;
  error?: ErrorRecord;
  /** A failed subtask's input, as its executor had it: kept for the task's retention period. */
  input?: unknown;
  executor: string;
  startedAt: number;
  finishedAt: number;
}

/** An executor's advertisement in the executors KV bucket, key `<group>.<executorId>`. JSON. */
export interface ExecutorAdvert {
  v: number;
  id: string;
  group: string;
  /** Executors with the same profile serve the same types and share one consumer. */
  profile: string;
  types: string[];
  concurrency: number;
  /** Handlers running when the advert was written. */
  running: number;
  /** How often the advert is renewed; it is stale after three of these. */
  heartbeatMs: number;
  host: string;
  pid: number;
  startedAt: number;
  at: number;
}

/** An advert counts as live for this many heartbeats after it was written. */
const LIVE_HEARTBEATS = 3;

/** Whether an executor's advert is live: written less than three heartbeats ago. */
export function isLive(a: Pick<ExecutorAdvert, 'at' | 'heartbeatMs'>, now = Date.now()): boolean {
  return now - a.at < LIVE_HEARTBEATS * a.heartbeatMs;
}

// ---- messages between actors --------------------------------------------------------------------

/**
 * A task handed to the schedulers: its id and input, and the record as the coordinator wrote it. A
 * scheduler takes that copy as it is only when the hand-off's signature verifies; otherwise it reads
 * the record.
 */
export interface SchedTask {
  id: string;
  payload?: unknown;
  payloadRef?: PayloadRef;
  record?: TaskRecord;
}

/**
 * A ready-queue message, on `<prefix>.ready.<group>.<priority>.<fairnessKey>.<type>`: tasks handed
 * to the schedulers by a coordinator (to be split and released), or subtasks given back (`items`:
 * an executor could not run them, or they were taken off a profile with no executor left). All of
 * one group, priority, fairness key and type: the subject says which.
 */
export interface SchedBatch {
  v: number;
  kind: 'sched';
  tasks?: SchedTask[];
  items?: WorkItem[];
}

/** One subtask to run. */
export interface WorkItem {
  taskId: string;
  type: string;
  index: number;
  total: number;
  /** The try of this subtask, from 1. A JetStream redelivery is the same attempt, a new delivery. */
  attempt: number;
  /**
   * How often the subtask was sent again in a new work message (given back by an executor without a
   * handler for it, or taken off a profile no executor serves). Its deliveries count on from there:
   * see {@link subtaskDelivery}. Absent: 0.
   */
  resends?: number;
  /** The task's priority, tenant and fairness key: where the subtask goes back to when given back. */
  priority?: number;
  tenant?: string;
  fairnessKey?: string;
  input: unknown;
  timeoutMs?: number;
  /** The task's trace context (`traceparent`), the parent of the handler's span. */
  trace?: string;
  /**
   * The attempt's token: its outcome must carry it back, or the coordinator refuses the outcome.
   * Made by the releasing scheduler from the cluster's key; nobody without the key can make one.
   */
  token?: string;
}

/**
 * Deliveries one work message can have (a consumer's `max_deliver` stays below it): the deliveries
 * of a subtask's n-th carrier count from n × this, so a later carrier always outranks an earlier one.
 */
export const DELIVERIES_PER_SEND = 1000;

/**
 * The delivery of a subtask, as claims and outcomes name it: the JetStream delivery count of the
 * message carrying it, counted on from the carriers before (a subtask sent again in a new message
 * would otherwise start at delivery 1 again, below a claim an earlier carrier's redelivery made).
 */
export function subtaskDelivery(item: Pick<WorkItem, 'resends'>, deliveryCount: number): number {
  return (item.resends ?? 0) * DELIVERIES_PER_SEND + deliveryCount;
}

/** The item sent again in a new message (given back, rescued): its next deliveries outrank the old. */
export function resent(item: WorkItem): WorkItem {
  return { ...item, resends: (item.resends ?? 0) + 1 };
}

/** Scheduler -> executor profile, on `<prefix>.work.<group>.<profile>`: subtasks of any tasks. */
export interface WorkBatch {
  v: number;
  kind: 'work';
  items: WorkItem[];
}

/** What ran: one subtask's outcome. */
export type OutcomeItem = {
  taskId: string;
  index: number;
  total: number;
  attempt: number;
  /** The JetStream delivery of the work message the subtask ran from (1 = first). */
  delivery: number;
  startedAt: number;
  finishedAt: number;
  /** The trace context of the run (its span's `traceparent`, in the task's trace). */
  trace?: string;
  /** The work item's `token`, given back as it came. */
  token?: string;
} & (
  | { ok: true; result: unknown }
  /** `input`: the subtask's input, so that a retry or a dead letter can run it again. */
  | { ok: false; error: ErrorRecord; input?: unknown }
);

/** A task that cannot go on, as the scheduler or an executor sees it (split failed, gave up). */
export interface TaskFailure {
  taskId: string;
  error: ErrorRecord;
  /**
   * Who may fail a task: an executor that gave up on a work item names it (`index`, `attempt`) with
   * its `token`; a scheduler (a split that failed) signs the task id itself (`token` without
   * `index`). A failure without a valid token is refused.
   */
  index?: number;
  attempt?: number;
  token?: string;
}

/** Executors and schedulers -> coordinators, on `<prefix>.outcomes.<group>`. */
export interface OutcomeBatch {
  v: number;
  kind: 'outcomes';
  /** Executor or scheduler id. */
  from: string;
  items?: OutcomeItem[];
  failures?: TaskFailure[];
}

/** A stopped task, on `<prefix>.stops.<taskId>` in the stops stream: skip its queued work. */
export interface StopNotice {
  v: number;
  kind: 'stop';
  taskId: string;
  state: 'cancelled' | 'failed';
  reason?: string;
  at: number;
}

/** Executor -> coordinators (core NATS), on `<prefix>.started.<group>`: subtasks it starts now. */
export interface StartedNotice {
  v: number;
  kind: 'started';
  executor: string;
  items: { taskId: string; index: number; attempt: number }[];
}

/**
 * Executor -> the group's releaser (core NATS), on `<prefix>.credit.<group>`: subtasks it is done
 * with (reported, skipped or given back), so their slots can be given out again. Lost notices are
 * made good when the releaser counts what the work stream still holds.
 */
export interface CreditNotice {
  v: number;
  kind: 'credit';
  executor: string;
  profile: string;
  items: { taskId: string; index: number }[];
}

/** Handler progress, on `<prefix>.progress.<taskId>` (core NATS, not stored). */
export interface ProgressMessage {
  v: number;
  kind: 'progress';
  taskId: string;
  index: number;
  progress: unknown;
}

/**
 * One entry of the list index: task `id` entered the page's state at `at` (its `createdAt` for
 * pending, `startedAt` for running, `finishedAt` for the terminal states). It counts while the
 * task's record is still in that state since that time.
 */
export interface IndexEntry {
  id: string;
  at: number;
}

/** A page of the list index, on `<prefix>.index.<state>.<tenant>.<type>`. */
export interface IndexPage {
  v: number;
  kind: 'index';
  entries: IndexEntry[];
}

/** A dead-lettered message, on `<prefix>.dlq.<source>`, kept in the DLQ stream. msgpack. */
export interface DeadLetter {
  v: number;
  kind: 'dead-letter';
  source: string;
  subject: string;
  reason: ErrorRecord;
  actor: string;
  at: number;
  /** How often JetStream delivered the message before it was given up (a subtask: its attempts). */
  deliveries?: number;
  headers?: Record<string, string[]>;
  /**
   * A subtask that failed its last attempt (source `subtask`): which, so that it can be found and
   * run again; `data` is its work item as it last ran, input included.
   */
  task?: { id: string; type: string; group: string; index: number; attempt: number };
  data: Uint8Array;
}

/** A dead letter as the API lists it: its place in the DLQ stream, without its message. */
export type DeadLetterEntry = Omit<DeadLetter, 'v' | 'kind' | 'data' | 'headers'> & { seq: number };

/** `<prefix>.api.dlq.list`: dead letters, oldest first, from after `after` (a sequence). */
export interface DlqListRequest {
  v?: number;
  source?: string;
  type?: string;
  taskId?: string;
  limit?: number;
  after?: number;
}

export interface DlqListReply {
  items: DeadLetterEntry[];
  /** Pass as `after` for the next page; absent at the end. */
  next?: number;
}

/** `<prefix>.api.dlq.get`: one dead letter with its message decoded (msgpack or JSON, else bytes). */
export interface DlqGetRequest {
  v?: number;
  seq: number;
}

export interface DlqGetReply {
  entry: DeadLetterEntry & { headers?: Record<string, string[]>; message: unknown };
}

/**
 * `<prefix>.api.dlq.retry` and `.purge`: one dead letter by `seq`, or all that match the filter
 * (`all: true` is required without `seq`, so that an empty filter never purges by accident).
 */
export interface DlqSelectRequest {
  v?: number;
  seq?: number;
  all?: boolean;
  source?: string;
  type?: string;
  taskId?: string;
}

export interface DlqRetryReply {
  /** Each subtask run again as a new task (`taskId`), and the dead letter it came from. */
  retried: { seq: number; taskId: string }[];
  /** Dead letters matched that cannot be run again (not of a subtask). */
  skipped: number;
}

export interface DlqPurgeReply {
  purged: number;
}

/** The topology manifest `provision` writes, in the config KV bucket under `topology`. JSON. */
export interface TopologyManifest {
  v: number;
  /** Version of the stream, bucket and consumer layout; roles refuse any other. */
  layout: number;
  prefix: string;
  replicas: number;
  taskRetentionMs: number;
  stopRetentionMs: number;
  dlqRetentionMs: number;
  /** Ack wait and deliveries of each shared consumer. */
  consumers: Record<ConsumerRole, { ackWaitMs: number; maxDeliver: number; maxAckPending: number }>;
  provisionedAt: number;
}

export type ConsumerRole = 'work' | 'outcomes' | 'due';

/**
 * Where release stands in a ready subject: the message (its stream sequence), the position in it
 * (its tasks, then its given-back subtasks, in order) and, within a task, the next subtask index.
 */
export type ReadyCursor = [seq: number, pos: number, sub: number];

/** Subtasks `[from, to)` of the task (or given-back subtask) at position `pos` of a ready message. */
export type ReadyPart = [subject: string, seq: number, pos: number, from: number, to: number];

/**
 * A group's release state, in the release bucket under `<group>`, JSON, changed only by compare-and-
 * set: who releases for the group and until when, where each ready subject's release stands, and the
 * last round's intent (the work messages it publishes, with their dedupe ids), which a successor
 * publishes again before it goes on.
 */
export interface ReleaseState {
  v: number;
  group: string;
  holder: string;
  /** Incremented on every takeover. */
  epoch: number;
  /** When the lease runs out unless renewed (ms). */
  expiresAt: number;
  /** Subjects whose head is released in part, or in full and not purged yet. */
  cursors: Record<string, ReadyCursor>;
  intent?: { msgs: { id: string; subject: string; parts: ReadyPart[] }[] };
  /** Rate-limit windows by limit key: `[sliceStart, count][]`. */
  rates?: Record<string, [number, number][]>;
}

// ---- internal requests --------------------------------------------------------------------------

/** Executor -> coordinators: claim redelivered subtasks before running them. */
export interface ClaimRequest {
  v?: number;
  executor: string;
  items: { taskId: string; index: number; total: number; attempt: number; delivery: number }[];
}

export interface ClaimReply {
  /** One per requested item, in order: may it run? */
  results: { granted: boolean; reason?: string }[];
}

// ---- group settings -----------------------------------------------------------------------------

/**
 * A rate or concurrency limit of a group, enforced by the group's releaser: at most `rate.limit`
 * subtasks released per `rate.intervalMs`, and at most `concurrency` in flight (released and not
 * finished), counted for the group as a whole, for each task type, or for each fairness key (the
 * tenant unless tasks name another), or for one type or key only.
 */
export interface LimitSpec {
  /** A name for it (`jetsched queue` says which limit holds work back). */
  id: string;
  per: 'group' | 'type' | 'key';
  /** With `per: 'type'` or `'key'`: only this type or key (else each one on its own). */
  only?: string;
  rate?: { limit: number; intervalMs: number };
  concurrency?: number;
}

/** A group's settings, in the config bucket under `group.<group>` (JSON). */
export interface GroupSettings {
  v: number;
  group: string;
  /** Nothing of the group is released while it is paused; what waits stays queued. */
  paused?: boolean;
  /** Task types of the group paused on their own. */
  pausedTypes?: string[];
  /** Fairness weights by key (default 1): a key of weight 3 gets three releases to another's one. */
  weights?: Record<string, number>;
  limits?: LimitSpec[];
  /**
   * Retry policies by task type (`*`: every type without its own), for tasks submitted without
   * one. Read when a subtask fails, so a change applies to failures from then on.
   */
  retry?: Record<string, RetryPolicy>;
  updatedAt: number;
}

/**
 * A releaser's view of its group after a round, JSON, the reply on `<prefix>.status.<group>`: what
 * waits, where, and what holds it back (for `jetsched queue`, metrics and logs).
 */
export interface ReleaseStatus {
  group: string;
  at: number;
  holder: string;
  epoch: number;
  /** Every ready subject with work waiting. */
  queues: {
    subject: string;
    priority: number;
    fairnessKey: string;
    type: string;
    /** Subtasks waiting (an estimate when more are stored than loaded). */
    waiting: number;
    /** How long the oldest loaded subtask has waited (ms). */
    oldestMs: number | undefined;
    /** What held it back in the last round, if something did. */
    heldBy: string | undefined;
  }[];
  profiles: { profile: string; types: string[]; executors: number; capacity: number; inFlight: number }[];
}

/** What to do with occurrences of a schedule that were missed (nothing ran to take them in time). */
export type MissedPolicy = 'skip' | 'once';

/** A schedule's task: a submit request without a delay or an idempotency key (each run gets one). */
export type ScheduleTask = Omit<SubmitRequest, 'v' | 'delayMs' | 'runAt' | 'idempotencyKey'>;

/**
 * A cron or interval schedule as created (ADR 0020): exactly one of `cron` (6 fields, with an
 * optional IANA `timezone`, default UTC) and `every` (a Go duration of at least 1s).
 */
export interface ScheduleDefinition {
  id: string;
  cron?: string;
  timezone?: string;
  every?: string;
  task: ScheduleTask;
  /**
   * Occurrences handled more than `missedAfterMs` after they were due (the server or every
   * coordinator was down): `once` runs the latest of them and skips the rest, `skip` runs none.
   * @defaultValue 'once'
   */
  missed?: MissedPolicy;
  /** @defaultValue 60000 */
  missedAfterMs?: number;
  /** `skip`: an occurrence whose previous run has not ended is skipped. @defaultValue 'allow' */
  overlap?: 'allow' | 'skip';
  /** Create it paused. */
  paused?: boolean;
}

/** A schedule in the config bucket under `schedule.<id>` (JSON), with what it did last. */
export interface ScheduleRecord extends ScheduleDefinition {
  v: number;
  missed: MissedPolicy;
  missedAfterMs: number;
  overlap: 'allow' | 'skip';
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  /** The last occurrence handled: when it was due, and the next one the server announced (ms). */
  lastFire?: { dueAt: number; next: number };
  /** The last task it created. */
  lastRun?: { taskId: string; at: number; occurrence?: number };
  /** Tasks created, and occurrences skipped (missed or overlapping). */
  runs: number;
  skipped: number;
}

export interface ScheduleCreateRequest extends ScheduleDefinition {
  v?: number;
}

/** Get, pause, resume, delete or trigger one schedule. */
export interface ScheduleIdRequest {
  v?: number;
  id: string;
}

export interface ScheduleReply {
  schedule: ScheduleRecord;
  /** When it runs next, as far as the coordinator can tell (none while paused). */
  nextRunAt?: number;
}

export interface ScheduleListReply {
  schedules: ScheduleReply[];
}

export interface ScheduleTriggerReply extends ScheduleReply {
  /** The task the trigger created. */
  taskId: string;
}

/** What a cron schedule fires on `<prefix>.due` (msgpack): which schedule is due. */
export interface FireNotice {
  v: number;
  kind: 'fire';
  schedule: string;
}

/** A task's deadline came (a server-held schedule on `<prefix>.deadline.<taskId>`, fired on `<prefix>.due`). */
export interface DeadlineNotice {
  v: number;
  kind: 'deadline';
  taskId: string;
}

export interface GroupGetRequest {
  v?: number;
  group: string;
}

/** Replaces a group's settings (fields left out are cleared). */
export interface GroupSetRequest {
  v?: number;
  group: string;
  paused?: boolean;
  pausedTypes?: string[];
  weights?: Record<string, number>;
  limits?: LimitSpec[];
  retry?: Record<string, RetryPolicy>;
}

export interface GroupPauseRequest {
  v?: number;
  group: string;
  /** Pause (or resume) only this task type of the group. */
  type?: string;
}

// ---- API replies --------------------------------------------------------------------------------

export type ApiReply<T> = ({ ok: true } & T) | { ok: false; error: ErrorRecord };

export interface SubmitReply {
  id: string;
  /** True when the idempotency key was seen before; `id` is then the first task's id. */
  duplicate: boolean;
}
export interface SubmitManyReply {
  results: ApiReply<SubmitReply>[];
}
export interface TaskReply {
  task: TaskRecord;
  /** The result, when asked for and small enough to travel inline. */
  result?: unknown;
  /** Where a large result is stored instead (the payloads object store): fetch and msgpack-decode it. */
  resultRef?: PayloadRef;
  /** Why a pending task is not running, when the coordinator can tell (no executor serves its type). */
  waiting?: string;
}
export interface GroupReply {
  settings: GroupSettings;
}
export interface ListReply {
  tasks: TaskRecord[];
  nextCursor?: string;
}
