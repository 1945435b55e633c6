/**
 * Delayed tasks (`delayMs`, `runAt`): held by a server-side schedule, never run before their time,
 * cancellable while they wait, and neither lost nor run twice when coordinators and the scheduler
 * releasing them are killed -9 and the nats-server restarts while they wait, nor when tens of
 * thousands come due within seconds. Start times are the handlers' own clocks.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { MAX_DELAY_MS, names } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('delayed tasks', () => {
  let stack: Stack;
  /** When each task's handler started. */
  const started = new Map<string, number>();

  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            stamp: (input: unknown, ctx) => {
              started.set(ctx.taskId, Date.now());
              return input;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('runs each task at its time, never before, and says what it waits for', async () => {
    const now = Date.now();
    const asked = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? { runAt: now + 1_000 + i * 150 } : { delayMs: 1_000 + i * 150 },
    );
    const submitted = await Promise.all(
      asked.map(async (a, i) => {
        const sentAt = Date.now();
        const { id } = await stack.client.submit({ type: 'stamp', payload: i, ...a });
        return { id, earliest: 'runAt' in a ? a.runAt : sentAt + a.delayMs };
      }),
    );
    const first = await stack.client.get(submitted[0]!.id);
    expect(first.task.state).toBe('delayed');
    expect(first.task.runAt).toBe(asked[0]!.runAt);
    expect(first.waiting).toBe(`delayed until ${new Date(asked[0]!.runAt!).toISOString()}`);

    for (const s of submitted) await stack.client.result(s.id, { timeoutMs: 10_000 });
    for (const s of submitted) {
      const at = started.get(s.id) ?? 0;
      expect(at, `task ${s.id} ran ${s.earliest - at} ms early`).toBeGreaterThanOrEqual(s.earliest);
      // the schedule fires ahead and the coordinator holds it: late by little, not by the timer's step
      expect(at - s.earliest).toBeLessThan(1_000);
    }
  });

  it('gives tasks submitted together and due within one second one schedule, and runs each at its own time', async () => {
    const second = Math.ceil((Date.now() + 2_500) / 1_000) * 1_000;
    const runAts = Array.from({ length: 50 }, (_, i) => second + i * 19);
    const replies = await stack.client.submitMany(
      runAts.map((runAt, i) => ({ type: 'stamp', payload: i, runAt })),
    );
    const ids = replies.map((r) => (r.ok ? r.id : expect.fail(r.error.message)));
    // one schedule holds the 50, on a subject that says how many
    const jsm = await jetstreamManager(stack.raw);
    const info = await jsm.streams.info(names(stack.prefix).streams.delayed, {
      subjects_filter: `${stack.prefix}.delayed.default.stamp.>`,
    });
    expect(Object.keys(info.state.subjects ?? {})).toEqual([
      `${stack.prefix}.delayed.default.stamp.${ids[0]}.50`,
    ]);
    // a cancel leaves the shared schedule to the others, and its task is skipped when it fires
    await stack.client.cancel(ids[7] as string, 'not this one');

    for (const [i, id] of ids.entries()) {
      if (i === 7) continue;
      await stack.client.result(id, { timeoutMs: 10_000 });
      const at = started.get(id) ?? 0;
      expect(at, `task ${i} ran ${(runAts[i] ?? 0) - at} ms early`).toBeGreaterThanOrEqual(runAts[i] ?? 0);
      expect(at - (runAts[i] ?? 0)).toBeLessThan(1_000);
    }
    // the last one started ~1 s after the first: each was held to its own time, not the first's
    expect((started.get(ids[49] as string) ?? 0) - (started.get(ids[0] as string) ?? 0)).toBeGreaterThan(800);
    await sleep(300);
    expect(started.has(ids[7] as string)).toBe(false);
    expect((await stack.client.get(ids[7] as string)).task.state).toBe('cancelled');
  });

  it('runs a task whose time has passed at once', async () => {
    const { id } = await stack.client.submit({ type: 'stamp', payload: 1, runAt: Date.now() - 60_000 });
    expect((await stack.client.get(id)).task.state).not.toBe('delayed');
    expect(await stack.client.result(id, { timeoutMs: 5_000 })).toEqual([1]);
  });

  it('never runs a delayed task cancelled while it waits', async () => {
    const { id } = await stack.client.submit({ type: 'stamp', payload: 1, delayMs: 800 });
    expect((await stack.client.cancel(id, 'changed my mind')).state).toBe('cancelled');
    await sleep(1_800);
    expect(started.has(id)).toBe(false);
    expect((await stack.client.get(id)).task.state).toBe('cancelled');
  });

  it('refuses a delay given twice, a negative one, and one past the longest delay', async () => {
    const now = Date.now();
    for (const bad of [
      { delayMs: 10, runAt: now + 10 },
      { delayMs: -1 },
      { delayMs: MAX_DELAY_MS + 1 },
      { runAt: now + MAX_DELAY_MS + 86_400_000 },
      // longer than the task retention (7 days here) would keep the record
      { delayMs: 8 * 86_400_000 },
    ]) {
      await expect(stack.client.submit({ type: 'stamp', ...bad }), JSON.stringify(bad)).rejects.toMatchObject(
        {
          code: 'BAD_REQUEST',
        },
      );
    }
  });
});

describe('delayed tasks across failures', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 2_000 });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    c.procs.start('scheduler');
    c.procs.start('executor', ['--concurrency', '8']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  /** `stamp` lines of the ledger: when each task ran, and how often. */
  function runs(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const line of c.ledger()) {
      const [kind, id, at] = line.split(' ');
      if (kind !== 'stamp' || !id) continue;
      out.set(id, [...(out.get(id) ?? []), Number(at)]);
    }
    return out;
  }

  it('runs every task once and none early with the coordinator and the lease holder killed -9 and the server restarted while they wait', async () => {
    const now = Date.now();
    const tasks = Array.from({ length: 40 }, (_, i) => ({ runAt: now + 2_500 + i * 100, i }));
    const ids = await Promise.all(
      tasks.map(async (t) => (await c.client.submit({ type: 'stamp', payload: t.i, runAt: t.runAt })).id),
    );
    // the coordinator that recorded them dies; the server restarts while they wait and fire
    const first = c.procs.all.find((p) => p.role === 'coordinator');
    await first!.stop('SIGKILL');
    await c.server.restart();
    await sleep(500);
    const second = c.procs.start('coordinator');
    await second.ready;
    await sleep(1_500);
    // and that one dies as well, in the middle of them coming due, and the releasing scheduler
    const holder = await c.leaseHolder();
    expect(holder, 'the lease holder among the schedulers').toBeDefined();
    await Promise.all([second.stop('SIGKILL'), holder!.stop('SIGKILL')]);
    await c.procs.start('coordinator').ready;

    await c.waitForLedger(() => runs().size === ids.length, 30_000);
    await sleep(1_000); // a second run would show up here
    const seen = runs();
    ids.forEach((id, i) => {
      const at = seen.get(id) ?? [];
      expect(at, `runs of task ${i}`).toHaveLength(1);
      expect(at[0], `task ${i} ran early`).toBeGreaterThanOrEqual(tasks[i]!.runAt);
    });
    for (const id of ids) expect((await c.client.get(id)).task.state).toBe('succeeded');
  });

  // Each delayed task comes due as a ready message of its own, thousands a second on one subject:
  // the releaser's view of the subject must not skip a message stored while it reads ahead.
  it('runs every one of 60,000 tasks due over 20 s, once, never early', async () => {
    await c.procs.start('executor', ['--concurrency', '100']).ready;
    const n = 60_000;
    const from = Date.now() + 12_000;
    const runAts = Array.from({ length: n }, (_, i) => from + Math.floor((i * 20_000) / n));
    const ids: string[] = [];
    for (let i = 0; i < n; i += 1_000) {
      const replies = await c.client.submitMany(
        runAts.slice(i, i + 1_000).map((runAt, k) => ({ type: 'stamp', payload: i + k, runAt })),
      );
      for (const r of replies) ids.push(r.ok ? r.id : expect.fail(r.error.message));
    }
    expect(Date.now(), 'the submits took longer than the lead: make it longer').toBeLessThan(from);
    const wanted = new Set(ids);
    const ran = (): number => [...runs().keys()].filter((id) => wanted.has(id)).length;
    // until every task ran, or none has for a while (a lost one never will)
    await sleep(from - Date.now());
    for (let last = -1, since = Date.now(); ran() < n && Date.now() - since < 8_000; await sleep(500)) {
      const now = ran();
      if (now !== last) [last, since] = [now, Date.now()];
    }
    const seen = runs();
    const missing = ids.filter((id) => !seen.has(id));
    const states = await Promise.all(missing.slice(0, 3).map(async (id) => (await c.client.get(id)).task));
    expect(missing.length, `never ran, e.g. ${JSON.stringify(states)}`).toBe(0);
    expect(ids.filter((id) => seen.get(id)?.length !== 1)).toEqual([]);
    expect(ids.filter((id, i) => (seen.get(id)?.[0] ?? 0) < (runAts[i] ?? 0))).toEqual([]);
  }, 120_000);
});
