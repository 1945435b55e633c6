/**
 * Fairness at release time (ADR 0018): within a priority, release is round-robin across fairness
 * keys (the tenant by default), so one tenant's burst does not hold another tenant's work behind it.
 * Judged from the handlers' own record of what started when.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers/stack.js';

/** Two executors of 8 slots each; every subtask works 10 ms. */
const EXECUTORS = 2;
const CONCURRENCY = 8;
const HANDLER_MS = 10;
const A_SUBTASKS = 20_000;
const B_SUBTASKS = 200;

interface Start {
  id: string;
  index: number;
  at: number;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

describe('fairness across tenants', () => {
  let stack: Stack;
  const starts: Start[] = [];
  beforeAll(async () => {
    const work = async (_input: unknown, ctx: { taskId: string; index: number }): Promise<null> => {
      starts.push({ id: ctx.taskId, index: ctx.index, at: Date.now() });
      await sleep(HANDLER_MS);
      return null;
    };
    stack = await startStack({
      executors: Array.from({ length: EXECUTORS }, () => ({ concurrency: CONCURRENCY, handlers: { work } })),
    });
  });
  afterAll(() => stack?.close());

  const submit = async (tenant: string, n: number): Promise<string> =>
    (
      await stack.client.submit({
        type: 'work',
        tenant,
        payload: Array.from({ length: n }, (_, i) => i),
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'none' },
      })
    ).id;
  const count = (id: string, upTo = starts.length): number => {
    let n = 0;
    for (let i = 0; i < upTo; i++) if ((starts[i] as Start).id === id) n++;
    return n;
  };

  it("tenant B's 200 subtasks get half the executors while tenant A's 20,000 wait", async () => {
    const a = await submit('a', A_SUBTASKS);
    // A's backlog runs at full speed for a while: its rate over the last second is the capacity
    await until(() => count(a) >= 2_000, 20_000, "tenant A's backlog to run");
    const t0 = Date.now();
    const capacity = starts.filter((s) => s.at >= t0 - 1_000 && s.at < t0).length; // starts per second
    const b = await submit('b', B_SUBTASKS);
    await until(() => count(b) === B_SUBTASKS, 20_000, "tenant B's subtasks to start");

    const all = starts.slice();
    const bAt = all.flatMap((s, i) => (s.id === b ? [i] : []));
    const first = bAt[0] as number;
    const last = bAt.at(-1) as number;
    // B alone would take B_SUBTASKS / capacity; with half the executors, twice that. The bound allows
    // a quarter more, plus 300 ms for B's hand-off and the A work released before B was seen (the
    // executors' slots and the prefetch: a few dozen subtasks, some 50 ms at this rate)
    const alone = (B_SUBTASKS * 1_000) / capacity;
    const bound = 2 * alone * 1.25 + 300;
    const finished = (all[last] as Start).at + HANDLER_MS - t0;
    // while both had work, B had about half of what started
    const share = B_SUBTASKS / (last - first + 1);
    const aRemaining = A_SUBTASKS - count(a, last + 1);
    const seen = JSON.stringify({
      capacity,
      alone: Math.round(alone),
      bound: Math.round(bound),
      finished,
      share,
      aRemaining,
    });
    expect(finished, seen).toBeLessThanOrEqual(bound);
    expect(share, seen).toBeGreaterThan(0.4);
    expect(share, seen).toBeLessThan(0.6);
    // not after A's backlog: most of it still waited when B was done
    expect(aRemaining, seen).toBeGreaterThan(A_SUBTASKS / 2);

    // and nothing is lost or run twice: A's backlog runs out, each subtask once
    await stack.client.result(a, { timeoutMs: 60_000 });
    await stack.client.result(b, { timeoutMs: 10_000 });
    for (const [id, n] of [
      [a, A_SUBTASKS],
      [b, B_SUBTASKS],
    ] as const) {
      const mine = starts.filter((s) => s.id === id);
      expect(mine).toHaveLength(n);
      expect(new Set(mine.map((s) => s.index)).size).toBe(n);
    }
  });

  // Weights per fairness key (3:1 giving about 3:1 of the starts while both have work) are tested in
  // test/limits.test.ts, with the group settings that set them.
});
