/**
 * Issue 7's scenarios that both systems run, driven alike: delayed tasks due over a window (how late
 * their handlers start), and a high-priority task behind a backlog (how soon its handler starts).
 * Start times are the handlers' own (./stamps.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ISSUE7, inBatches, type Issue7Shared } from './scenarios.js';
import { type StampReader } from './stamps.js';
import { percentile } from './stats.js';

/** What a system does for the shared scenarios. */
export interface Issue7Side {
  /** `jetsched` or `BullMQ`, for the log. */
  name: string;
  stamps: StampReader;
  /** Requests of `submitDelayed` at once. */
  inFlight: number;
  /** Submits one `stamp` task due at each of `runAts` (ms since the epoch), in one request; ids in order. */
  submitDelayed(runAts: number[]): Promise<string[]>;
  /** Submits `n` lowest-priority `sleep` tasks of `ms` each, in batches; ids in order. */
  submitBacklog(n: number, ms: number): Promise<string[]>;
  /** Submits one highest-priority `stamp` task; its id. */
  submitUrgent(): Promise<string>;
  /** Where tasks that never started stand, as the system tells it (for the log). */
  describe?(ids: string[]): Promise<string>;
}

type DelayFigures = Pick<
  Issue7Shared,
  | 'delayLatenessP50Ms'
  | 'delayLatenessP99Ms'
  | 'delayLatenessMaxMs'
  | 'delayEarlyCount'
  | 'delayNotStartedCount'
  | 'delayRepeatedCount'
  | 'delayTasks'
  | 'delaySubmitSec'
  | 'delaySubmitMarginMs'
>;

/**
 * `delayTasks` tasks due at uniformly random times over `delayWindowMs`, the window starting after the
 * submits are expected to end; lateness = handler start - runAt. Tasks that never start count as late
 * by the time waited for them (then the percentiles they reach are lower bounds).
 */
export async function delayScenario(side: Issue7Side, log: (s: string) => void): Promise<DelayFigures> {
  const submit = (runAts: number[]): Promise<string[]> =>
    inBatches(runAts.length, (from, to) => side.submitDelayed(runAts.slice(from, to)), {
      batch: ISSUE7.delayBatch,
      inFlight: side.inFlight,
    });
  // warm-up, and the submit rate that places the window
  const w = ISSUE7.delayWarmupTasks;
  let t = Date.now();
  const warm = await submit(Array.from({ length: w }, () => t + 2_000 + Math.floor(Math.random() * 1_000)));
  const rate = w / ((Date.now() - t) / 1000);
  await side.stamps.waitFor(warm, Date.now() + 60_000);

  const n = ISSUE7.delayTasks;
  t = Date.now();
  const windowStart = Math.round(t + ((n / rate) * 1000 * 1.5 + ISSUE7.delayMarginMs));
  const runAts = Array.from(
    { length: n },
    () => windowStart + Math.floor(Math.random() * ISSUE7.delayWindowMs),
  );
  log(
    `${side.name}: delays: ${n} tasks due over ${ISSUE7.delayWindowMs / 1000} s from ${windowStart - t} ms on ` +
      `(warm-up submitted ${Math.round(rate)}/s)`,
  );
  const ids = await submit(runAts);
  const submitted = Date.now();
  log(
    `${side.name}: delays: submitted in ${((submitted - t) / 1000).toFixed(1)} s, ${windowStart - submitted} ms before the first is due`,
  );
  // until all have started, or none has for a while after the first was due (a task may never
  // start), or at the latest
  await sleep(Math.max(0, windowStart - Date.now()));
  await side.stamps.waitFor(
    ids,
    windowStart + ISSUE7.delayWindowMs + ISSUE7.delayWaitMs,
    ISSUE7.delayStallMs,
  );
  const waited = Date.now();
  // a task that has not started counts as late by the whole wait (a lower bound)
  const lateness: number[] = [];
  let notStarted = 0;
  ids.forEach((id, i) => {
    const at = side.stamps.startedAt.get(id);
    if (at === undefined) notStarted++;
    lateness.push((at ?? waited) - (runAts[i] ?? NaN));
  });
  log(
    `${side.name}: delays: lateness p50/max by 5 s of the window: ${latenessBySlice(runAts, lateness, windowStart)}`,
  );
  lateness.sort((x, y) => x - y);
  if (notStarted > 0 && side.describe) {
    const missing = ids.filter((id) => !side.stamps.startedAt.has(id));
    log(`${side.name}: delays: ${notStarted} never started: ${await side.describe(missing)}`);
  }
  const figures: DelayFigures = {
    delayLatenessP50Ms: percentile(lateness, 50),
    delayLatenessP99Ms: percentile(lateness, 99),
    delayLatenessMaxMs: lateness.at(-1) ?? NaN,
    delayEarlyCount: lateness.filter((x) => x < 0).length,
    delayNotStartedCount: notStarted,
    delayRepeatedCount: ids.filter((id) => side.stamps.repeats.has(id)).length,
    delayTasks: n,
    delaySubmitSec: (submitted - t) / 1000,
    delaySubmitMarginMs: windowStart - submitted,
  };
  log(`${side.name}: delays: ${JSON.stringify(figures)}`);
  return figures;
}

/** Lateness p50/max of the tasks due in each 5 s of the window: growing means the path falls behind. */
function latenessBySlice(runAts: number[], lateness: number[], windowStart: number): string {
  const slices: number[][] = [];
  runAts.forEach((at, i) => {
    const k = Math.floor((at - windowStart) / 5_000);
    (slices[k] ??= []).push(lateness[i] ?? NaN);
  });
  return slices
    .map((l) => {
      l.sort((x, y) => x - y);
      return `${Math.round(percentile(l, 50))}/${Math.round(l.at(-1) ?? NaN)}`;
    })
    .join(' ');
}

type PriorityFigures = Pick<
  Issue7Shared,
  'highPriorityStartMs' | 'highPriorityStartSamplesMs' | 'highPriorityBacklogLeft'
>;

/**
 * A backlog of `backlogTasks` lowest-priority tasks of `backlogTaskMs` fills the executors; then
 * `probes` highest-priority tasks, one at a time: the time from each one's submit to its start.
 */
export async function urgentScenario(side: Issue7Side, log: (s: string) => void): Promise<PriorityFigures> {
  log(
    `${side.name}: priority: ${ISSUE7.probes} urgent tasks behind ${ISSUE7.backlogTasks} of ${ISSUE7.backlogTaskMs} ms`,
  );
  const backlog = await side.submitBacklog(ISSUE7.backlogTasks, ISSUE7.backlogTaskMs);
  const t0 = Date.now();
  const samples: number[] = [];
  const left: number[] = [];
  for (let k = 0; k < ISSUE7.probes; k++) {
    await sleep(Math.max(0, t0 + 1_000 + k * ISSUE7.probeEveryMs - Date.now()));
    side.stamps.poll();
    left.push(backlog.filter((id) => !side.stamps.startedAt.has(id)).length);
    const sent = Date.now();
    const id = await side.submitUrgent();
    await side.stamps.waitFor([id], Date.now() + 30_000);
    samples.push((side.stamps.startedAt.get(id) ?? NaN) - sent);
  }
  // the backlog drains before the next scenario
  await side.stamps.waitFor(backlog, Date.now() + 120_000);
  await sleep(ISSUE7.backlogTaskMs + 1_000);
  const figures: PriorityFigures = {
    highPriorityStartMs: percentile(
      samples.slice().sort((x, y) => x - y),
      50,
    ),
    highPriorityStartSamplesMs: samples,
    highPriorityBacklogLeft: left,
  };
  log(`${side.name}: priority: ${JSON.stringify(figures)}`);
  return figures;
}
