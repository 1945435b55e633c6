import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from '@jetsched/executor';
import type { ItemsChunk } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

/** A handler that counts, per executor label, which tasks' subtasks it ran. */
function recorder(label: string, ran: Map<string, string[]>, delayMs: number): Handler {
  return async (_input, ctx) => {
    await sleep(delayMs);
    const list = ran.get(label) ?? [];
    list.push(ctx.taskId);
    ran.set(label, list);
    return label;
  };
}

describe('executor groups', () => {
  const ran = new Map<string, string[]>();
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        { group: 'alpha', concurrency: 4, handlers: { work: recorder('alpha-1', ran, 5) } },
        { group: 'alpha', concurrency: 4, handlers: { work: recorder('alpha-2', ran, 5) } },
        { group: 'alpha', concurrency: 4, handlers: { work: recorder('alpha-3', ran, 5) } },
        { group: 'beta', concurrency: 4, handlers: { work: recorder('beta-1', ran, 1) } },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('load-balances 300 subtasks over the 3 members of a group, each running at least 20%', async () => {
    const { id } = await stack.client.submit({
      type: 'work',
      group: 'alpha',
      payload: Array.from({ length: 300 }, (_, i) => i),
      split: { kind: 'items', chunkSize: 1 },
    });
    const result = await stack.client.result<string[]>(id, { timeoutMs: 60_000 });
    expect(result).toHaveLength(300);
    const counts = ['alpha-1', 'alpha-2', 'alpha-3'].map(
      (l) => (ran.get(l) ?? []).filter((t) => t === id).length,
    );
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    for (const c of counts) expect(c).toBeGreaterThanOrEqual(60);
  });

  it('never runs one group subtasks on another group', async () => {
    const [a, b] = await Promise.all(
      ['alpha', 'beta'].map((group) =>
        stack.client.submit({
          type: 'work',
          group,
          payload: Array.from({ length: 50 }, (_, i) => i),
          split: { kind: 'items', chunkSize: 1 },
        }),
      ),
    );
    const [ra, rb] = await Promise.all([
      stack.client.result<string[]>(a!.id, { timeoutMs: 60_000 }),
      stack.client.result<string[]>(b!.id, { timeoutMs: 60_000 }),
    ]);
    expect(new Set(ra.map((l) => l.split('-')[0]))).toEqual(new Set(['alpha']));
    expect(rb.every((l) => l === 'beta-1')).toBe(true);
    expect(ran.get('beta-1')?.includes(a!.id)).toBe(false);
    for (const l of ['alpha-1', 'alpha-2', 'alpha-3']) expect(ran.get(l)?.includes(b!.id)).toBe(false);
  });

  it('records each subtask outcome once: results line up with inputs', async () => {
    const { id } = await stack.client.submit({
      type: 'work',
      group: 'beta',
      payload: Array.from({ length: 40 }, (_, i) => i),
      split: { kind: 'items', chunkSize: 4 },
    });
    await stack.client.result(id, { timeoutMs: 30_000 });
    const { task } = await stack.client.get(id);
    expect(task.subtasks).toMatchObject({ total: 10, succeeded: 10, failed: 0 });
    expect((ran.get('beta-1') ?? []).filter((t) => t === id)).toHaveLength(10);
  });
});

describe('failure, cancellation and watching', () => {
  let stack: Stack;
  const aborted: string[] = [];
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 4,
          handlers: {
            flaky: (input) => {
              const { items } = input as ItemsChunk<number>;
              if (items.includes(7)) throw new Error('seven is unlucky');
              return items;
            },
            slow: async (_input, ctx) => {
              await new Promise<void>((resolve, reject) => {
                const t = setTimeout(resolve, 30_000);
                ctx.signal.addEventListener('abort', () => {
                  clearTimeout(t);
                  aborted.push(ctx.taskId);
                  reject(ctx.signal.reason as Error);
                });
              });
            },
            steps: async (_input, ctx) => {
              for (let i = 1; i <= 3; i++) {
                ctx.progress({ step: i });
                await sleep(20);
              }
              return 'done';
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('fails the task at once when a subtask fails, with the subtask error', async () => {
    const { id } = await stack.client.submit({
      type: 'flaky',
      payload: Array.from({ length: 20 }, (_, i) => i),
      split: { kind: 'items', chunkSize: 2 },
    });
    await expect(stack.client.result(id, { timeoutMs: 30_000 })).rejects.toMatchObject({
      code: 'HANDLER_ERROR',
      message: 'seven is unlucky',
    });
    const { task } = await stack.client.get(id);
    expect(task.state).toBe('failed');
    expect(task.error?.details).toMatchObject({ subtask: 3 });
  });

  it('cancels a running task and aborts its handler within a second', async () => {
    const { id } = await stack.client.submit({ type: 'slow', payload: null });
    const deadline = Date.now() + 10_000;
    while ((await stack.client.get(id)).task.state !== 'running' && Date.now() < deadline) await sleep(20);
    const t0 = Date.now();
    const task = await stack.client.cancel(id, 'test says stop');
    expect(task.state).toBe('cancelled');
    while (!aborted.includes(id) && Date.now() - t0 < 5_000) await sleep(10);
    expect(aborted).toContain(id);
    expect(Date.now() - t0).toBeLessThan(1_000);
    await expect(stack.client.result(id)).rejects.toMatchObject({ code: 'CANCELLED' });
    // cancelling again answers as the first time did; a finished task cannot be cancelled
    expect((await stack.client.cancel(id)).state).toBe('cancelled');
    const { id: done } = await stack.client.submit({ type: 'steps', payload: null });
    await stack.client.result(done, { timeoutMs: 10_000 });
    await expect(stack.client.cancel(done)).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it('watch yields the record as it changes, in order, and handler progress, ending at the terminal state', async () => {
    const { id } = await stack.client.submit({ type: 'steps', payload: null });
    const states: string[] = [];
    const progress: unknown[] = [];
    for await (const e of stack.client.watch(id)) {
      if (e.kind === 'state') states.push(e.task.state);
      else progress.push(e.progress.progress);
    }
    expect(states[0]).toBe('pending');
    expect(states.at(-1)).toBe('succeeded');
    expect(states).toEqual([...new Set(states)]);
    expect(progress.length).toBeGreaterThan(0);
  });

  it('watch ends at once when its signal aborts, while the task still runs', async () => {
    const { id } = await stack.client.submit({ type: 'slow', payload: null });
    const stop = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const e of stack.client.watch(id, { signal: stop.signal }))
        if (e.kind === 'state') seen.push(e.task.state);
    })();
    const deadline = Date.now() + 10_000;
    while (!seen.includes('running') && Date.now() < deadline) await sleep(20);
    expect(seen).toContain('running');
    const t0 = Date.now();
    stop.abort();
    await watching;
    expect(Date.now() - t0).toBeLessThan(500);
    expect((await stack.client.get(id)).task.state).toBe('running');
    await stack.client.cancel(id);
  });

  it('lists tasks with filters and pages through them', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++)
      ids.add((await stack.client.submit({ type: 'steps', tenant: 'acme', payload: null })).id);
    // paging neither repeats nor skips a task that keeps its state: let them end first
    await Promise.all([...ids].map((id) => stack.client.result(id, { timeoutMs: 20_000 })));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await stack.client.list({ tenant: 'acme', limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.tasks.length).toBeLessThanOrEqual(2);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen)).toEqual(ids);
    expect(seen).toHaveLength(5);
    const failed = await stack.client.list({ state: 'failed' });
    expect(failed.tasks.every((t) => t.state === 'failed')).toBe(true);
  });
});
