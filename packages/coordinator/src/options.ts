/** Coordinator options: user options -> defaults -> frozen config. */
import { compileActorConfig, type ActorConfig, type ActorOptions } from '@jetsched/runtime';
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
/** How long a coordinator may hold outcomes before they go to another one. @defaultValue 60 s */
export const DEFAULT_OUTCOME_ACK_WAIT_MS = 60_000;
/** Longest a `wait` request is held. @defaultValue 30 s */
export const DEFAULT_WAIT_MS = 30_000;
/** Default page size of `list`. @defaultValue 100 */
export const DEFAULT_LIST_LIMIT = 100;

export interface CoordinatorOptions extends ActorOptions {
  reducers?: Record<string, Reducer>;
  /** @defaultValue {@link DEFAULT_MAX_REQUEST_BYTES} */
  maxRequestBytes?: number;
  /** @defaultValue {@link DEFAULT_OUTCOME_BATCH} */
  outcomeBatch?: number;
  /**
   * Ack wait of the shared outcomes consumer: how soon a dead coordinator's batch is redelivered.
   * The consumer is shared, so the last coordinator to start sets it. @defaultValue {@link DEFAULT_OUTCOME_ACK_WAIT_MS}
   */
  ackWaitMs?: number;
}

export interface CoordinatorConfig extends ActorConfig {
  readonly reducers: Readonly<Record<string, Reducer>>;
  readonly maxRequestBytes: number;
  readonly outcomeBatch: number;
  readonly ackWaitMs: number;
}

export function compileCoordinatorOptions(o: CoordinatorOptions): CoordinatorConfig {
  return Object.freeze({
    ...compileActorConfig('coordinator', o.id ?? `coord-${nanoid(8)}`, o),
    reducers: Object.freeze({ ...(o.reducers ?? {}) }),
    maxRequestBytes: o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    outcomeBatch: o.outcomeBatch ?? DEFAULT_OUTCOME_BATCH,
    ackWaitMs: o.ackWaitMs ?? DEFAULT_OUTCOME_ACK_WAIT_MS,
  });
}
