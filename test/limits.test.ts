/**
 * A group's settings at release time: pause and resume (the group, or one task type), concurrency
 * limits per fairness key, rate limits, and fairness weights. Observed from the handlers: when each
 * subtask started and how many ran at once, never from the scheduler's own bookkeeping.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandlerContext } from '@jetsched/executor';
import { startStack, type Stack } from './helpers/stack.js';
import { maxInWindow } from './helpers/windows.js';

/** Starts of each handler run, by group: `[at, task type, fairness key]`. */
const starts = new Map<string, [number, string, string][]>();
/** Subtasks running now, by `<group>/<key>`, and the most seen at once. */
const running = new Map<string, number>();
const maxRunning = new Map<string, number>();

function work(ms: number) {
  return async (input: unknown, ctx: HandlerContext): Promise<unknown> => {
    const { group, key } = input as { group: string; key: string };
    const list = starts.get(group) ?? [];
    list.push([Date.now(), ctx.type, key]);
    starts.set(group, list);
    const k = `${group}/${key}`;
    running.set(k, (running.get(k) ?? 0) + 1);
    maxRunning.set(k, Math.max(maxRunning.get(k) ?? 0, running.get(k) ?? 0));
    try {
      await sleep(ms);
    } finally {
      running.set(k, (running.get(k) ?? 1) - 1);
    }
    return null;
  };
}

describe('group settings at release time', () => {
  let stack: Stack;
  const groups = ['paused', 'types', 'conc', 'rate', 'weights'];
  beforeAll(async () => {
    stack = await startStack({
      executors: groups.flatMap((group) =>
        [1, 2, 3].map(() => ({
          group,
          concurrency: group === 'weights' ? 1 : 4,
          handlers: { fast: work(5), slow: work(50) },
        })),
      ),
    });
  });
  afterAll(() => stack?.close());

  async function submit(group: string, n: number, type = 'fast', key = 'a'): Promise<string[]> {
    const replies = await stack.client.submitMany(
      Array.from({ length: n }, () => ({ type, group, fairnessKey: key, payload: { group, key } })),
    );
    return replies.map((r) => {
      if (!r.ok) throw new Error(r.error.message);
      return r.id;
    });
  }

  it('releases nothing of a paused group, says why, and runs everything once after resume', async () => {
    await stack.client.pause('paused');
    const ids = await submit('paused', 20);
    await sleep(1_500);
    expect(starts.get('paused') ?? []).toEqual([]);
    const status = await stack.client.queueStatus('paused');
    expect(status?.queues[0]).toMatchObject({ waiting: 20, heldBy: 'group "paused" is paused' });
    await stack.client.resume('paused');
    await Promise.all(ids.map((id) => stack.client.result(id, { timeoutMs: 10_000 })));
    expect(starts.get('paused')).toHaveLength(20);
  });

  it('holds a paused type only; the group goes on', async () => {
    await stack.client.pause('types', 'slow');
    const slow = await submit('types', 5, 'slow');
    const fast = await submit('types', 5, 'fast');
    await Promise.all(fast.map((id) => stack.client.result(id, { timeoutMs: 10_000 })));
    await sleep(500);
    expect((starts.get('types') ?? []).filter(([, t]) => t === 'slow')).toEqual([]);
    expect((await stack.client.groupSettings('types')).pausedTypes).toEqual(['slow']);
    await stack.client.resume('types', 'slow');
    await Promise.all(slow.map((id) => stack.client.result(id, { timeoutMs: 10_000 })));
    expect((starts.get('types') ?? []).filter(([, t]) => t === 'slow')).toHaveLength(5);
  });

  it('keeps each fairness key to its concurrency limit across the executors', async () => {
    await stack.client.setGroupSettings({
      group: 'conc',
      limits: [{ id: 'per-customer', per: 'key', concurrency: 2 }],
    });
    const ids = [...(await submit('conc', 30, 'slow', 'a')), ...(await submit('conc', 30, 'slow', 'b'))];
    await Promise.all(ids.map((id) => stack.client.result(id, { timeoutMs: 30_000 })));
    // 12 slots in the group, but at most 2 of each key at once; both keys used theirs
    expect(maxRunning.get('conc/a')).toBe(2);
    expect(maxRunning.get('conc/b')).toBe(2);
  });

  it('keeps the group to its rate limit, as the handlers see it start', async () => {
    await stack.client.setGroupSettings({
      group: 'rate',
      limits: [{ id: 'ten-a-second', per: 'group', rate: { limit: 10, intervalMs: 1_000 } }],
    });
    const t0 = Date.now();
    const ids = await submit('rate', 35);
    await Promise.all(ids.map((id) => stack.client.result(id, { timeoutMs: 30_000 })));
    const times = (starts.get('rate') ?? []).map(([at]) => at);
    expect(times).toHaveLength(35);
    expect(maxInWindow(times, 1_000)).toBeLessThanOrEqual(10);
    // 35 at 10 a second take more than 3 s
    expect(Date.now() - t0).toBeGreaterThan(3_000);
  });

  it('gives keys of weights 3:1 about 3:1 of the starts while both have work', async () => {
    await stack.client.setGroupSettings({ group: 'weights', weights: { heavy: 3, light: 1 } });
    // the executors (3 slots) are busy first, so that both keys' work waits and competes
    await submit('weights', 6, 'slow', 'warm');
    const ids = [
      ...(await submit('weights', 150, 'fast', 'heavy')),
      ...(await submit('weights', 150, 'fast', 'light')),
    ];
    await Promise.all(ids.map((id) => stack.client.result(id, { timeoutMs: 30_000 })));
    const first = (starts.get('weights') ?? []).filter(([, , k]) => k !== 'warm').slice(0, 160);
    const heavy = first.filter(([, , k]) => k === 'heavy').length;
    const light = first.filter(([, , k]) => k === 'light').length;
    expect(heavy / light).toBeGreaterThan(2.2);
    expect(heavy / light).toBeLessThan(4);
  });
});
