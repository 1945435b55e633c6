/**
 * Whether a failed subtask is tried again, and when. Pure: the coordinator that records the failure
 * asks {@link retryPolicyOf} which policy applies and {@link nextAttempt} what follows; the record
 * change itself is ./transitions.ts' (`recordOutcomes`).
 */
import type { ErrorRecord } from './errors.js';
import type { GroupSettings, RetryPolicy, TaskRecord } from './types.js';

/** Without a policy of the task's own or its group's: one attempt, as BullMQ's `attempts: 1`. */
export const NO_RETRY: RetryPolicy = { maxAttempts: 1 };

/** The group's settings key for the policy of every type without one of its own. */
export const ANY_TYPE = '*';

/** The policy of a task: its own, else its group's for its type, else the group's for any type. */
export function retryPolicyOf(
  rec: Pick<TaskRecord, 'type' | 'retry'>,
  settings: Pick<GroupSettings, 'retry'> | undefined,
): RetryPolicy {
  return rec.retry ?? settings?.retry?.[rec.type] ?? settings?.retry?.[ANY_TYPE] ?? NO_RETRY;
}

/**
 * After attempt `attempt` failed with `error`: the attempt that follows and how long to wait before
 * it, or undefined when none does (not retryable, or the attempts are used up). `random` in [0, 1)
 * takes the jitter's share off the wait.
 */
export function nextAttempt(
  policy: RetryPolicy,
  attempt: number,
  error: Pick<ErrorRecord, 'retryable' | 'retryAfterMs'>,
  random: number,
): { attempt: number; delayMs: number } | undefined {
  if (!error.retryable || attempt >= policy.maxAttempts) return undefined;
  if (error.retryAfterMs !== undefined) return { attempt: attempt + 1, delayMs: error.retryAfterMs };
  return { attempt: attempt + 1, delayMs: backoffMs(policy, attempt, random) };
}

/** The wait after failed attempt `attempt` (1 = the first) under the policy's backoff. */
export function backoffMs(policy: RetryPolicy, attempt: number, random: number): number {
  const b = policy.backoff;
  if (!b) return 0;
  const base = b.kind === 'fixed' ? b.delayMs : b.delayMs * 2 ** Math.min(attempt - 1, 52);
  const capped = Math.min(base, b.maxDelayMs ?? Number.MAX_SAFE_INTEGER);
  const jitter = Math.min(1, Math.max(0, b.jitter ?? 0));
  return Math.round(capped * (1 - jitter * Math.min(1, Math.max(0, random))));
}
