/** Every role validates its options when it is made: a bad value is refused with its name. */
import { describe, expect, it } from 'vitest';
import { createCoordinator } from '@jetsched/coordinator';
import { createExecutor } from '@jetsched/executor';
import { createScheduler } from '@jetsched/scheduler';
import { manifestFor } from '@jetsched/runtime';

describe('options are checked at start', () => {
  it('refuses executors without handlers, with a concurrency of 0, or with bad names', () => {
    expect(() => createExecutor({ handlers: {} })).toThrow(/at least one handler/);
    expect(() => createExecutor({ handlers: { a: () => 1 }, concurrency: 0 })).toThrow(
      /concurrency must be a positive integer/,
    );
    expect(() => createExecutor({ handlers: { a: () => 1 }, concurrency: 1.5 })).toThrow(/concurrency/);
    expect(() => createExecutor({ handlers: { 'has space': () => 1 } })).toThrow(/invalid task type/);
    expect(() => createExecutor({ handlers: { a: () => 1 }, group: 'a.b' })).toThrow(/invalid group/);
    expect(() => createExecutor({ handlers: { a: 'nope' as never } })).toThrow(/not a function/);
  });
  it('refuses schedulers and coordinators with limits that cannot work', () => {
    expect(() => createScheduler({ maxSubtasks: 0 })).toThrow(/maxSubtasks/);
    expect(() => createScheduler({ splitTimeoutMs: -1 })).toThrow(/splitTimeoutMs/);
    expect(() => createCoordinator({ outcomeBatch: 0 })).toThrow(/outcomeBatch/);
    expect(() => createCoordinator({ prefix: 'has.dot' })).toThrow(/invalid prefix/);
    expect(() => createCoordinator({ reducers: { a: 3 as never } })).toThrow(/not a function/);
  });
  it('refuses a topology whose consumers could never give a message up', () => {
    expect(() => manifestFor({ consumers: { work: { maxDeliver: 1 } } })).toThrow(
      /max deliver must be at least 2/,
    );
    expect(() => manifestFor({ replicas: 0 })).toThrow(/replicas/);
  });
});
