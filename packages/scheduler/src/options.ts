/** Scheduler options: user options -> defaults -> frozen config. */
import { DEFAULT_MAX_SUBTASKS } from '@jetsched/protocol';
import { compileActorConfig, type ActorConfig, type ActorOptions } from '@jetsched/runtime';
import { nanoid } from 'nanoid';
import type { AdmissionPolicy } from './policy.js';

/**
 * Turns a task payload into subtask inputs, for tasks submitted with `split: { kind: 'custom' }`.
 * Must be deterministic: after a crash the scheduler splits again and must get the same subtasks.
 */
export type Splitter = (
  payload: unknown,
  ctx: SplitterContext,
) => Iterable<unknown> | unknown[] | Promise<Iterable<unknown> | unknown[]>;

export interface SplitterContext {
  /** Fires when the splitter runs past the scheduler's `splitTimeoutMs`; the task then fails. */
  readonly signal: AbortSignal;
  readonly taskId: string;
}

/** Tasks split and dispatched at once by one scheduler. @defaultValue 16 */
export const DEFAULT_SCHEDULER_CONCURRENCY = 16;
/** How long a scheduler may hold a task before it goes to another one. @defaultValue 60 s */
export const DEFAULT_SCHED_ACK_WAIT_MS = 60_000;
/** How long a custom splitter may take before its task fails. @defaultValue 60 s */
export const DEFAULT_SPLIT_TIMEOUT_MS = 60_000;
/** Work publishes awaiting their JetStream ack at once, per task. @defaultValue 512 */
export const DEFAULT_PUBLISH_WINDOW = 512;

export interface SchedulerOptions extends ActorOptions {
  splitters?: Record<string, Splitter>;
  policies?: AdmissionPolicy[];
  /** @defaultValue {@link DEFAULT_MAX_SUBTASKS} */
  maxSubtasks?: number;
  /** @defaultValue {@link DEFAULT_SCHEDULER_CONCURRENCY} */
  concurrency?: number;
  /** @defaultValue {@link DEFAULT_PUBLISH_WINDOW} */
  publishWindow?: number;
  /** @defaultValue {@link DEFAULT_SPLIT_TIMEOUT_MS} */
  splitTimeoutMs?: number;
  /** Ack wait of the shared sched consumer (last scheduler to start sets it). @defaultValue {@link DEFAULT_SCHED_ACK_WAIT_MS} */
  ackWaitMs?: number;
}

export interface SchedulerConfig extends ActorConfig {
  readonly splitters: Readonly<Record<string, Splitter>>;
  readonly policies: readonly AdmissionPolicy[];
  readonly maxSubtasks: number;
  readonly concurrency: number;
  readonly publishWindow: number;
  readonly splitTimeoutMs: number;
  readonly ackWaitMs: number;
}

export function compileSchedulerOptions(o: SchedulerOptions): SchedulerConfig {
  return Object.freeze({
    ...compileActorConfig('scheduler', o.id ?? `sched-${nanoid(8)}`, o),
    splitters: Object.freeze({ ...(o.splitters ?? {}) }),
    policies: Object.freeze([...(o.policies ?? [])]),
    maxSubtasks: o.maxSubtasks ?? DEFAULT_MAX_SUBTASKS,
    concurrency: o.concurrency ?? DEFAULT_SCHEDULER_CONCURRENCY,
    publishWindow: o.publishWindow ?? DEFAULT_PUBLISH_WINDOW,
    splitTimeoutMs: o.splitTimeoutMs ?? DEFAULT_SPLIT_TIMEOUT_MS,
    ackWaitMs: o.ackWaitMs ?? DEFAULT_SCHED_ACK_WAIT_MS,
  });
}
