/** Scheduler options: user options -> defaults -> validated, frozen config. */
import { DEFAULT_MAX_SUBTASKS, MAX_SUBTASKS_PER_MESSAGE } from '@jetsched/protocol';
import { compileActorConfig, positiveInt, type ActorConfig, type ActorOptions } from '@jetsched/runtime';
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
/** Hand-off messages processed at once. @defaultValue 64 */
export const DEFAULT_HANDOFF_BATCH = 64;
/** How often the scheduler looks for work left on consumers of executors that are gone. @defaultValue 5 s */
export const DEFAULT_RESCUE_INTERVAL_MS = 5_000;
/**
 * How often parked work is taken back anyway while some waits and some executor is live (besides
 * whenever a type becomes served that was not). @defaultValue 1 minute
 */
export const DEFAULT_PARKED_RECHECK_MS = 60_000;

export interface SchedulerOptions extends ActorOptions {
  splitters?: Record<string, Splitter>;
  /** @defaultValue {@link DEFAULT_MAX_SUBTASKS} */
  maxSubtasks?: number;
  /** @defaultValue {@link DEFAULT_SPLIT_TIMEOUT_MS} */
  splitTimeoutMs?: number;
  /** Most subtasks one work message carries, whatever the backlog. @defaultValue 1,000 */
  maxItemsPerMessage?: number;
  /** @defaultValue {@link DEFAULT_HANDOFF_BATCH} */
  handoffBatch?: number;
  /** @defaultValue {@link DEFAULT_RESCUE_INTERVAL_MS} */
  rescueIntervalMs?: number;
  /** @defaultValue {@link DEFAULT_PARKED_RECHECK_MS} */
  parkedRecheckMs?: number;
}

export interface SchedulerConfig extends ActorConfig {
  readonly splitters: Readonly<Record<string, Splitter>>;
  readonly maxSubtasks: number;
  readonly splitTimeoutMs: number;
  readonly maxItemsPerMessage: number;
  readonly handoffBatch: number;
  readonly rescueIntervalMs: number;
  readonly parkedRecheckMs: number;
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
    handoffBatch: positiveInt('handoffBatch', o.handoffBatch ?? DEFAULT_HANDOFF_BATCH),
    rescueIntervalMs: positiveInt('rescueIntervalMs', o.rescueIntervalMs ?? DEFAULT_RESCUE_INTERVAL_MS),
    parkedRecheckMs: positiveInt('parkedRecheckMs', o.parkedRecheckMs ?? DEFAULT_PARKED_RECHECK_MS),
  });
}
