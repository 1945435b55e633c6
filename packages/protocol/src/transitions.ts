/**
 * Every next state of a task and of its subtasks is computed here, and nowhere else. The functions
 * are pure: they take a record (and what happened) and return the next record, or `undefined` when
 * nothing changes. Whoever writes a task record writes what these return, under compare-and-set on
 * the revision it read, so a lost race is re-read and re-decided.
 *
 * Invariants (held by the property tests in ./transitions.test.ts):
 * - a terminal state (succeeded, failed, cancelled) never changes;
 * - `subtasks.succeeded + subtasks.failed` equals the number of bits set in `subtasks.done`;
 * - an outcome counts once, whatever the duplicates and their order;
 * - an outcome from a delivery other than the one that owns the subtask (stale) never counts;
 * - an outcome of an attempt other than the subtask's current one never counts, and a retried
 *   subtask's attempt only goes up, never past the policy's `maxAttempts`.
 */
import { Bitmap, emptyBitmap } from './bitmap.js';
import { ErrorCode, type ErrorRecord } from './errors.js';
import { nextAttempt } from './retry.js';
import { DEFAULT_GROUP, DEFAULT_TENANT } from './names.js';
import { isTerminal } from './task-state.js';
import {
  WIRE_VERSION,
  type OutcomeItem,
  type RetryPolicy,
  type SubmitRequest,
  type SubtaskCounts,
  type TaskRecord,
} from './types.js';

/** Default priority of a task (0-9; issue-7 scheduling decides which end runs first). */
export const DEFAULT_PRIORITY = 5;

// ---- create -------------------------------------------------------------------------------------

export interface NewTask {
  id: string;
  request: SubmitRequest;
  /** Bytes of the encoded payload, for the record. */
  payloadBytes: number;
  /** Number of subtasks when known at submit (a built-in split of an inline payload). */
  total?: number;
  /** When it may run, when later than now: the task is `delayed` until then. */
  runAt?: number;
  /** The schedule that creates it, and which occurrence. */
  schedule?: { id: string; occurrence?: number };
  /** The submit's W3C trace context (`traceparent`). */
  trace?: string;
  now: number;
}

/** The record of a newly submitted task: `pending`, or `delayed` with its `runAt` when that is later. */
export function createTask(t: NewTask): TaskRecord {
  const req = t.request;
  const rec: TaskRecord = {
    v: WIRE_VERSION,
    id: t.id,
    type: req.type,
    group: req.group ?? DEFAULT_GROUP,
    priority: req.priority ?? DEFAULT_PRIORITY,
    tenant: req.tenant ?? DEFAULT_TENANT,
    split: req.split ?? { kind: 'none' },
    aggregate: req.aggregate ?? { kind: 'collect' },
    payloadBytes: t.payloadBytes,
    state: t.runAt !== undefined && t.runAt > t.now ? 'delayed' : 'pending',
    createdAt: t.now,
    updatedAt: t.now,
  };
  if (req.fairnessKey !== undefined) rec.fairnessKey = req.fairnessKey;
  if (req.idempotencyKey !== undefined) rec.idempotencyKey = req.idempotencyKey;
  if (req.timeoutMs !== undefined) rec.timeoutMs = req.timeoutMs;
  if (req.subtasksPerMessage !== undefined) rec.subtasksPerMessage = req.subtasksPerMessage;
  if (req.retry !== undefined) rec.retry = req.retry;
  if (req.fanIn !== undefined) rec.fanIn = req.fanIn;
  if (req.deadlineMs !== undefined) rec.deadline = Math.max(t.now, t.runAt ?? t.now) + req.deadlineMs;
  if (req.metadata !== undefined) rec.metadata = req.metadata;
  if (t.total !== undefined) rec.subtasks = newCounts(t.total);
  if (rec.state === 'delayed') rec.runAt = t.runAt as number;
  if (t.schedule !== undefined) rec.schedule = t.schedule;
  if (t.trace !== undefined) rec.trace = t.trace;
  return rec;
}

/** When a task asked to be delayed may run, from its request (undefined: at once). */
export function runAtOf(req: Pick<SubmitRequest, 'delayMs' | 'runAt'>, now: number): number | undefined {
  if (req.runAt !== undefined) return req.runAt;
  return req.delayMs !== undefined && req.delayMs > 0 ? now + req.delayMs : undefined;
}

// ---- due ----------------------------------------------------------------------------------------

/** A delayed task's time has come: it is `pending`, released like any other (a repeat changes nothing). */
export function dueTask(rec: TaskRecord, now: number): TaskRecord | undefined {
  if (rec.state !== 'delayed') return undefined;
  return { ...rec, state: 'pending', updatedAt: now };
}

function newCounts(total: number): SubtaskCounts {
  return { total, succeeded: 0, failed: 0, done: emptyBitmap(total) };
}

// ---- subtask ownership --------------------------------------------------------------------------

/** The attempt of a subtask that may report: 1 until a failure is retried. */
export function currentAttempt(rec: TaskRecord, index: number): number {
  return rec.subtasks?.attempts?.[String(index)] ?? 1;
}

/** The JetStream delivery that owns a subtask now: 1 unless a redelivery claimed it. */
export function owningDelivery(rec: TaskRecord, index: number): number {
  return rec.subtasks?.claims?.[String(index)] ?? 1;
}

/** Why a claim or an outcome does not count. */
export type Refusal =
  /** The task is terminal: its work is not wanted any more. */
  | 'stopped'
  /** The subtask has its outcome already. */
  | 'done'
  /** Another, later delivery owns the subtask now. */
  | 'stale'
  /** Not the subtask's current attempt. */
  | 'attempt'
  /** The index is not one of the task's subtasks, or the item's total differs from the task's. */
  | 'out-of-range';

export interface SubtaskRef {
  index: number;
  total: number;
  attempt: number;
  delivery: number;
}

/** Checks one claim or outcome against the record (with `done` and `total` as they stand now). */
function refusal(
  rec: TaskRecord,
  counts: SubtaskCounts | undefined,
  done: Bitmap | undefined,
  s: SubtaskRef,
): Refusal | undefined {
  if (isTerminal(rec.state)) return 'stopped';
  const total = counts?.total ?? s.total;
  if (s.total !== total || s.index >= total) return 'out-of-range';
  if (done?.has(s.index)) return 'done';
  if (s.attempt !== (counts?.attempts?.[String(s.index)] ?? 1)) return 'attempt';
  return undefined;
}

// ---- claim (a redelivered subtask, before it runs again) ----------------------------------------

export interface ClaimResult {
  next: TaskRecord | undefined;
  /** Per claim, in order: undefined when granted. */
  refused: (Refusal | undefined)[];
}

/**
 * A redelivery of a subtask's work message claims the subtask before it runs, so that the delivery
 * it replaces can no longer report (its outcome is stale). Claiming again with the same delivery is
 * granted without a change; an older delivery is refused.
 */
export function claimSubtasks(rec: TaskRecord, claims: readonly SubtaskRef[], now: number): ClaimResult {
  let counts = rec.subtasks;
  let changed = false;
  const refused = claims.map((c) => {
    const r = refusal(rec, counts, counts && Bitmap.decode(counts.done), c);
    if (r) return r;
    if (!counts) {
      counts = newCounts(c.total);
      changed = true;
    }
    const owner = counts.claims?.[String(c.index)] ?? 1;
    if (c.delivery < owner) return 'stale';
    if (c.delivery > owner) {
      counts = { ...counts, claims: { ...(counts.claims ?? {}), [String(c.index)]: c.delivery } };
      changed = true;
    }
    return undefined;
  });
  if (!changed || !counts) return { next: undefined, refused };
  return { next: { ...rec, subtasks: counts, updatedAt: now }, refused };
}

// ---- start --------------------------------------------------------------------------------------

/** A subtask has been running for a while: the task is `running` (unless it moved on already). */
export function startTask(rec: TaskRecord, startedAt: number, now: number): TaskRecord | undefined {
  if (rec.state !== 'pending' && rec.state !== 'delayed') return undefined;
  return { ...rec, state: 'running', startedAt: rec.startedAt ?? startedAt, updatedAt: now };
}

// ---- outcomes -----------------------------------------------------------------------------------

/** How a task whose every subtask succeeded ends, once its results are aggregated (see {@link finishTask}). */
export type Finish = { ok: true; hasResult: boolean } | { ok: false; error: ErrorRecord };

/** A failed subtask to try again: its next attempt, after `delayMs`, with the failure it follows. */
export interface Retry {
  item: OutcomeItem & { ok: false };
  attempt: number;
  delayMs: number;
}

export interface OutcomesResult {
  /** The next record, or undefined when nothing changes. */
  next: TaskRecord | undefined;
  /** Per item, in order: undefined when the outcome counts now; else why it does not. */
  refused: (Refusal | undefined)[];
  /**
   * Failures that counted as attempts to be followed by another (the record names the new attempt
   * as current; the caller sends it on). Their outcomes are not refused, and not in `done`.
   */
  retries: Retry[];
  /**
   * Failures that counted as their subtask's last (in `done`): those the task's fan-in survives, and
   * the one that failed it. The caller dead-letters them.
   */
  lastFailures: OutcomeItem[];
  /** The failed outcome that failed the task now, if one did. */
  failedBy: OutcomeItem | undefined;
  /** Every subtask has an outcome, all successful, and the task still needs its result to finish. */
  awaitsResult: boolean;
}

/**
 * Records subtask outcomes of one task. A failure that `policy` retries (retryable, attempts left,
 * its input carried along to run again) makes the next attempt the subtask's current one and goes in
 * `retries`; any other failure fails the task (fan-in never waits on a failed child). When the last
 * outcome arrives the task stays `running` with every bit set and `awaitsResult` true; the caller
 * aggregates (from the items in hand when {@link resultsInHand} says they are all there, else from
 * the stored results) and ends it with {@link finishTask}, in the same write or a later one.
 * `random` in [0, 1) per retry: the jitter of its backoff.
 */
export function recordOutcomes(
  rec: TaskRecord,
  items: readonly OutcomeItem[],
  now: number,
  policy?: RetryPolicy,
  random: () => number = Math.random,
): OutcomesResult {
  if (isTerminal(rec.state)) {
    return {
      next: undefined,
      refused: items.map(() => 'stopped'),
      retries: [],
      lastFailures: [],
      failedBy: undefined,
      awaitsResult: false,
    };
  }
  let counts = rec.subtasks;
  let done = counts ? Bitmap.decode(counts.done) : undefined;
  let succeeded = counts?.succeeded ?? 0;
  let failed = counts?.failed ?? 0;
  let failedBy: OutcomeItem | undefined;
  let firstStart: number | undefined;
  const retries: Retry[] = [];
  const lastFailures: OutcomeItem[] = [];
  const refused = items.map((o) => {
    // on the counts as they stand: a retry decided earlier in this batch makes its attempt current
    let r = refusal(rec, counts, done, o);
    if (!r && o.delivery !== (counts?.claims?.[String(o.index)] ?? 1)) r = 'stale';
    if (r) return r;
    if (!counts || !done) {
      counts = newCounts(o.total);
      done = Bitmap.decode(counts.done);
    }
    const again =
      !o.ok && policy && 'input' in o ? nextAttempt(policy, o.attempt, o.error, random()) : undefined;
    if (again && !o.ok) {
      // the next attempt owns the subtask now: its first delivery, the old attempt's claims gone
      const { [String(o.index)]: _gone, ...claims } = counts.claims ?? {};
      counts = {
        ...counts,
        attempts: { ...(counts.attempts ?? {}), [String(o.index)]: again.attempt },
        ...(Object.keys(claims).length > 0 ? { claims } : {}),
      };
      if (Object.keys(claims).length === 0) delete counts.claims;
      retries.push({ item: o, ...again });
      firstStart = Math.min(firstStart ?? o.startedAt, o.startedAt);
      return undefined;
    }
    done.set(o.index);
    if (o.ok) succeeded++;
    else {
      failed++;
      lastFailures.push(o);
      // one more than the fan-in survives fails the task
      if (!toleratesFailures(rec.fanIn, failed, counts.total)) failedBy ??= o;
    }
    firstStart = Math.min(firstStart ?? o.startedAt, o.startedAt);
    return undefined;
  });
  if (!counts || !done || firstStart === undefined) {
    return { next: undefined, refused, retries, lastFailures, failedBy: undefined, awaitsResult: false };
  }
  const next: TaskRecord = {
    ...rec,
    subtasks: { ...counts, done: done.encode(), succeeded, failed },
    startedAt: rec.startedAt ?? firstStart,
    updatedAt: now,
  };
  const allDone = succeeded + failed === counts.total;
  if (failedBy && !failedBy.ok) {
    return {
      next: failTask(next, subtaskError(failedBy.index, failedBy.error), now),
      refused,
      retries: [],
      lastFailures,
      failedBy,
      awaitsResult: false,
    };
  }
  next.state = 'running';
  return { next, refused, retries, lastFailures, failedBy, awaitsResult: allDone };
}

/** True when a task with `fanIn` survives `failed` failed subtasks of `total` (none without a fan-in). */
export function toleratesFailures(fanIn: TaskRecord['fanIn'], failed: number, total: number): boolean {
  if (failed === 0) return true;
  if (!fanIn) return false;
  if (fanIn.maxFailures === undefined && fanIn.maxFailureRatio === undefined) return false;
  if (fanIn.maxFailures !== undefined && failed > fanIn.maxFailures) return false;
  return fanIn.maxFailureRatio === undefined || failed <= fanIn.maxFailureRatio * total;
}

/** True when every subtask has its outcome and the task only waits for its result to end it. */
export function awaitsEnd(rec: TaskRecord): boolean {
  const c = rec.subtasks;
  if (isTerminal(rec.state) || !c) return false;
  return c.succeeded + c.failed === c.total && toleratesFailures(rec.fanIn, c.failed, c.total);
}

/**
 * True when `o`, a failure refused as of another attempt, is the one that made the subtask's current
 * attempt: the record names its next attempt and the subtask has no outcome yet. A redelivery of
 * such an outcome (the coordinator died after the record write) sends the retry on again, so that a
 * crash between the write and the send cannot leave the subtask waiting for an attempt never sent.
 */
export function retryOwed(rec: TaskRecord, o: OutcomeItem): boolean {
  if (o.ok || isTerminal(rec.state) || !rec.subtasks) return false;
  if (currentAttempt(rec, o.index) !== o.attempt + 1) return false;
  return !Bitmap.decode(rec.subtasks.done).has(o.index);
}

/**
 * True when the outcomes that just completed `before` (a record whose {@link recordOutcomes} gave
 * `awaitsResult`) carried every result the task keeps: none had been recorded before them, or the
 * task keeps no results. The caller may then aggregate the items in hand instead of reading the
 * stored results back.
 */
export function resultsInHand(before: TaskRecord): boolean {
  if (before.aggregate.kind === 'none') return true;
  return (before.subtasks?.succeeded ?? 0) + (before.subtasks?.failed ?? 0) === 0;
}

/** The task's error when subtask `index` failed with `error`. */
export function subtaskError(index: number, error: ErrorRecord): ErrorRecord {
  return { ...error, details: { subtask: index, cause: error.details ?? null } };
}

// ---- ending -------------------------------------------------------------------------------------

/**
 * Ends a task whose every subtask has its outcome (all succeeded, or failed within its fan-in), once
 * its results are aggregated (or their aggregation failed).
 */
export function finishTask(rec: TaskRecord, finish: Finish, now: number): TaskRecord | undefined {
  if (!awaitsEnd(rec)) return undefined;
  return end(rec, finish, now);
}

function end(rec: TaskRecord, finish: Finish, now: number): TaskRecord {
  if (!finish.ok) return { ...rec, state: 'failed', error: finish.error, finishedAt: now, updatedAt: now };
  const next: TaskRecord = { ...rec, state: 'succeeded', finishedAt: now, updatedAt: now };
  next.hasResult = finish.hasResult;
  return next;
}

/** Fails a task that is not terminal yet (split failed, gave up after max deliveries, ...). */
export function failTask(rec: TaskRecord, error: ErrorRecord, now: number): TaskRecord | undefined {
  if (isTerminal(rec.state)) return undefined;
  return { ...rec, state: 'failed', error, finishedAt: now, updatedAt: now };
}

/** Cancels a task that is not terminal yet; undefined when it is (the caller says why). */
export function cancelTask(rec: TaskRecord, reason: string | undefined, now: number): TaskRecord | undefined {
  if (isTerminal(rec.state)) return undefined;
  const next: TaskRecord = {
    ...rec,
    state: 'cancelled',
    finishedAt: now,
    updatedAt: now,
    error: {
      code: ErrorCode.Cancelled,
      message: reason ? `cancelled: ${reason}` : 'cancelled',
      retryable: false,
    },
  };
  if (reason !== undefined) next.cancelReason = reason;
  return next;
}
