/**
 * Wire shapes: exactly what travels on subjects and is stored in KV, field for field. The JSON
 * Schemas in ./schemas.ts describe the same shapes and are what validates them; docs/protocol.md
 * documents both. Times are milliseconds since the epoch.
 */
import type { ErrorRecord } from './errors.js';
import type { TaskState } from './task-state.js';

export const WIRE_VERSION = 1;

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

/** What a client sends to submit one task. */
export interface SubmitRequest {
  type: string;
  payload?: unknown;
  payloadRef?: PayloadRef;
  group?: string;
  priority?: number;
  tenant?: string;
  idempotencyKey?: string;
  split?: SplitSpec;
  aggregate?: AggregateSpec;
  /** Per-subtask handler timeout; the handler's AbortSignal fires when it expires. */
  timeoutMs?: number;
  /**
   * Subtasks carried by one work message (and reported in one outcome message). Raise it for many
   * short subtasks: fewer messages per subtask. All subtasks of a message run on one executor, so
   * keep it at 1 for long ones. @defaultValue 1
   */
  subtasksPerMessage?: number;
  metadata?: Record<string, string>;
}

export interface SubmitManyRequest {
  tasks: SubmitRequest[];
}

export interface GetRequest {
  id: string;
  includeResult?: boolean;
}

export interface ListRequest {
  state?: TaskState;
  type?: string;
  tenant?: string;
  limit?: number;
  cursor?: string;
}

export interface CancelRequest {
  id: string;
  reason?: string;
}

export interface WaitRequest {
  id: string;
  timeoutMs?: number;
  includeResult?: boolean;
}

// ---- stored records -----------------------------------------------------------------------------

/** Subtask progress kept inside the task record, updated by compare-and-set. */
export interface SubtaskCounts {
  total: number;
  succeeded: number;
  failed: number;
  /** base64 bitmap: bit i set when subtask i has a recorded outcome. Makes counting idempotent. */
  done: string;
}

/** The task record in the tasks KV bucket, key = task id. JSON, so `nats kv get` shows it. */
export interface TaskRecord {
  v: number;
  id: string;
  type: string;
  group: string;
  priority: number;
  tenant: string;
  idempotencyKey?: string;
  split: SplitSpec;
  aggregate: AggregateSpec;
  timeoutMs?: number;
  subtasksPerMessage?: number;
  metadata?: Record<string, string>;
  payloadBytes: number;
  state: TaskState;
  createdAt: number;
  updatedAt: number;
  scheduledAt?: number;
  startedAt?: number;
  finishedAt?: number;
  subtasks?: SubtaskCounts;
  error?: ErrorRecord;
  cancelReason?: string;
  /** True once a result is stored in the results bucket under the task id. */
  hasResult?: boolean;
}

/**
 * A task result in the results KV bucket, key = task id, msgpack: the value inline, or a reference to
 * the payloads object store when the encoded value is larger than fits a message.
 */
export type ResultEnvelope = { v: number; value: unknown } | { v: number; ref: PayloadRef };

/** One recorded subtask outcome, in the subtasks KV bucket, key `<taskId>.<index>`. msgpack. */
export interface SubtaskRecord {
  v: number;
  taskId: string;
  index: number;
  attempt: number;
  ok: boolean;
  result?: unknown;
  error?: ErrorRecord;
  executor: string;
  startedAt: number;
  finishedAt: number;
}

// ---- messages between actors --------------------------------------------------------------------

/** Coordinator -> scheduler, on the sched stream: a recorded task and its input. */
export interface SchedMessage {
  v: number;
  kind: 'task';
  taskId: string;
  payload?: unknown;
  payloadRef?: PayloadRef;
  /** The task record as created, so the scheduler need not read it (first delivery only). */
  record?: TaskRecord;
  /** KV revision of `record`, the compare-and-set base for `pending -> scheduled`. */
  revision?: number;
}

/** Scheduler -> executor group, on the work stream. */
export interface WorkMessage {
  v: number;
  kind: 'subtask';
  taskId: string;
  type: string;
  group: string;
  index: number;
  total: number;
  attempt: number;
  input: unknown;
  timeoutMs?: number;
}

/**
 * Scheduler -> executor group, on the work stream: several subtasks of one task in one message
 * (tasks with `subtasksPerMessage` > 1). Answered by one {@link OutcomeBatchMessage}.
 */
export interface WorkBatchMessage {
  v: number;
  kind: 'subtasks';
  taskId: string;
  type: string;
  group: string;
  total: number;
  attempt: number;
  items: { index: number; input: unknown }[];
  timeoutMs?: number;
}

/** One subtask's outcome inside an {@link OutcomeBatchMessage}. */
export type OutcomeItem = {
  index: number;
  startedAt: number;
  finishedAt: number;
} & ({ ok: true; result: unknown } | { ok: false; error: ErrorRecord });

/** Executor -> coordinator: the outcomes of a {@link WorkBatchMessage}'s subtasks. */
export interface OutcomeBatchMessage {
  v: number;
  kind: 'outcomes';
  taskId: string;
  attempt: number;
  executor: string;
  items: OutcomeItem[];
}

/** Executor -> coordinator, on the outcomes stream. */
export type OutcomeMessage = OutcomeBase &
  ({ ok: true; result: unknown } | { ok: false; error: ErrorRecord });
interface OutcomeBase {
  v: number;
  kind: 'outcome';
  taskId: string;
  index: number;
  attempt: number;
  executor: string;
  startedAt: number;
  finishedAt: number;
}

/** Lifecycle event, on `<prefix>.events.<taskId>.<state>`, kept in the events stream. */
export interface TaskEvent {
  v: number;
  kind: 'state';
  taskId: string;
  type: string;
  tenant: string;
  state: TaskState;
  at: number;
  subtasks?: { total: number; succeeded: number; failed: number };
  error?: ErrorRecord;
}

/** Progress notices on `<prefix>.progress.<taskId>` (core NATS, not stored). */
export type ProgressMessage =
  | { v: number; kind: 'subtasks'; taskId: string; total: number; succeeded: number; failed: number }
  | { v: number; kind: 'started'; taskId: string; index: number; attempt: number; executor: string }
  | { v: number; kind: 'handler'; taskId: string; index: number; progress: unknown };

/** Cancellation broadcast on `<prefix>.control.cancel.<taskId>` (core NATS). */
export interface CancelMessage {
  v: number;
  kind: 'cancel';
  taskId: string;
  reason?: string;
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
  headers?: Record<string, string[]>;
  data: Uint8Array;
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
}
export interface ListReply {
  tasks: TaskRecord[];
  nextCursor?: string;
}
