/** Coordinator options: user options -> defaults -> validated, frozen config. */
import { DEFAULT_MAX_SUBTASKS, MAX_SUBTASKS_LIMIT } from '@jetsched/protocol';
import {
  compileActorConfig,
  nonNegativeInt,
  positiveInt,
  type ActorConfig,
  type ActorOptions,
} from '@jetsched/runtime';
import { nanoid } from 'nanoid';

/**
 * Folds subtask results into the task result, in subtask order. `acc` is undefined on the first
 * call. Registered per task type; used by tasks submitted with `aggregate: { kind: 'reduce' }`.
 */
export type Reducer = (acc: unknown, value: unknown, index: number) => unknown;

/** Largest submit request accepted inline; larger payloads go through the object store. @defaultValue 768 KiB */
export const DEFAULT_MAX_REQUEST_BYTES = 768 * 1024;
/** Most outcome messages recorded in one batch. @defaultValue 256 */
export const DEFAULT_OUTCOME_BATCH = 256;
/** Longest a `wait` request is held. @defaultValue 30 s */
export const DEFAULT_WAIT_MS = 30_000;
/** Default page size of `list`. @defaultValue 100 */
export const DEFAULT_LIST_LIMIT = 100;
/**
 * How long a cancel waits for the live executors of the task's group to confirm that they know of
 * it, before it replies anyway. @defaultValue 2 s
 */
export const DEFAULT_CANCEL_CONFIRM_MS = 2_000;

/**
 * Delayed tasks due at the same moment fire their schedules spread over this much time before it
 * (by task id), so that the server fires a burst in several steps, not in one that holds the
 * delayed stream for seconds; the coordinator holds each notice until the task's time.
 * @defaultValue 1 s
 */
export const DEFAULT_DUE_SPREAD_MS = 1_000;

/**
 * How long after a submit round its hand-off backstops fire (./backstops.ts): a task whose
 * coordinator died between writing its record and handing it on is handed on this long after its
 * submit, or this plus the due ack wait when the coordinator that takes the backstop dies too. At
 * most {@link MAX_ORPHAN_CHECK_MS}, so that a backstop fires within the streams' duplicate window.
 * @defaultValue 30 s
 */
export const DEFAULT_ORPHAN_CHECK_MS = 30_000;
export const MAX_ORPHAN_CHECK_MS = 60_000;

export interface CoordinatorOptions extends ActorOptions {
  reducers?: Record<string, Reducer>;
  /** @defaultValue {@link DEFAULT_MAX_REQUEST_BYTES} */
  maxRequestBytes?: number;
  /** @defaultValue {@link DEFAULT_OUTCOME_BATCH} */
  outcomeBatch?: number;
  /** @defaultValue {@link DEFAULT_CANCEL_CONFIRM_MS} */
  cancelConfirmMs?: number;
  /**
   * A submit whose built-in split gives more subtasks than this is refused (`BAD_REQUEST`); keep it
   * equal to the schedulers' `maxSubtasks`. At most {@link MAX_SUBTASKS_LIMIT}.
   * @defaultValue {@link DEFAULT_MAX_SUBTASKS}
   */
  maxSubtasks?: number;
  /** @defaultValue {@link DEFAULT_DUE_SPREAD_MS}; 0 fires each schedule just before its time. */
  dueSpreadMs?: number;
  /** @defaultValue {@link DEFAULT_ORPHAN_CHECK_MS}; 1 s to {@link MAX_ORPHAN_CHECK_MS}. */
  orphanCheckMs?: number;
}

export interface CoordinatorConfig extends ActorConfig {
  readonly reducers: Readonly<Record<string, Reducer>>;
  readonly maxRequestBytes: number;
  readonly outcomeBatch: number;
  readonly cancelConfirmMs: number;
  readonly maxSubtasks: number;
  readonly dueSpreadMs: number;
  readonly orphanCheckMs: number;
}

export function compileCoordinatorOptions(o: CoordinatorOptions): CoordinatorConfig {
  for (const [type, fn] of Object.entries(o.reducers ?? {})) {
    if (typeof fn !== 'function') throw new Error(`reducer for "${type}" is not a function`);
  }
  return Object.freeze({
    ...compileActorConfig('coordinator', o.id ?? `coord-${nanoid(8)}`, o),
    reducers: Object.freeze({ ...(o.reducers ?? {}) }),
    maxRequestBytes: positiveInt('maxRequestBytes', o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES),
    outcomeBatch: positiveInt('outcomeBatch', o.outcomeBatch ?? DEFAULT_OUTCOME_BATCH),
    cancelConfirmMs: positiveInt('cancelConfirmMs', o.cancelConfirmMs ?? DEFAULT_CANCEL_CONFIRM_MS),
    maxSubtasks: positiveInt('maxSubtasks', o.maxSubtasks ?? DEFAULT_MAX_SUBTASKS, MAX_SUBTASKS_LIMIT),
    dueSpreadMs: nonNegativeInt('dueSpreadMs', o.dueSpreadMs ?? DEFAULT_DUE_SPREAD_MS),
    orphanCheckMs: orphanCheckMs(o.orphanCheckMs ?? DEFAULT_ORPHAN_CHECK_MS),
  });
}

function orphanCheckMs(ms: number): number {
  const v = positiveInt('orphanCheckMs', ms, MAX_ORPHAN_CHECK_MS);
  if (v < 1_000) throw new Error(`orphanCheckMs must be at least 1000, got ${v}`);
  return v;
}
