/** Executor options: user options -> defaults -> frozen config. */
import { DEFAULT_GROUP } from '@jetsched/protocol';
import {
  compileActorConfig,
  DEFAULT_ACK_WAIT_MS,
  type ActorConfig,
  type ActorOptions,
  type Logger,
} from '@jetsched/runtime';
import { nanoid } from 'nanoid';

/** What a handler gets besides its input. */
export interface HandlerContext {
  /** Fires on cancellation of the task, on the task's timeout, and when the executor stops hard. */
  readonly signal: AbortSignal;
  readonly taskId: string;
  readonly type: string;
  /** Subtask index, 0-based, and the task's subtask count. */
  readonly index: number;
  readonly total: number;
  readonly attempt: number;
  /** Id of the executor running the subtask. */
  readonly executor: string;
  readonly log: Logger;
  /** Publishes a progress value watchers see (`jetsched watch`, `client.watch()`). */
  progress(value: unknown): void;
}

/** Runs one subtask. The return value is the subtask result; a throw fails the subtask. */
export type Handler = (input: unknown, ctx: HandlerContext) => unknown;

/** Subtasks run at once by one executor. @defaultValue 8 */
export const DEFAULT_CONCURRENCY = 8;
/** How long `close()` waits for running handlers before aborting them. @defaultValue 30 s */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface ExecutorOptions extends ActorOptions {
  /** The executor group whose subtasks this executor shares. @defaultValue `default` */
  group?: string;
  handlers: Record<string, Handler>;
  /** @defaultValue {@link DEFAULT_CONCURRENCY} */
  concurrency?: number;
  /** The group consumer's ack wait; handlers heartbeat at a third of it. @defaultValue 30 s */
  ackWaitMs?: number;
  /** @defaultValue {@link DEFAULT_DRAIN_TIMEOUT_MS} */
  drainTimeoutMs?: number;
}

export interface ExecutorConfig extends ActorConfig {
  readonly group: string;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly concurrency: number;
  readonly ackWaitMs: number;
  readonly drainTimeoutMs: number;
}

export function compileExecutorOptions(o: ExecutorOptions): ExecutorConfig {
  const group = o.group ?? DEFAULT_GROUP;
  const id = o.id ?? `exec-${group}-${nanoid(6)}`;
  const concurrency = o.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new Error('concurrency must be a positive integer');
  if (Object.keys(o.handlers).length === 0) throw new Error('an executor needs at least one handler');
  return Object.freeze({
    ...compileActorConfig('executor', id, o, { group }),
    group,
    handlers: Object.freeze({ ...o.handlers }),
    concurrency,
    ackWaitMs: o.ackWaitMs ?? DEFAULT_ACK_WAIT_MS,
    drainTimeoutMs: o.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS,
  });
}
