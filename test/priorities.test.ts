/**
 * Priorities at release time (ADR 0018): with the executors saturated by a backlog of low priority
 * work, high priority work submitted after it starts next, and aging lets the low priority work
 * through within its bound behind a steady stream of high priority work. Everything is judged from
 * the handlers' own record of what started when.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Handler } from '@jetsched/executor';
import { startStack, type Stack } from './helpers/stack.js';

/** One executor runs 2 subtasks at once, each 20 ms: about 100 starts a second. */
const CONCURRENCY = 2;
const HANDLER_MS = 20;
/**
 * Low priority starts allowed between a high priority task's submit and its start: what the releaser
 * let go before it saw the task, i.e. the executor's slots (2) and the most prefetch the design
 * allows (8 x the capacity: 16), and what starts while the task travels from the submit to the
 * releaser (about 120 ms at 100 starts a second: 12).
 */
const LOWS_AHEAD_BOUND = CONCURRENCY + 8 * CONCURRENCY + 12;

interface Start {
  id: string;
  at: number;
}

/** A handler that notes each start (in order, with the time), then works `HANDLER_MS`. */
function recorder(): { starts: Start[]; handler: Handler } {
  const starts: Start[] = [];
  return {
    starts,
    handler: async (_input, ctx) => {
      starts.push({ id: ctx.taskId, at: Date.now() });
      await sleep(HANDLER_MS);
      return null;
    },
  };
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function submitAll(stack: Stack, priority: number, n: number): Promise<string[]> {
  const replies = await stack.client.submitMany(
    Array.from({ length: n }, (_, i) => ({ type: 'work', payload: i, priority })),
  );
  return replies.map((r) => {
    if (!r.ok) throw new Error(`submit refused: ${JSON.stringify(r)}`);
    return r.id;
  });
}

describe('priorities', () => {
  let stack: Stack | undefined;
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it('high priority tasks submitted behind 5,000 low priority ones start before the backlog drains', async () => {
    const rec = recorder();
    stack = await startStack({ executors: [{ concurrency: CONCURRENCY, handlers: { work: rec.handler } }] });
    const low = new Set(await submitAll(stack, 0, 5_000));
    // saturated: the low backlog runs at the executor's pace
    await until(() => rec.starts.length >= 50, 20_000, 'the low priority backlog to start');

    // 20 high priority tasks, one at a time, 50 ms apart: each one meets a saturated executor
    const high: { id: string; mark: number }[] = [];
    for (let i = 0; i < 20; i++) {
      const mark = rec.starts.length;
      const [id] = await submitAll(stack, 9, 1);
      high.push({ id: id as string, mark });
      await sleep(50);
    }
    await until(
      () => high.every((h) => rec.starts.some((s) => s.id === h.id)),
      20_000,
      'every high priority task to start',
    );
    const starts = rec.starts.slice();
    const position = new Map(starts.map((s, i) => [s.id, i]));
    // low priority starts between each high task's submit and its start
    const lowsBefore = high.map(
      (h) => starts.slice(h.mark, position.get(h.id)).filter((s) => low.has(s.id)).length,
    );
    const lastHigh = Math.max(...high.map((h) => position.get(h.id) as number));
    const lowStarted = starts.slice(0, lastHigh).filter((s) => low.has(s.id)).length;
    const seen = JSON.stringify({ lowsAheadOfEachHigh: lowsBefore, lowStartedBeforeTheLastHigh: lowStarted });
    expect(Math.max(...lowsBefore), seen).toBeLessThanOrEqual(LOWS_AHEAD_BOUND);
    // the backlog was far from drained: most of it still waited
    expect(lowStarted, seen).toBeLessThan(1_000);
  });

  it('aging lets low priority work through a steady stream of high priority work', async () => {
    // a wait of agingMs counts as one priority level more: priority 0 work ties with fresh priority 9
    // work after 9 steps and goes first then (the older head), or after 10 if the high queue's own
    // head has aged a step. Bound: 10 x agingMs, plus 1 s for the work released ahead of it and the
    // releaser's tick. Before 8 steps, none of it may start while high priority work waits.
    const agingMs = 500;
    const rec = recorder();
    stack = await startStack({
      agingMs,
      executors: [{ concurrency: CONCURRENCY, handlers: { work: rec.handler } }],
    });
    const s = stack;
    // a steady stream: about 30 high priority tasks always waiting beyond what runs
    const high = new Set<string>();
    const fed: { at: number; n: number }[] = [];
    let feeding = true;
    const feeder = (async () => {
      while (feeding) {
        const started = rec.starts.filter((x) => high.has(x.id)).length;
        if (high.size - started < 30) {
          for (const id of await submitAll(s, 9, 10)) high.add(id);
          fed.push({ at: Date.now(), n: high.size });
        }
        await sleep(20);
      }
    })();
    try {
      await until(() => rec.starts.length >= 100, 20_000, 'the high priority stream to run');
      const t0 = Date.now();
      const low = new Set(await submitAll(s, 0, 10));
      await until(
        () => rec.starts.filter((x) => low.has(x.id)).length === low.size,
        15_000,
        'the low priority tasks to start',
      );
      const starts = rec.starts.slice();
      const lowStarts = starts.filter((x) => low.has(x.id));
      const waits = lowStarts.map((x) => x.at - t0);
      const first = lowStarts[0] as Start;
      const highSubmitted = fed.filter((f) => f.at <= first.at).at(-1)?.n ?? 0;
      const highStarted = starts.filter((x) => x.at <= first.at && high.has(x.id)).length;
      const seen = JSON.stringify({
        lowWaitsMs: waits,
        highWaitingAtFirstLowStart: highSubmitted - highStarted,
      });
      expect(Math.max(...waits), seen).toBeLessThanOrEqual(10 * agingMs + 1_000);
      expect(Math.min(...waits), seen).toBeGreaterThanOrEqual(8 * agingMs);
      // the stream was steady: high priority work still waited when the low priority work started
      expect(highSubmitted - highStarted, seen).toBeGreaterThanOrEqual(10);
    } finally {
      feeding = false;
      await feeder;
    }
  });
});
