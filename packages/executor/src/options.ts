/** Executor options: user options -> defaults -> validated, frozen config. */
import { createHash } from 'node:crypto';
import { DEFAULT_GROUP, isValidToken } from '@jetsched/protocol';
import {
  compileActorConfig,
  DEFAULT_HEARTBEAT_MS,
  positiveInt,
  type ActorConfig,
  type ActorOptions,
  type Logger,
} from '@jetsched/runtime';
import { nanoid } from 'nanoid';
import { DEFAULT_RUNNING_NOTICE_MS } from './running-notices.js';

/** What a handler gets besides its input. */
export interface HandlerContext {
  /** Fires on cancellation or failure of the task, on the subtask's timeout, and when the executor stops hard. */
  readonly signal: AbortSignal;
  readonly taskId: string;
  readonly type: string;
  /** Subtask index, 0-based, and the task's subtask count. */
  readonly index: number;
  readonly total: number;
  readonly attempt: number;
  /** The JetStream delivery this run comes from: 1, or more after an executor died or stalled. */
  readonly delivery: number;
  /** Id of the executor running the subtask. */
  readonly executor: string;
  /**
   * The W3C trace context of this run (`traceparent`), under the task's trace: for calls the handler
   * makes. The run's span is also the active OpenTelemetry context while the handler runs.
   */
  readonly traceparent: string | undefined;
  readonly log: Logger;
  /** Publishes a progress value watchers see (`jetsched watch`, `client.watch()`). */
  progress(value: unknown): void;
}

/** Runs one subtask. The return value is the subtask result; a throw fails the subtask. */
export type Handler = (input: unknown, ctx: HandlerContext) => unknown;

/** Subtasks run at once by one executor. @defaultValue 8 */
export const DEFAULT_CONCURRENCY = 8;
/** How long `close()` waits for running handlers before aborting them. @defaultValue 25 s (below Kubernetes' 30 s grace) */
export const DEFAULT_DRAIN_TIMEOUT_MS = 25_000;

export interface ExecutorOptions extends ActorOptions {
  /** The executor group whose subtasks this executor shares. @defaultValue `default` */
  group?: string;
  handlers: Record<string, Handler>;
  /** @defaultValue {@link DEFAULT_CONCURRENCY} */
  concurrency?: number;
  /** @defaultValue {@link DEFAULT_DRAIN_TIMEOUT_MS} */
  drainTimeoutMs?: number;
  /**
   * The handler profile: executors of a group with the same profile share one consumer and must
   * serve the same types. @defaultValue derived from the sorted handler types
   */
  profile?: string;
  /** How often the executor renews its advert. @defaultValue {@link DEFAULT_HEARTBEAT_MS} */
  heartbeatMs?: number;
  /** How long a subtask runs before its task is recorded `running`. @defaultValue {@link DEFAULT_RUNNING_NOTICE_MS} */
  runningNoticeMs?: number;
}

export interface ExecutorConfig extends ActorConfig {
  readonly group: string;
  readonly handlers: Readonly<Record<string, Handler>>;
  readonly types: readonly string[];
  readonly profile: string;
  readonly concurrency: number;
  readonly drainTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly runningNoticeMs: number;
}

/** The default profile of a set of handler types: the same types give the same profile everywhere. */
export function profileOf(types: readonly string[]): string {
  return `p${createHash('sha256')
    .update([...types].sort().join('\n'))
    .digest('hex')
    .slice(0, 12)}`;
}

export function compileExecutorOptions(o: ExecutorOptions): ExecutorConfig {
  const group = o.group ?? DEFAULT_GROUP;
  if (!isValidToken(group))
    throw new Error(`invalid group ${JSON.stringify(group)}: letters, digits, _ and - only`);
  const types = Object.keys(o.handlers ?? {}).sort();
  if (types.length === 0) throw new Error('an executor needs at least one handler');
  for (const t of types) {
    if (!isValidToken(t))
      throw new Error(`invalid task type ${JSON.stringify(t)}: letters, digits, _ and - only`);
    if (typeof o.handlers[t] !== 'function') throw new Error(`handler for "${t}" is not a function`);
  }
  const profile = o.profile ?? profileOf(types);
  if (!isValidToken(profile)) throw new Error(`invalid profile ${JSON.stringify(profile)}`);
  const id = o.id ?? `exec-${group}-${nanoid(6)}`;
  return Object.freeze({
    ...compileActorConfig('executor', id, o, { group }),
    group,
    handlers: Object.freeze({ ...o.handlers }),
    types: Object.freeze(types),
    profile,
    concurrency: positiveInt('concurrency', o.concurrency ?? DEFAULT_CONCURRENCY),
    drainTimeoutMs: positiveInt('drainTimeoutMs', o.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS),
    heartbeatMs: positiveInt('heartbeatMs', o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS),
    runningNoticeMs: positiveInt('runningNoticeMs', o.runningNoticeMs ?? DEFAULT_RUNNING_NOTICE_MS),
  });
}
