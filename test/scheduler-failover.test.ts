/**
 * Failover of the releaser (ADR 0018): two scheduler processes, one holds the group's release lease
 * and is killed with SIGKILL. The other takes the lease over once it expires, publishes the dead
 * holder's last round again (deduplicated by its ids) and goes on from its cursors: every task runs,
 * none starts twice. Judged from the executors' ledger of handler starts (test/fixtures/jobs.mjs).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { names } from '@jetsched/protocol';
import type { RoleProcess } from '@jetsched/cli';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

/** The scheduler's default lease (DEFAULT_LEASE_MS), and how often a scheduler tries to take one. */
const LEASE_MS = 5_000;
const ACQUIRE_EVERY_MS = 1_000;
/**
 * The lease runs out at most LEASE_MS after the dead holder's last write (under load it writes every
 * round, so about LEASE_MS after the kill); the other scheduler tries within ACQUIRE_EVERY_MS; 1 s
 * for the try itself and a loaded machine.
 */
const LEASE_TAKEOVER_MS = LEASE_MS + ACQUIRE_EVERY_MS + 1_000;
/**
 * Kill to the first start of a task submitted after the kill: the lease taken over, then the new
 * holder counts what is in flight, opens the ready queue and releases; 1 s more for that and the
 * task's own path (coordinator, ready queue, work stream, executor).
 */
const TAKEOVER_BOUND_MS = LEASE_TAKEOVER_MS + 1_000;

interface ReleaseState {
  holder: string;
  epoch: number;
  intent?: { msgs: { id: string; parts: unknown[] }[] };
}

interface Tick {
  id: string;
  index: string;
  at: number;
}

/** The ledger's handler starts of the `tick` job (`tick <taskId> <index> <ms> <executor>`). */
function ticks(c: ProcessCluster): Tick[] {
  return c
    .ledger()
    .filter((l) => l.startsWith('tick '))
    .map((l) => {
      const [, id, index, at] = l.split(' ');
      return { id: id as string, index: index as string, at: Number(at) };
    });
}

/** Subtasks (`<taskId>.<index>`) that started more than once. */
function startedTwice(runs: Tick[]): [string, number][] {
  const n = new Map<string, number>();
  for (const r of runs) n.set(`${r.id}.${r.index}`, (n.get(`${r.id}.${r.index}`) ?? 0) + 1);
  return [...n].filter(([, k]) => k > 1);
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The scheduler id a role process logged when it started (its log file may lag its `ready`). */
async function schedulerId(c: ProcessCluster, p: RoleProcess): Promise<string> {
  const find = (): string | undefined => {
    for (const line of c.procs.logOf(p).split('\n')) {
      if (!line.includes('"msg":"started"')) continue;
      const rec = JSON.parse(line) as { actor?: string; id?: string };
      if (rec.actor === 'scheduler' && rec.id) return rec.id;
    }
    return undefined;
  };
  await until(() => find() !== undefined, 5_000, `the "started" line of pid ${p.pid}`);
  return find() as string;
}

/** When a role process first logged `msg` (its log's own timestamp), if it did. */
function loggedAt(c: ProcessCluster, p: RoleProcess, msg: string): number | undefined {
  for (const line of c.procs.logOf(p).split('\n')) {
    if (!line.includes(`"msg":"${msg}"`)) continue;
    return (JSON.parse(line) as { time: number }).time;
  }
  return undefined;
}

/** A cluster of 1 coordinator, 3 executors (4 slots each) and 2 schedulers, as processes. */
async function cluster(): Promise<{
  c: ProcessCluster;
  kv: KV;
  schedulers: Map<string, RoleProcess>;
  state(): Promise<ReleaseState | undefined>;
}> {
  const c = await startProcessCluster();
  c.procs.start('coordinator');
  for (let i = 0; i < 3; i++) c.procs.start('executor', ['--concurrency', '4']);
  c.procs.start('scheduler');
  c.procs.start('scheduler');
  await Promise.all(c.procs.all.map((p) => p.ready));
  const kv = await new Kvm(c.nc).open(names(c.prefix).buckets.release);
  const schedulers = new Map<string, RoleProcess>();
  for (const p of c.procs.all.filter((r) => r.role === 'scheduler'))
    schedulers.set(await schedulerId(c, p), p);
  return {
    c,
    kv,
    schedulers,
    // the release state of the group: `holder` is the scheduler id holding the lease
    async state() {
      const e = await kv.get('default');
      return e && e.length > 0 ? e.json<ReleaseState>() : undefined;
    },
  };
}

describe('the lease holder killed with SIGKILL under a steady stream of tasks', () => {
  let k: Awaited<ReturnType<typeof cluster>>;
  beforeAll(async () => {
    k = await cluster();
  });
  afterAll(() => k?.c.close());

  // what the first test saw, for the second
  let killedAt = 0;
  const submitted: { id: string; at: number }[] = [];
  let survivor: RoleProcess | undefined;

  it('every task runs and none starts twice; the other scheduler holds the lease', async () => {
    const { c } = k;
    // a steady stream of short tasks: 25 every 50 ms (`tick` notes its start and works 10 ms)
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        const at = Date.now();
        const replies = await c.client.submitMany(
          Array.from({ length: 25 }, (_, i) => ({ type: 'tick', payload: i })),
        );
        for (const r of replies) {
          if (!r.ok) throw new Error(`submit refused: ${JSON.stringify(r)}`);
          submitted.push({ id: r.id, at });
        }
        await sleep(50);
      }
    })();
    let before: ReleaseState;
    try {
      // under load for 2 s, then the lease holder dies
      await c.waitForLedger((lines) => lines.length >= 200, 20_000);
      await sleep(2_000);
      const h = await k.state();
      if (!h) throw new Error('nobody holds the release lease of the group');
      before = h;
      const victim = k.schedulers.get(h.holder);
      if (!victim)
        throw new Error(`the lease holder ${h.holder} is none of ${[...k.schedulers.keys()].join(', ')}`);
      survivor = [...k.schedulers.values()].find((p) => p !== victim);
      killedAt = Date.now();
      await victim.stop('SIGKILL');
      // the stream goes on through the takeover, and a while after it
      await sleep(TAKEOVER_BOUND_MS + 3_000);
    } finally {
      streaming = false;
      await stream;
    }

    // every task runs to its end
    const all = submitted.map((s) => s.id);
    await c.waitForLedger((lines) => {
      const seen = new Set(lines.filter((l) => l.startsWith('tick ')).map((l) => l.split(' ')[1]));
      return all.every((id) => seen.has(id));
    }, 60_000);
    for (let i = 0; i < all.length; i += 500) {
      await Promise.all(all.slice(i, i + 500).map((id) => c.client.result(id, { timeoutMs: 30_000 })));
    }
    // none starts twice: the dead holder's last round, published again by the survivor, is
    // dropped as a copy where it was stored already
    const runs = ticks(c);
    expect(startedTwice(runs)).toEqual([]);
    expect(new Set(runs.map((r) => r.id)).size).toBe(all.length);
    expect(c.procs.logOf(survivor as RoleProcess)).toContain(
      'published the last round of the previous holder again',
    );
    // the other scheduler holds the lease, one epoch on
    const after = await k.state();
    expect(after).toMatchObject({
      holder: await schedulerId(c, survivor as RoleProcess),
      epoch: before.epoch + 1,
    });
  });

  it(`the other scheduler takes the lease within ${LEASE_TAKEOVER_MS} ms and work starts within ${TAKEOVER_BOUND_MS} ms of the kill`, () => {
    const { c } = k;
    expect(survivor, 'the first test ran').toBeDefined();
    const runs = ticks(c);
    // the lease: from the kill to the survivor's "releasing for the group"
    const took = (loggedAt(c, survivor as RoleProcess, 'releasing for the group') ?? Infinity) - killedAt;
    // the work: from the kill to the first start of a task submitted after it (only the new holder
    // can have released it)
    const late = new Set(submitted.filter((s) => s.at > killedAt).map((s) => s.id));
    const resumed = Math.min(...runs.filter((r) => late.has(r.id)).map((r) => r.at)) - killedAt;
    // the longest time nothing started at all (work released before the kill ran meanwhile)
    const times = runs.map((r) => r.at).sort((x, y) => x - y);
    let gap = 0;
    for (let i = 1; i < times.length; i++)
      gap = Math.max(gap, (times[i] as number) - (times[i - 1] as number));
    const seen = JSON.stringify({
      tasks: submitted.length,
      leaseTakenAfterMs: took,
      workResumedAfterMs: resumed,
      longestGapMs: gap,
    });
    expect(took, seen).toBeLessThanOrEqual(LEASE_TAKEOVER_MS);
    expect(resumed, seen).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);
  });
});

describe('the lease holder killed with its last round written down', () => {
  let k: Awaited<ReturnType<typeof cluster>>;
  beforeAll(async () => {
    k = await cluster();
  });
  afterAll(() => k?.c.close());

  it('not published yet: the other scheduler publishes it, and every task runs once', async () => {
    const { c } = k;
    const jsm = await jetstreamManager(c.nc);
    const work = names(c.prefix).streams.work;
    const h = await (async () => {
      await until(async () => (await k.state()) !== undefined, 10_000, 'a scheduler to take the lease');
      return (await k.state()) as ReleaseState;
    })();
    const holder = k.schedulers.get(h.holder) as RoleProcess;
    // the work stream refuses every message for a while: the holder writes its round down, and
    // cannot publish it
    const config = (await jsm.streams.info(work)).config;
    await jsm.streams.update(work, { ...config, max_msg_size: 16 });
    const replies = await c.client.submitMany(
      Array.from({ length: 40 }, (_, i) => ({ type: 'tick', payload: i })),
    );
    const ids = replies.map((r) => (r.ok ? r.id : ''));
    await until(
      async () =>
        ((await k.state())?.intent?.msgs.length ?? 0) > 0 &&
        c.procs.logOf(holder).includes('release round failed'),
      10_000,
      'the holder to write a round down and fail to publish it',
    );
    const intent = (await k.state())?.intent;
    await holder.stop('SIGKILL');
    await jsm.streams.update(work, { ...config, max_msg_size: config.max_msg_size });
    expect(ticks(c)).toEqual([]);

    // the survivor takes the lease over, publishes the round and goes on from the cursors
    await c.waitForLedger((lines) => {
      const seen = new Set(lines.filter((l) => l.startsWith('tick ')).map((l) => l.split(' ')[1]));
      return ids.every((id) => seen.has(id));
    }, 30_000);
    await Promise.all(ids.map((id) => c.client.result(id, { timeoutMs: 10_000 })));
    const runs = ticks(c);
    expect(startedTwice(runs)).toEqual([]);
    expect(runs).toHaveLength(ids.length);
    const survivor = [...k.schedulers.values()].find((p) => p !== holder) as RoleProcess;
    const republished = c.procs
      .logOf(survivor)
      .split('\n')
      .find((l) => l.includes('published the last round of the previous holder again'));
    // every message of the dead holder's round was stored now, none before
    expect(JSON.parse(republished ?? '{}')).toMatchObject({
      messages: intent?.msgs.length,
      stored: intent?.msgs.length,
    });
  });

  it('published already: the other scheduler publishes it again as a copy, and nothing runs twice', async () => {
    const { c } = k;
    // a scheduler to take over from the one that holds the lease now
    const next = c.procs.start('scheduler');
    await next.ready;
    const nextId = await schedulerId(c, next);
    const h = (await k.state()) as ReleaseState;
    const holder = [...c.procs.all].find(
      (p) => p.role === 'scheduler' && p !== next && p.proc.exitCode === null && p.proc.signalCode === null,
    ) as RoleProcess;
    expect(await schedulerId(c, holder)).toBe(h.holder);

    // a round that runs: once all of it started, the state still holds it as the last intent (the
    // holder drops it with its next renewal, a third of the lease later); then the holder dies
    let ids: string[] = [];
    let intent: ReleaseState['intent'];
    for (let attempt = 0; attempt < 5 && !intent; attempt++) {
      const replies = await c.client.submitMany(
        Array.from({ length: 10 }, (_, i) => ({ type: 'tick', payload: i })),
      );
      ids = replies.map((r) => (r.ok ? r.id : ''));
      await c.waitForLedger((lines) => {
        const seen = new Set(lines.filter((l) => l.startsWith('tick ')).map((l) => l.split(' ')[1]));
        return ids.every((id) => seen.has(id));
      }, 10_000);
      const s = await k.state();
      if ((s?.intent?.msgs.length ?? 0) > 0) intent = s?.intent;
    }
    if (!intent) throw new Error('never saw a published round still written down');
    await holder.stop('SIGKILL');

    // the new holder publishes the round again; the work stream drops it, nothing runs twice
    await until(
      () => c.procs.logOf(next).includes('published the last round of the previous holder again'),
      LEASE_TAKEOVER_MS + 2_000,
      'the new holder to publish the last round again',
    );
    expect((await k.state())?.holder).toBe(nextId);
    // a task submitted now runs (the new holder releases), and by then the copies would have run too
    const [after] = await c.client.submitMany([{ type: 'tick', payload: 0 }]);
    const afterId = after?.ok ? after.id : '';
    await c.client.result(afterId, { timeoutMs: 15_000 });
    await sleep(500);
    const runs = ticks(c);
    expect(startedTwice(runs)).toEqual([]);
    for (const id of [...ids, afterId]) expect(runs.filter((r) => r.id === id)).toHaveLength(1);
  });
});
