/**
 * Retries (ADR 0021): a retryable failure is followed by another attempt while the task's policy
 * (its own, else its group's for its type) allows, after its backoff or the wait the handler asked
 * for, never sooner; the attempt goes through the ready queue like any work; a non-retryable failure
 * and the last attempt's fail the task; each failed attempt is kept with its error, stack and input.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { BIN_PATH } from '@jetsched/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode, names, NonRetryableError, RetryAfterError, type SubtaskRecord } from '@jetsched/protocol';
import type { HandlerContext } from '@jetsched/executor';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';

/** Every run of a handler: task, subtask, attempt, when it started and ended. */
interface Run {
  taskId: string;
  index: number;
  attempt: number;
  start: number;
  end: number;
}

describe('retries', () => {
  let stack: Stack;
  const runs: Run[] = [];
  const runsOf = (taskId: string, index = 0): Run[] =>
    runs.filter((r) => r.taskId === taskId && r.index === index).sort((a, b) => a.attempt - b.attempt);
  /** A handler that records its run, then fails on the attempts `fails` names. */
  const handler =
    (fails: (ctx: HandlerContext, input: unknown) => Error | undefined) =>
    (input: unknown, ctx: HandlerContext): unknown => {
      const start = Date.now();
      const err = fails(ctx, input);
      runs.push({ taskId: ctx.taskId, index: ctx.index, attempt: ctx.attempt, start, end: Date.now() });
      if (err) throw err;
      return input;
    };

  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 8,
          handlers: {
            flaky: handler((ctx) =>
              ctx.attempt < 3 ? new Error(`flaky attempt ${ctx.attempt}`) : undefined,
            ),
            always: handler(() => new Error('always fails')),
            fatal: handler(() => new NonRetryableError('bad input, do not retry')),
            later: handler((ctx) =>
              ctx.attempt === 1 ? new RetryAfterError('upstream rate limit', 1_500) : undefined,
            ),
            byGroup: handler((ctx) => (ctx.attempt === 1 ? new Error('first try fails') : undefined)),
            part: handler((ctx, input) =>
              (input as { items: number[] }).items[0] === 3 && ctx.attempt === 1
                ? new Error('item 3 fails once')
                : undefined,
            ),
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('tries a failed subtask again after its backoff, never sooner, until it succeeds; each failed attempt is kept', async () => {
    const { id } = await stack.client.submit({
      type: 'flaky',
      payload: { n: 7 },
      retry: { maxAttempts: 3, backoff: { kind: 'fixed', delayMs: 400 } },
    });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([{ n: 7 }]);
    const r = runsOf(id);
    expect(r.map((x) => x.attempt)).toEqual([1, 2, 3]);
    for (let k = 1; k < r.length; k++) {
      expect(r[k]!.start - r[k - 1]!.end).toBeGreaterThanOrEqual(400);
    }
    // the failed attempts beside the task: error with its stack, the input, the executor
    const kv = await new Kvm(stack.raw).open(names(stack.prefix).buckets.tasks);
    for (const attempt of [1, 2]) {
      const e = await kv.get(`${id}.0.${attempt}`);
      const rec = decode(e!.value) as SubtaskRecord;
      expect(rec).toMatchObject({ attempt, ok: false, input: { n: 7 }, error: { retryable: true } });
      expect(rec.error?.message).toBe(`flaky attempt ${attempt}`);
      expect(rec.error?.stack).toContain('retries.test');
    }
    const task = (await stack.client.get(id)).task;
    expect(task.subtasks?.attempts).toEqual({ '0': 3 });
  });

  it('fails the task after exactly maxAttempts, and at once on a non-retryable error', async () => {
    const [a, b] = await stack.client.submitMany([
      { type: 'always', payload: 1, retry: { maxAttempts: 3 } },
      { type: 'fatal', payload: 2, retry: { maxAttempts: 3 } },
    ]);
    if (!a?.ok || !b?.ok) throw new Error('submit failed');
    await expect(stack.client.result(a.id, { timeoutMs: 20_000 })).rejects.toMatchObject({
      message: expect.stringContaining('always fails') as unknown,
    });
    await expect(stack.client.result(b.id, { timeoutMs: 20_000 })).rejects.toMatchObject({
      message: expect.stringContaining('do not retry') as unknown,
    });
    expect(runsOf(a.id).map((x) => x.attempt)).toEqual([1, 2, 3]);
    expect(runsOf(b.id).map((x) => x.attempt)).toEqual([1]);
    // the last attempt's failure is the subtask's record, with its stack
    const kv = await new Kvm(stack.raw).open(names(stack.prefix).buckets.tasks);
    const last = decode((await kv.get(`${a.id}.0`))!.value) as SubtaskRecord;
    expect(last).toMatchObject({ attempt: 3, ok: false, input: 1 });
    expect(last.error?.stack).toContain('retries.test');
  });

  it('waits what the handler asked for instead of the backoff', async () => {
    const { id } = await stack.client.submit({
      type: 'later',
      payload: 1,
      retry: { maxAttempts: 2, backoff: { kind: 'fixed', delayMs: 10 } },
    });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([1]);
    const r = runsOf(id);
    expect(r.map((x) => x.attempt)).toEqual([1, 2]);
    expect(r[1]!.start - r[0]!.end).toBeGreaterThanOrEqual(1_500);
  });

  it("applies the group's policy for the task's type to tasks that have none of their own", async () => {
    await stack.client.setGroupSettings({ group: 'default', retry: { byGroup: { maxAttempts: 2 } } });
    const { id } = await stack.client.submit({ type: 'byGroup', payload: 5 });
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([5]);
    expect(runsOf(id).map((x) => x.attempt)).toEqual([1, 2]);
    // a type without a policy of its own (nor one for "*"): one attempt
    const other = await stack.client.submit({ type: 'always', payload: 6 });
    await expect(stack.client.result(other.id, { timeoutMs: 20_000 })).rejects.toMatchObject({
      message: expect.stringContaining('always fails') as unknown,
    });
    expect(runsOf(other.id).map((x) => x.attempt)).toEqual([1]);
  });

  it('tries only the failed subtask of a split task again; the others run once', async () => {
    const { id } = await stack.client.submit({
      type: 'part',
      payload: [1, 2, 3, 4, 5],
      split: { kind: 'items', chunkSize: 1 },
      retry: { maxAttempts: 2 },
    });
    const result = await stack.client.result<{ items: number[] }[]>(id, { timeoutMs: 20_000 });
    expect(result.map((r) => r.items)).toEqual([[1], [2], [3], [4], [5]]);
    for (const index of [0, 1, 3, 4]) expect(runsOf(id, index).map((x) => x.attempt)).toEqual([1]);
    expect(runsOf(id, 2).map((x) => x.attempt)).toEqual([1, 2]);
  });
});

describe('a retry decided by a coordinator that dies before sending it', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    // a short ack wait: the dead coordinator's outcome comes back soon
    c = await startProcessCluster({}, { ackWaitMs: 2_000 });
    c.procs.start('scheduler');
    c.procs.start('executor');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('is sent by the coordinator the outcome comes back to, once', async () => {
    const crashing = c
      .roles({ JETSCHED_FAILPOINTS: 'coordinator.after-record-write=crash' })
      .start('coordinator');
    await crashing.ready;
    const { id } = await c.client.submit({
      type: 'flaky',
      payload: { okFrom: 2 },
      retry: { maxAttempts: 3, backoff: { kind: 'fixed', delayMs: 300 } },
    });
    // the failpoint kills it right after the record write that made attempt 2 current
    expect(await crashing.exited).toBeNull();
    const b = c.procs.start('coordinator');
    await b.ready;
    expect(await c.client.result(id, { timeoutMs: 20_000 })).toEqual([2]);
    const runs = c.ledger().filter((l) => l.startsWith(`${id} `));
    expect(runs.map((l) => l.split(' ')[2])).toEqual(['1', '2']);
    // what failed, as an operator reads it
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN_PATH,
      'attempts',
      id,
      '--json',
      '--server',
      c.server.url,
      '--prefix',
      c.prefix,
    ]);
    const failed = JSON.parse(stdout) as SubtaskRecord[];
    expect(failed).toMatchObject([
      { index: 0, attempt: 1, ok: false, input: { okFrom: 2 }, error: { message: 'flaky: attempt 1 fails' } },
    ]);
    expect(failed[0]?.error?.stack).toContain('jobs.mjs');
  });
});

describe('dead letters of subtasks, and redrive', () => {
  let stack: Stack;
  let healed = false;
  const seen: { taskId: string; input: unknown; attempt: number }[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            // fails until healed: a dependency that is down, then back
            poison: (input, ctx) => {
              seen.push({ taskId: ctx.taskId, input, attempt: ctx.attempt });
              if (!healed) throw new Error(`dependency down for ${JSON.stringify(input)}`);
              return input;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('dead-letters a subtask after exactly its last attempt, with stack and input; retry runs it again as a new task, purge removes', async () => {
    const ids: string[] = [];
    for (const n of [1, 2]) {
      const { id } = await stack.client.submit({ type: 'poison', payload: { n }, retry: { maxAttempts: 3 } });
      ids.push(id);
      await expect(stack.client.result(id, { timeoutMs: 20_000 })).rejects.toMatchObject({
        message: expect.stringContaining('dependency down') as unknown,
      });
      expect(seen.filter((s) => s.taskId === id).map((s) => s.attempt)).toEqual([1, 2, 3]);
    }
    // one dead letter per failed subtask, after its third attempt, with the error's stack
    const { items } = await stack.client.deadLetters({ source: 'subtask' });
    expect(items.map((e) => e.task?.id)).toEqual(ids);
    expect(items[0]).toMatchObject({ deliveries: 3, task: { type: 'poison', index: 0, attempt: 3 } });
    const shown = await stack.client.deadLetter(items[0]!.seq);
    expect(shown.reason.stack).toContain('retries.test');
    expect(shown.message).toMatchObject({ taskId: ids[0], input: { n: 1 }, attempt: 3 });
    // filters: by task, and a type with none
    expect((await stack.client.deadLetters({ taskId: ids[1]! })).items).toHaveLength(1);
    expect((await stack.client.deadLetters({ type: 'other' })).items).toHaveLength(0);

    // the dependency is back: retry the first one, purge the second
    healed = true;
    const { retried } = await stack.client.retryDeadLetters({ seq: items[0]!.seq });
    expect(retried).toHaveLength(1);
    expect(await stack.client.result(retried[0]!.taskId, { timeoutMs: 20_000 })).toEqual([{ n: 1 }]);
    const again = await stack.client.get(retried[0]!.taskId);
    expect(again.task.metadata).toEqual({ redriveOf: `${ids[0]}.0` });
    expect((await stack.client.purgeDeadLetters({ all: true, taskId: ids[1]! })).purged).toBe(1);
    expect((await stack.client.deadLetters({ source: 'subtask' })).items).toHaveLength(0);
    // the original tasks stay failed: a terminal state is final
    expect((await stack.client.get(ids[0]!)).task.state).toBe('failed');
    await expect(stack.client.deadLetter(items[0]!.seq)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('fan-in with partial results', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            // items of odd values fail, for good
            some: (input) => {
              const [n] = (input as { items: number[] }).items;
              if ((n ?? 0) % 2 === 1) throw new NonRetryableError(`odd: ${n}`);
              return n;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('finishes with null for each failed subtask while within maxFailures, dead-lettering each; one more fails the task', async () => {
    const split = { kind: 'items', chunkSize: 1 } as const;
    const [within, over] = await stack.client.submitMany([
      { type: 'some', payload: [2, 3, 4, 5], split, fanIn: { maxFailures: 2 } },
      { type: 'some', payload: [1, 3, 4], split, fanIn: { maxFailures: 1 } },
    ]);
    if (!within?.ok || !over?.ok) throw new Error('submit failed');
    expect(await stack.client.result(within.id, { timeoutMs: 20_000 })).toEqual([2, null, 4, null]);
    expect((await stack.client.get(within.id)).task).toMatchObject({
      state: 'succeeded',
      subtasks: { succeeded: 2, failed: 2 },
    });
    await expect(stack.client.result(over.id, { timeoutMs: 20_000 })).rejects.toMatchObject({
      message: expect.stringContaining('odd') as unknown,
    });
    // each failed subtask of the task that survived them is a dead letter, with its input
    const dead = (await stack.client.deadLetters({ taskId: within.id })).items;
    expect(dead.map((d) => d.task?.index).sort()).toEqual([1, 3]);
  });
});

describe('cancelling a task with a retry waiting out its backoff', () => {
  let stack: Stack;
  const runs: number[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            fails: (_x, ctx) => {
              runs.push(ctx.attempt);
              throw new Error('fails every time');
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('removes the retry and the deadline schedules, and the retry never runs', async () => {
    const { id } = await stack.client.submit({
      type: 'fails',
      payload: 1,
      retry: { maxAttempts: 3, backoff: { kind: 'fixed', delayMs: 2_000 } },
      deadlineMs: 60_000,
    });
    const n = names(stack.prefix);
    const jsm = await jetstreamManager(stack.raw);
    const waiting = async (): Promise<number> =>
      (await jsm.streams.info(n.streams.delayed, { subjects_filter: `${n.prefix}.*.>` })).state.messages;
    // attempt 1 failed; attempt 2 waits under its schedule, beside the deadline's
    const deadline = Date.now() + 10_000;
    while ((await waiting()) < 2 && Date.now() < deadline) await sleep(50);
    expect(runs).toEqual([1]);
    expect(await waiting()).toBe(2);
    expect((await stack.client.cancel(id, 'no longer wanted')).state).toBe('cancelled');
    expect(await waiting()).toBe(0);
    await sleep(2_500);
    expect(runs).toEqual([1]);
  });
});
