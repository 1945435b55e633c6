import { describe, expect, it } from 'vitest';
import { backoffMs, nextAttempt, NO_RETRY, retryPolicyOf } from './retry.js';
import { NonRetryableError, RetryAfterError, toErrorRecord } from './errors.js';

const ERR = { retryable: true };

describe('retry policy', () => {
  it("takes the task's own policy, else the group's for its type, else the group's for any type", () => {
    const own = { maxAttempts: 5 };
    const byType = { maxAttempts: 4 };
    const any = { maxAttempts: 2 };
    expect(retryPolicyOf({ type: 'a', retry: own }, { retry: { a: byType, '*': any } })).toBe(own);
    expect(retryPolicyOf({ type: 'a' }, { retry: { a: byType, '*': any } })).toBe(byType);
    expect(retryPolicyOf({ type: 'b' }, { retry: { a: byType, '*': any } })).toBe(any);
    expect(retryPolicyOf({ type: 'b' }, undefined)).toBe(NO_RETRY);
  });

  it('waits fixed or doubling delays, capped, with jitter taking up to its share off', () => {
    const fixed = { maxAttempts: 9, backoff: { kind: 'fixed' as const, delayMs: 500 } };
    expect([1, 2, 3].map((a) => backoffMs(fixed, a, 0.5))).toEqual([500, 500, 500]);
    const exp = {
      maxAttempts: 9,
      backoff: { kind: 'exponential' as const, delayMs: 100, maxDelayMs: 1_000 },
    };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(exp, a, 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
    const jittered = { maxAttempts: 9, backoff: { kind: 'fixed' as const, delayMs: 1_000, jitter: 0.2 } };
    expect(backoffMs(jittered, 1, 0)).toBe(1_000);
    expect(backoffMs(jittered, 1, 0.999)).toBeGreaterThanOrEqual(800);
    expect(backoffMs(jittered, 1, 0.5)).toBe(900);
    expect(backoffMs({ maxAttempts: 3 }, 1, 0.5)).toBe(0);
    // a huge attempt number does not overflow into Infinity or NaN
    expect(backoffMs(exp, 5_000, 0)).toBe(1_000);
  });

  it('follows a failure with the next attempt only while retryable and attempts are left', () => {
    const p = { maxAttempts: 3, backoff: { kind: 'fixed' as const, delayMs: 10 } };
    expect(nextAttempt(p, 1, ERR, 0)).toEqual({ attempt: 2, delayMs: 10 });
    expect(nextAttempt(p, 2, ERR, 0)).toEqual({ attempt: 3, delayMs: 10 });
    expect(nextAttempt(p, 3, ERR, 0)).toBeUndefined();
    expect(nextAttempt(p, 1, { retryable: false }, 0)).toBeUndefined();
    expect(nextAttempt(NO_RETRY, 1, ERR, 0)).toBeUndefined();
  });

  it("waits what the handler asked for instead of the backoff, from its error's record", () => {
    const p = { maxAttempts: 3, backoff: { kind: 'fixed' as const, delayMs: 10 } };
    const rec = toErrorRecord(new RetryAfterError('upstream says later', 5_000));
    expect(rec).toMatchObject({ retryable: true, retryAfterMs: 5_000 });
    expect(nextAttempt(p, 1, rec, 0)).toEqual({ attempt: 2, delayMs: 5_000 });
    // an error shaped like ours from another copy of the package says the same
    const foreign = Object.assign(new Error('later'), { code: 'SLOW', retryable: true, retryAfterMs: 700 });
    expect(nextAttempt(p, 1, toErrorRecord(foreign), 0)).toEqual({ attempt: 2, delayMs: 700 });
    expect(toErrorRecord(new NonRetryableError('no')).retryable).toBe(false);
  });

  it("keeps a handler error's stack only when asked to", () => {
    const err = new Error('boom');
    expect(toErrorRecord(err).stack).toBeUndefined();
    expect(toErrorRecord(err, undefined, { withStack: true }).stack).toContain('retry.test');
  });
});
