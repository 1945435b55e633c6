/**
 * Rate and concurrency limits, per group and per fairness key, hold across 3 executor processes and
 * 2 scheduler processes while the scheduler releasing for the group is killed with SIGKILL: the other
 * takes the lease over, counts what is in flight from the work stream, goes on from the rate windows
 * written with the dead holder's rounds, and never lets more run at once or start in a window than
 * the limits allow. Judged only from the executors' ledger of handler starts and ends
 * (`lim-start|lim-end <taskId> <index> <key> <ms> <executor>`, test/fixtures/jobs.mjs), never from
 * the scheduler's own bookkeeping; and every task runs exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kvm } from '@nats-io/kv';
import { names, type LimitSpec } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';
import { maxConcurrent, maxInWindow } from './helpers/windows.js';

const GROUP = 'default';
const KEY_CONCURRENCY = 2;
const GROUP_CONCURRENCY = 5;
const GROUP_RATE = { limit: 15, intervalMs: 1_000 };
/** Longer than the takeover: the survivor must go on from the dead holder's window, not a new one. */
const C_RATE = { limit: 4, intervalMs: 10_000 };
/**
 * A limit's rate bounds releases. A subtask starts a few ms after its release, but on a loaded
 * machine (2 cores, 6 role processes) that lag varies by up to ~200 ms, so starts can bunch up a
 * little more than releases: starts are counted in windows this much shorter than the rate's.
 */
const START_LAG_SPREAD_MS = 250;
const LIMITS: LimitSpec[] = [
  { id: 'per-key', per: 'key', concurrency: KEY_CONCURRENCY },
  { id: 'group-conc', per: 'group', concurrency: GROUP_CONCURRENCY },
  { id: 'group-rate', per: 'group', rate: GROUP_RATE },
  { id: 'c-rate', per: 'key', only: 'c', rate: C_RATE },
];
/**
 * Per key, how long each of its tasks runs (ms), in the order they are submitted. `a` is held by its
 * concurrency, and its first two run through the takeover (the survivor must count them in flight);
 * `b` is held by the group's rate; `c` by its own rate, whose window outlasts the takeover.
 */
const WORK: Record<string, number[]> = {
  a: [10_000, 10_000, ...Array<number>(16).fill(300)],
  b: Array<number>(60).fill(20),
  c: Array<number>(8).fill(20),
};

interface Run {
  key: string;
  start: number;
  end: number | undefined;
  starts: number;
}

/** The handler runs of the ledger, by `<taskId>.<index>`. */
function runsOf(lines: string[]): Map<string, Run> {
  const runs = new Map<string, Run>();
  for (const l of lines) {
    const [what, id, index, key, at] = l.split(' ');
    if (what !== 'lim-start' && what !== 'lim-end') continue;
    const k = `${id}.${index}`;
    const r = runs.get(k) ?? { key: key as string, start: Number(at), end: undefined, starts: 0 };
    if (what === 'lim-start') r.starts++;
    else r.end = Number(at);
    runs.set(k, r);
  }
  return runs;
}

describe('limits across 3 executors and 2 schedulers, the releasing one killed', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
  });
  afterAll(() => c?.close());

  it('the observed maxima never exceed the limits, and every task runs once', async () => {
    // the settings go in before any scheduler starts, so every round of both sees them
    await c.procs.start('coordinator').ready;
    await c.client.setGroupSettings({ group: GROUP, limits: LIMITS });
    for (let i = 0; i < 3; i++) c.procs.start('executor', ['--concurrency', '4']);
    const schedulers = [c.procs.start('scheduler'), c.procs.start('scheduler')];
    await Promise.all(c.procs.all.map((p) => p.ready));

    const ids: string[] = [];
    for (const [key, times] of Object.entries(WORK)) {
      const replies = await c.client.submitMany(
        times.map((ms) => ({ type: 'limited', fairnessKey: key, payload: { key, ms } })),
      );
      for (const r of replies) {
        if (!r.ok) throw new Error(`submit refused: ${JSON.stringify(r)}`);
        ids.push(r.id);
      }
    }

    // a third of the way through, the scheduler holding the group's release lease dies
    await c.waitForLedger((lines) => lines.filter((l) => l.startsWith('lim-start ')).length >= 35);
    const kv = await new Kvm(c.nc).open(names(c.prefix).buckets.release);
    const holder = (await kv.get(GROUP))?.json<{ holder: string }>().holder;
    const victim = schedulers.find((p) => c.procs.logOf(p).includes(`"id":"${holder}"`));
    if (!victim) throw new Error(`no scheduler process logged the lease holder's id ${holder}`);
    const survivor = schedulers.find((p) => p !== victim);
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    const startedBefore = c.ledger().filter((l) => l.startsWith('lim-start ')).length;

    await Promise.all(ids.map((id) => c.client.result(id, { timeoutMs: 40_000 })));
    const runs = runsOf(c.ledger());

    // every task ran exactly once, to its end
    expect(runs.size).toBe(ids.length);
    expect([...runs].filter(([, r]) => r.starts !== 1 || r.end === undefined)).toEqual([]);
    // the survivor took over and released the rest
    const tookOver = c.procs
      .logOf(survivor as NonNullable<typeof survivor>)
      .split('\n')
      .filter((l) => l.includes('"msg":"releasing for the group"'))
      .at(-1);
    expect(tookOver, c.procs.logs()).toBeDefined();
    const tookOverAt = (JSON.parse(tookOver as string) as { time: number }).time;
    expect(tookOverAt).toBeGreaterThan(killedAt);
    const all = [...runs.values()];
    const after = all.filter((r) => r.start > tookOverAt).length;

    const byKey = (k: string): Run[] => all.filter((r) => r.key === k);
    const seen = {
      startedBeforeKill: startedBefore,
      startedAfterTakeover: after,
      takeoverMs: tookOverAt - killedAt,
      // runs of `a` the dead holder released that were still running when the survivor took over
      aRunningAtTakeover: byKey('a').filter((r) => r.start < killedAt && (r.end ?? 0) > tookOverAt).length,
      cStartsBeforeKill: byKey('c').filter((r) => r.start < killedAt).length,
      concurrent: Object.fromEntries(Object.keys(WORK).map((k) => [k, maxConcurrent(byKey(k))])),
      concurrentGroup: maxConcurrent(all),
      startsInWindowGroup: maxInWindow(
        all.map((r) => r.start),
        GROUP_RATE.intervalMs - START_LAG_SPREAD_MS,
      ),
      startsInWindowC: maxInWindow(
        byKey('c').map((r) => r.start),
        C_RATE.intervalMs - START_LAG_SPREAD_MS,
      ),
    };
    const msg = JSON.stringify(seen);
    // the kill fell in the middle of the work: the survivor found work of `a` in flight and a
    // window of `c` still full
    expect(after, msg).toBeGreaterThan(0);
    expect(seen.aRunningAtTakeover, msg).toBe(KEY_CONCURRENCY);
    expect(seen.cStartsBeforeKill, msg).toBe(C_RATE.limit);
    // no limit exceeded, before, during or after the takeover
    for (const k of Object.keys(WORK)) expect(seen.concurrent[k], msg).toBeLessThanOrEqual(KEY_CONCURRENCY);
    expect(seen.concurrentGroup, msg).toBeLessThanOrEqual(GROUP_CONCURRENCY);
    expect(seen.startsInWindowGroup, msg).toBeLessThanOrEqual(GROUP_RATE.limit);
    expect(seen.startsInWindowC, msg).toBeLessThanOrEqual(C_RATE.limit);
    // and the limits were reached, so that they were what held the work back
    expect(seen.concurrent['a'], msg).toBe(KEY_CONCURRENCY);
    expect(seen.startsInWindowGroup, msg).toBeGreaterThanOrEqual(GROUP_RATE.limit - 4);
    expect(seen.startsInWindowC, msg).toBe(C_RATE.limit);
  });
});
