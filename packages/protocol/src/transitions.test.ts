import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bitmap } from './bitmap.js';
import { canTransition, isTerminal } from './task-state.js';
import {
  cancelTask,
  claimSubtasks,
  resultsInHand,
  createTask,
  dueTask,
  failTask,
  finishTask,
  owningDelivery,
  recordOutcomes,
  retryOwed,
  runAtOf,
  startTask,
} from './transitions.js';
import {
  resent,
  subtaskDelivery,
  type OutcomeItem,
  type RetryPolicy,
  type TaskRecord,
  type WorkItem,
} from './types.js';
import { currentAttempt } from './transitions.js';

const NOW = 1_795_000_000_000;
const ERR = { code: 'HANDLER_ERROR', message: 'boom', retryable: true };

function task(total: number | undefined, aggregate: 'collect' | 'none' = 'collect'): TaskRecord {
  return createTask({
    id: 'T',
    request: { type: 'work', aggregate: { kind: aggregate }, split: { kind: 'custom' } },
    payloadBytes: 0,
    ...(total === undefined ? {} : { total }),
    now: NOW,
  });
}

function outcome(index: number, total: number, ok = true, delivery = 1): OutcomeItem {
  const base = {
    taskId: 'T',
    index,
    total,
    attempt: 1,
    delivery,
    startedAt: NOW + index,
    finishedAt: NOW + 10,
  };
  return ok ? { ...base, ok: true, result: index } : { ...base, ok: false, error: ERR };
}

/** Ends a task whose last outcomes carried every result, as the coordinator does. */
function finishInHand(rec: TaskRecord, now: number): TaskRecord | undefined {
  return finishTask(rec, { ok: true, hasResult: true }, now);
}

function bitsSet(rec: TaskRecord): number {
  return rec.subtasks ? Bitmap.decode(rec.subtasks.done).count() : 0;
}

describe('transitions, by example', () => {
  it('creates a pending record with known subtask counts', () => {
    const t = task(3);
    expect(t).toMatchObject({ state: 'pending', group: 'default', tenant: 'default', priority: 5 });
    expect(t.subtasks).toMatchObject({ total: 3, succeeded: 0, failed: 0 });
    expect(task(undefined).subtasks).toBeUndefined();
  });

  it('records a task asked to run later as delayed until its time, and pending when due', () => {
    const request = { type: 'work' };
    const runAt = runAtOf({ delayMs: 5_000 }, NOW) ?? 0;
    expect(runAt).toBe(NOW + 5_000);
    expect(runAtOf({ runAt: NOW + 1 }, NOW)).toBe(NOW + 1);
    expect(runAtOf({ delayMs: 0 }, NOW)).toBeUndefined();
    const delayed = createTask({ id: 'T', request, payloadBytes: 0, runAt, now: NOW });
    expect(delayed).toMatchObject({ state: 'delayed', runAt: NOW + 5_000 });
    // a time already past is no delay
    const past = createTask({ id: 'T', request, payloadBytes: 0, runAt: NOW - 1, now: NOW });
    expect(past.state).toBe('pending');
    expect(past.runAt).toBeUndefined();
    const due = dueTask(delayed, NOW + 5_000);
    expect(due).toMatchObject({ state: 'pending', runAt: NOW + 5_000, updatedAt: NOW + 5_000 });
    // a repeat of the due notice, or one of a cancelled task, changes nothing
    expect(dueTask(due!, NOW + 5_001)).toBeUndefined();
    expect(dueTask(cancelTask(delayed, 'no', NOW)!, NOW + 5_000)).toBeUndefined();
    // work reported at the due moment may reach the record before it is marked pending
    expect(startTask(delayed, NOW + 5_000, NOW + 5_000)?.state).toBe('running');
  });

  it('learns the total from the first outcome of a custom split', () => {
    const r = recordOutcomes(task(undefined), [outcome(1, 4)], NOW + 1);
    expect(r.refused).toEqual([undefined]);
    expect(r.next).toMatchObject({ state: 'running', subtasks: { total: 4, succeeded: 1 } });
    // an item that disagrees about the total is refused
    const r2 = recordOutcomes(r.next!, [outcome(2, 5)], NOW + 2);
    expect(r2.refused).toEqual(['out-of-range']);
  });

  it('finishes in the same step when the last outcome arrives with the result in hand', () => {
    const t = task(2);
    expect(recordOutcomes(t, [outcome(0, 2)], NOW + 5).awaitsResult).toBe(false);
    const r = recordOutcomes(t, [outcome(0, 2), outcome(1, 2)], NOW + 5);
    expect(r.awaitsResult).toBe(true);
    expect(resultsInHand(t)).toBe(true);
    expect(finishTask(r.next!, { ok: true, hasResult: true }, NOW + 5)).toMatchObject({
      state: 'succeeded',
      hasResult: true,
      finishedAt: NOW + 5,
    });
  });

  it('awaits the stored results when outcomes arrived in several batches', () => {
    const t = task(2);
    const first = recordOutcomes(t, [outcome(0, 2)], NOW + 1).next!;
    expect(resultsInHand(first)).toBe(false);
    const r = recordOutcomes(first, [outcome(1, 2)], NOW + 2);
    expect(r.awaitsResult).toBe(true);
    expect(r.next?.state).toBe('running');
    expect(finishTask(r.next!, { ok: true, hasResult: true }, NOW + 3)?.state).toBe('succeeded');
    // a task that keeps no result finishes from any batch
    const none = recordOutcomes(task(2, 'none'), [outcome(0, 2)], NOW + 1).next!;
    expect(resultsInHand(none)).toBe(true);
  });

  it('fails the task on the first failed outcome, naming the subtask', () => {
    const r = recordOutcomes(task(3), [outcome(0, 3), outcome(2, 3, false)], NOW + 1);
    expect(r.failedBy?.index).toBe(2);
    expect(r.next).toMatchObject({
      state: 'failed',
      error: { code: 'HANDLER_ERROR', details: { subtask: 2 } },
    });
  });

  it('a subtask sent again in a new message outranks what the old message claimed', () => {
    const t = task(1);
    const item: WorkItem = { taskId: t.id, type: 't', index: 0, total: 1, attempt: 1, input: null };
    const ref = (delivery: number) => ({ index: 0, total: 1, attempt: 1, delivery });
    // the first message's redelivery claims the subtask...
    const first = claimSubtasks(t, [ref(subtaskDelivery(item, 2))], NOW).next!;
    // ...then the subtask is given back and goes out in a new message, delivered for the first time
    const again = subtaskDelivery(resent(item), 1);
    expect(again).toBeGreaterThan(2);
    const second = claimSubtasks(first, [ref(again)], NOW + 1);
    expect(second.refused).toEqual([undefined]);
    // the new carrier's outcome counts; the old carrier's redelivery is stale now
    expect(recordOutcomes(second.next!, [outcome(0, 1, true, 2)], NOW + 2).refused).toEqual(['stale']);
    expect(recordOutcomes(second.next!, [outcome(0, 1, true, again)], NOW + 2).refused).toEqual([undefined]);
  });

  it('lets a redelivery claim a subtask, after which the old delivery is stale', () => {
    const t = task(2);
    const c = claimSubtasks(t, [{ index: 1, total: 2, attempt: 1, delivery: 2 }], NOW + 1);
    expect(c.refused).toEqual([undefined]);
    expect(owningDelivery(c.next!, 1)).toBe(2);
    expect(owningDelivery(c.next!, 0)).toBe(1);
    // the same claim again changes nothing; an older one is refused
    expect(
      claimSubtasks(c.next!, [{ index: 1, total: 2, attempt: 1, delivery: 2 }], NOW).next,
    ).toBeUndefined();
    expect(claimSubtasks(c.next!, [{ index: 1, total: 2, attempt: 1, delivery: 1 }], NOW).refused).toEqual([
      'stale',
    ]);
    const r = recordOutcomes(c.next!, [outcome(1, 2, true, 1), outcome(1, 2, true, 2)], NOW + 2);
    expect(r.refused).toEqual(['stale', undefined]);
    // a claim of a subtask that has its outcome already is refused: it must not run again
    expect(claimSubtasks(r.next!, [{ index: 1, total: 2, attempt: 1, delivery: 3 }], NOW).refused).toEqual([
      'done',
    ]);
  });

  it('starts, cancels and fails only tasks that are not terminal', () => {
    const running = startTask(task(1), NOW + 1, NOW + 2)!;
    expect(running).toMatchObject({ state: 'running', startedAt: NOW + 1 });
    expect(startTask(running, NOW, NOW)).toBeUndefined();
    const cancelled = cancelTask(running, 'changed my mind', NOW + 3)!;
    expect(cancelled).toMatchObject({
      state: 'cancelled',
      cancelReason: 'changed my mind',
      error: { code: 'CANCELLED' },
    });
    expect(cancelTask(cancelled, undefined, NOW)).toBeUndefined();
    expect(failTask(cancelled, ERR, NOW)).toBeUndefined();
    expect(recordOutcomes(cancelled, [outcome(0, 1)], NOW).refused).toEqual(['stopped']);
  });

  it('keeps fields it does not know when it changes a record', () => {
    const t = { ...task(1), fromTheFuture: { lane: 3 } } as TaskRecord;
    const r = finishInHand(recordOutcomes(t, [outcome(0, 1)], NOW).next!, NOW);
    expect(r?.state).toBe('succeeded');
    expect((r as unknown as { fromTheFuture: unknown }).fromTheFuture).toEqual({ lane: 3 });
  });
});

/** One thing that can happen to a task, as the coordinator sees it (duplicates and all). */
type Event =
  | { kind: 'outcome'; index: number; ok: boolean; delivery: number }
  | { kind: 'claim'; index: number; delivery: number }
  | { kind: 'start' }
  | { kind: 'cancel' }
  | { kind: 'fail' }
  | { kind: 'finish' };

function eventArb(total: number): fc.Arbitrary<Event> {
  const index = fc.integer({ min: 0, max: total - 1 });
  const delivery = fc.integer({ min: 1, max: 3 });
  return fc.oneof(
    {
      weight: 10,
      arbitrary: fc.record({ kind: fc.constant('outcome' as const), index, ok: fc.boolean(), delivery }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('claim' as const), index, delivery }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'start' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'cancel' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'fail' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'finish' as const }) },
  );
}

/** Applies one event the way the coordinator does; returns the next record and what counted. */
function apply(
  rec: TaskRecord,
  e: Event,
  total: number,
  now: number,
): { next: TaskRecord; counted: number[] } {
  switch (e.kind) {
    case 'outcome': {
      const item = outcome(e.index, total, e.ok, e.delivery);
      const r = recordOutcomes(rec, [item], now);
      const next = r.awaitsResult && resultsInHand(rec) ? finishInHand(r.next!, now) : r.next;
      return { next: next ?? rec, counted: r.refused[0] === undefined ? [e.index] : [] };
    }
    case 'claim':
      return {
        next:
          claimSubtasks(rec, [{ index: e.index, total, attempt: 1, delivery: e.delivery }], now).next ?? rec,
        counted: [],
      };
    case 'start':
      return { next: startTask(rec, now, now) ?? rec, counted: [] };
    case 'cancel':
      return { next: cancelTask(rec, 'test', now) ?? rec, counted: [] };
    case 'fail':
      return { next: failTask(rec, ERR, now) ?? rec, counted: [] };
    case 'finish':
      return { next: finishTask(rec, { ok: true, hasResult: true }, now) ?? rec, counted: [] };
  }
}

describe('retries', () => {
  const policy: RetryPolicy = { maxAttempts: 3, backoff: { kind: 'fixed', delayMs: 100 } };
  const failure = (index: number, total: number, attempt: number, retryable = true): OutcomeItem => ({
    taskId: 'T',
    index,
    total,
    attempt,
    delivery: 1,
    startedAt: NOW,
    finishedAt: NOW + 1,
    ok: false,
    error: { ...ERR, retryable },
    input: index,
  });

  it('makes the next attempt current on a retryable failure, up to maxAttempts, then fails the task', () => {
    let rec = task(2);
    for (const attempt of [1, 2]) {
      const r = recordOutcomes(rec, [failure(1, 2, attempt)], NOW, policy);
      expect(r.refused).toEqual([undefined]);
      expect(r.retries).toMatchObject([{ attempt: attempt + 1, delayMs: 100 }]);
      rec = r.next!;
      expect(rec.state).toBe('running');
      expect(currentAttempt(rec, 1)).toBe(attempt + 1);
      expect(rec.subtasks).toMatchObject({ succeeded: 0, failed: 0 });
      // the old attempt's outcome, delivered again, no longer counts, and says the retry is owed
      const again = recordOutcomes(rec, [failure(1, 2, attempt)], NOW, policy);
      expect(again.refused).toEqual(['attempt']);
      expect(retryOwed(rec, failure(1, 2, attempt))).toBe(true);
    }
    const last = recordOutcomes(rec, [failure(1, 2, 3)], NOW, policy);
    expect(last.retries).toEqual([]);
    expect(last.next).toMatchObject({ state: 'failed', subtasks: { failed: 1 } });
  });

  it('fails at once on a failure that is not retryable, without a policy, or without its input', () => {
    expect(recordOutcomes(task(1), [failure(0, 1, 1, false)], NOW, policy).next?.state).toBe('failed');
    expect(recordOutcomes(task(1), [failure(0, 1, 1)], NOW).next?.state).toBe('failed');
    const { input: _i, ...bare } = failure(0, 1, 1) as OutcomeItem & { input?: unknown };
    expect(recordOutcomes(task(1), [bare], NOW, policy).next?.state).toBe('failed');
  });

  it("drops the old attempt's claims: the new attempt starts at its first delivery", () => {
    const claimed = claimSubtasks(task(1), [{ index: 0, total: 1, attempt: 1, delivery: 3 }], NOW).next!;
    const r = recordOutcomes(claimed, [{ ...failure(0, 1, 1), delivery: 3 }], NOW, policy);
    expect(r.next?.subtasks?.claims).toBeUndefined();
    const ok = { ...outcome(0, 1), attempt: 2 };
    expect(recordOutcomes(r.next!, [ok], NOW, policy).next?.subtasks).toMatchObject({ succeeded: 1 });
  });
});

describe('fan-in with partial results', () => {
  const failure = (index: number, total: number): OutcomeItem => ({
    taskId: 'T',
    index,
    total,
    attempt: 1,
    delivery: 1,
    startedAt: NOW,
    finishedAt: NOW,
    ok: false,
    error: { ...ERR, retryable: false },
  });

  it('survives up to maxFailures failed subtasks and succeeds with partial results; one more fails it', () => {
    const rec = { ...task(4), fanIn: { maxFailures: 1 } };
    const one = recordOutcomes(rec, [failure(0, 4), outcome(1, 4), outcome(2, 4)], NOW);
    expect(one.next).toMatchObject({ state: 'running', subtasks: { succeeded: 2, failed: 1 } });
    expect(one.lastFailures).toHaveLength(1);
    const last = recordOutcomes(one.next!, [outcome(3, 4)], NOW);
    expect(last.awaitsResult).toBe(true);
    expect(finishTask(last.next!, { ok: true, hasResult: true }, NOW)?.state).toBe('succeeded');
    const two = recordOutcomes(one.next!, [failure(3, 4)], NOW);
    expect(two.next?.state).toBe('failed');
    expect(two.failedBy?.index).toBe(3);
  });

  it('bounds the share of failed subtasks with maxFailureRatio, and both bounds when both are given', () => {
    const ratio = { ...task(10), fanIn: { maxFailureRatio: 0.2 } };
    const r = recordOutcomes(ratio, [failure(0, 10), failure(1, 10)], NOW);
    expect(r.next?.state).toBe('running');
    expect(recordOutcomes(r.next!, [failure(2, 10)], NOW).next?.state).toBe('failed');
    const both = { ...task(10), fanIn: { maxFailures: 1, maxFailureRatio: 0.5 } };
    expect(recordOutcomes(both, [failure(0, 10), failure(1, 10)], NOW).next?.state).toBe('failed');
    // without a fan-in the first failure fails the task, as before
    expect(recordOutcomes(task(10), [failure(0, 10)], NOW).next?.state).toBe('failed');
  });
});

describe('transitions, by property', () => {
  const scenario = fc
    .integer({ min: 1, max: 12 })
    .chain((total) =>
      fc.tuple(fc.constant(total), fc.boolean(), fc.array(eventArb(total), { maxLength: 60 })),
    );

  it('terminal states are final, counts equal the set bits, an outcome counts once, stale outcomes never count', () => {
    fc.assert(
      fc.property(scenario, ([total, knownTotal, events]) => {
        let rec = task(knownTotal ? total : undefined);
        const countedTimes = new Map<number, number>();
        const owner = new Map<number, number>();
        let now = NOW;
        for (const e of events) {
          const before = rec;
          const expectedOwner = owner.get(e.kind === 'outcome' ? e.index : -1) ?? 1;
          const { next, counted } = apply(rec, e, total, ++now);
          rec = next;
          // terminal states never change; every move is one the state machine allows
          if (isTerminal(before.state)) expect(rec).toBe(before);
          if (rec.state !== before.state) expect(canTransition(before.state, rec.state)).toBe(true);
          // counts equal the bits set, and never exceed the total
          const c = rec.subtasks;
          expect((c?.succeeded ?? 0) + (c?.failed ?? 0)).toBe(bitsSet(rec));
          if (c) expect(c.succeeded + c.failed).toBeLessThanOrEqual(c.total);
          // an outcome counts once, and only from the delivery that owns its subtask
          for (const i of counted) {
            countedTimes.set(i, (countedTimes.get(i) ?? 0) + 1);
            expect(countedTimes.get(i)).toBe(1);
            if (e.kind === 'outcome') expect(e.delivery).toBe(expectedOwner);
          }
          if (e.kind === 'claim' && !isTerminal(before.state) && rec !== before) {
            owner.set(e.index, Math.max(owner.get(e.index) ?? 1, e.delivery));
          }
          // a succeeded task has every subtask succeeded; a failed one by outcome has a failure
          if (rec.state === 'succeeded') expect(c).toMatchObject({ succeeded: c?.total, failed: 0 });
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with retries: attempts only go up and never past maxAttempts, an attempt counts once', () => {
    const policy: RetryPolicy = { maxAttempts: 3 };
    const ev = (total: number) =>
      fc.record({
        index: fc.integer({ min: 0, max: total - 1 }),
        attempt: fc.integer({ min: 1, max: 4 }),
        ok: fc.boolean(),
        retryable: fc.boolean(),
      });
    const run = fc
      .integer({ min: 1, max: 6 })
      .chain((total) => fc.tuple(fc.constant(total), fc.array(ev(total), { maxLength: 80 })));
    fc.assert(
      fc.property(run, ([total, events]) => {
        let rec = task(total);
        const retried = new Set<string>();
        for (const e of events) {
          const before = rec;
          const base = {
            taskId: 'T',
            index: e.index,
            total,
            attempt: e.attempt,
            delivery: 1,
            startedAt: NOW,
            finishedAt: NOW,
          };
          const o: OutcomeItem = e.ok
            ? { ...base, ok: true, result: 1 }
            : { ...base, ok: false, error: { ...ERR, retryable: e.retryable }, input: 1 };
          const r = recordOutcomes(rec, [o], NOW, policy);
          rec = r.next ?? rec;
          if (isTerminal(before.state)) expect(rec).toBe(before);
          for (let i = 0; i < total; i++) {
            expect(currentAttempt(rec, i)).toBeGreaterThanOrEqual(currentAttempt(before, i));
            expect(currentAttempt(rec, i)).toBeLessThanOrEqual(policy.maxAttempts);
          }
          // a failure is retried once per attempt, and only from the subtask's current attempt
          for (const t of r.retries) {
            const key = `${t.item.index}.${t.item.attempt}`;
            expect(retried.has(key)).toBe(false);
            retried.add(key);
            expect(t.item.attempt).toBe(currentAttempt(before, t.item.index));
          }
          const c = rec.subtasks;
          expect((c?.succeeded ?? 0) + (c?.failed ?? 0)).toBe(bitsSet(rec));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('successful outcomes in any order, with duplicates, end the task the same way', () => {
    const run = fc
      .integer({ min: 1, max: 10 })
      .chain((total) =>
        fc.tuple(
          fc.constant(total),
          fc.shuffledSubarray([...Array(total * 2).keys()], { minLength: total * 2, maxLength: total * 2 }),
        ),
      );
    fc.assert(
      fc.property(run, ([total, order]) => {
        let rec = task(total);
        for (const k of order) {
          const item = outcome(k % total, total);
          const r = recordOutcomes(rec, [item], NOW);
          rec = (r.awaitsResult && resultsInHand(rec) ? finishInHand(r.next!, NOW) : r.next) ?? rec;
        }
        expect(rec.subtasks).toMatchObject({ total, succeeded: total, failed: 0 });
        // delivered one by one, only a one-subtask task has every result in hand at the end
        if (total === 1) expect(rec.state).toBe('succeeded');
        else {
          expect(rec.state).toBe('running');
          expect(finishTask(rec, { ok: true, hasResult: true }, NOW)?.state).toBe('succeeded');
        }
      }),
      { numRuns: 300 },
    );
  });
});
