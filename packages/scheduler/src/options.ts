/** Scheduler options: user options -> defaults -> validated, frozen config. */
import { DEFAULT_MAX_SUBTASKS, MAX_SUBTASKS_PER_MESSAGE } from '@jetsched/protocol';
import {
  compileActorConfig,
  nonNegativeInt,
  positiveInt,
  type ActorConfig,
  type ActorOptions,
} from '@jetsched/runtime';
import { DEFAULT_LEASE_MS } from './release-lease.js';
import { nanoid } from 'nanoid';

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

/** How long a custom splitter may take before its task fails. @defaultValue 60 s */
export const DEFAULT_SPLIT_TIMEOUT_MS = 60_000;
/** How often the scheduler looks for work left on consumers of executors that are gone. @defaultValue 5 s */
export const DEFAULT_RESCUE_INTERVAL_MS = 5_000;
/** Aging step of priorities: a wait this long counts as one priority level more. @defaultValue 10 s */
export const DEFAULT_AGING_MS = 10_000;
/**
 * Subtasks released beyond a profile's free slots, as a share of its capacity, so that executors do
 * not idle while the next round is on its way. @defaultValue 0.25
 */
export const DEFAULT_PREFETCH = 0.25;
/** @defaultValue 30 */
export const DEFAULT_SPLIT_ATTEMPTS = 30;

export interface SchedulerOptions extends ActorOptions {
  splitters?: Record<string, Splitter>;
  /** @defaultValue {@link DEFAULT_MAX_SUBTASKS} */
  maxSubtasks?: number;
  /** @defaultValue {@link DEFAULT_SPLIT_TIMEOUT_MS} */
  splitTimeoutMs?: number;
  /** Most subtasks one work message carries, whatever the backlog. @defaultValue 1,000 */
  maxItemsPerMessage?: number;
  /** @defaultValue {@link DEFAULT_RESCUE_INTERVAL_MS} */
  rescueIntervalMs?: number;
  /** @defaultValue {@link DEFAULT_AGING_MS}; 0 turns aging off */
  agingMs?: number;
  /** @defaultValue {@link DEFAULT_PREFETCH} */
  prefetch?: number;
  /** How long a group's release lease lasts unless renewed. @defaultValue {@link DEFAULT_LEASE_MS} */
  leaseMs?: number;
  /**
   * Attempts at splitting a task whose splitter asks to be retried (a retryable error), about a
   * second apart, before the task fails with SPLIT_FAILED and is dead-lettered.
   * @defaultValue {@link DEFAULT_SPLIT_ATTEMPTS}
   */
  splitAttempts?: number;
}

export interface SchedulerConfig extends ActorConfig {
  readonly splitters: Readonly<Record<string, Splitter>>;
  readonly maxSubtasks: number;
  readonly splitTimeoutMs: number;
  readonly maxItemsPerMessage: number;
  readonly rescueIntervalMs: number;
  readonly agingMs: number;
  readonly prefetch: number;
  readonly leaseMs: number;
  readonly splitAttempts: number;
}

export function compileSchedulerOptions(o: SchedulerOptions): SchedulerConfig {
  for (const [type, fn] of Object.entries(o.splitters ?? {})) {
    if (typeof fn !== 'function') throw new Error(`splitter for "${type}" is not a function`);
  }
  const maxItems = positiveInt('maxItemsPerMessage', o.maxItemsPerMessage ?? MAX_SUBTASKS_PER_MESSAGE);
  return Object.freeze({
    ...compileActorConfig('scheduler', o.id ?? `sched-${nanoid(8)}`, o),
    splitters: Object.freeze({ ...(o.splitters ?? {}) }),
    maxSubtasks: positiveInt('maxSubtasks', o.maxSubtasks ?? DEFAULT_MAX_SUBTASKS),
    splitTimeoutMs: positiveInt('splitTimeoutMs', o.splitTimeoutMs ?? DEFAULT_SPLIT_TIMEOUT_MS),
    maxItemsPerMessage: maxItems,
    rescueIntervalMs: positiveInt('rescueIntervalMs', o.rescueIntervalMs ?? DEFAULT_RESCUE_INTERVAL_MS),
    agingMs: nonNegativeInt('agingMs', o.agingMs ?? DEFAULT_AGING_MS),
    prefetch: ratio('prefetch', o.prefetch ?? DEFAULT_PREFETCH),
    leaseMs: positiveInt('leaseMs', o.leaseMs ?? DEFAULT_LEASE_MS),
    splitAttempts: positiveInt('splitAttempts', o.splitAttempts ?? DEFAULT_SPLIT_ATTEMPTS),
  });
}

function ratio(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0 || v > 10)
    throw new Error(`${name} must be a number from 0 to 10, got ${v}`);
  return v;
}
