import { percentile } from './stats.js';

/** The three measured scenarios, with the parameters both systems share. */
export const SCENARIO = {
  /** (a) independent no-op tasks submitted in bulk. */
  bulkTasks: 20_000,
  bulkBatch: 1_000,
  /** (b) one task split into this many items... */
  splitItems: 100_000,
  /** ...in chunks of this many items per subtask (BullMQ: per child job). */
  splitChunk: 100,
  /** ...run again with this many subtasks per work message (jetsched's `subtasksPerMessage`). */
  splitPerMessage: 16,
  /** (c) single tasks submitted one by one at this rate... */
  latencyRate: 500,
  /** ...this many of them. */
  latencyTasks: 2_000,
  /** Handler concurrency of the one executor / worker process. */
  concurrency: 100,
  warmupTasks: 1_000,
  /** Items of the split task (one per side) that warms up the code paths of (b) before it is measured. */
  warmupSplitItems: 100_000,
  /** (d) tasks stored before listing (every `listFailEvery`-th one fails)... */
  listStored: 100_000,
  listFailEvery: 10,
  /** ...then `list` of the newest this many failed tasks, timed this many times. */
  listLimit: 100,
  listRuns: 20,
} as const;

/** Issue 7's scenarios: delays, memory with tasks delayed, priorities and fairness. */
export const ISSUE7 = {
  /** Delayed tasks due at random times over a window of this length... */
  delayTasks: 100_000,
  delayWindowMs: 30_000,
  /** ...submitted in batches of this many; the window starts this long after the submits are
   * expected to end (1.5 times the time the warm-up's submit rate predicts)... */
  delayBatch: 1_000,
  delayMarginMs: 5_000,
  /** Starts are awaited until this long after the window, or until none has come for this long. */
  delayWaitMs: 120_000,
  delayStallMs: 15_000,
  /** ...after this many delayed tasks due within a few seconds, which warm the path and give the rate. */
  delayWarmupTasks: 5_000,
  /** Tasks left delayed (runAt this far ahead, spread over as long again) while memory is read... */
  pendingTasks: 1_000_000,
  pendingAheadMs: 3_600_000,
  /** ...submitted for at most this long, in batches of this many, this many requests at once... */
  pendingSubmitBudgetMs: 180_000,
  pendingBatch: 2_000,
  pendingInFlight: 2,
  /** ...then read this long after the last submit (and the roles' and server's memory before). */
  pendingSettleMs: 10_000,
  /** This many tasks due in the same second (after this many delayed an hour, for the submit rate)... */
  burstTasks: 1_000_000,
  burstWarmupTasks: 20_000,
  /** ...while one more delayed task is submitted this often, until this long after the second... */
  burstProbeEveryMs: 100,
  burstProbeAfterMs: 10_000,
  /** ...then until every notice is handed on, at most this long after the second. */
  burstWaitMs: 120_000,
  /** Bulk of (a)'s shape with these priorities and this many tenants mixed, against plain bulk... */
  priorities: [0, 5, 9],
  tenants: 10,
  /** ...each measured this many times, alternately. */
  priorityRounds: 2,
  /** A backlog of this many priority-0 tasks of this many ms each fills the executor... */
  backlogTasks: 5_000,
  backlogTaskMs: 100,
  /** ...while this many priority-9 tasks are submitted one at a time, this often, the first after 1 s. */
  probes: 5,
  probeEveryMs: 500,
  /** Each of `tenants` submits this many tasks of this many ms, while the group is paused... */
  fairnessPerTenant: 2_000,
  fairnessTaskMs: 20,
  /** ...and after the resume, starts per tenant are counted over this window (from 0.5 s after). */
  fairnessWindowMs: 3_000,
} as const;

/** Issue 7's figures both systems have. */
export interface Issue7Shared {
  /**
   * Handler start - runAt, over `delayTasks` tasks due over `delayWindowMs`; a task that never started
   * counts as late by the time waited for it (a lower bound).
   */
  delayLatenessP50Ms: number;
  delayLatenessP99Ms: number;
  delayLatenessMaxMs: number;
  /** Tasks whose handler started before their runAt (must be 0). */
  delayEarlyCount: number;
  /** Delayed tasks that had not started when the wait ended (must be 0); counted as late by the wait. */
  delayNotStartedCount: number;
  /** Tasks whose handler ran more than once. */
  delayRepeatedCount: number;
  delayTasks: number;
  delaySubmitSec: number;
  /** Time from the last submit to the first runAt (> 0: every task was submitted before it was due). */
  delaySubmitMarginMs: number;
  /** Median time from submitting a priority-9 task to its handler's start, behind the backlog. */
  highPriorityStartMs: number;
  highPriorityStartSamplesMs: number[];
  /** Backlog tasks that had not started yet when each probe was submitted. */
  highPriorityBacklogLeft: number[];
}

/** Issue 7's figures of jetsched only. */
export interface Issue7Jetsched {
  /** Tasks left delayed while memory was read (fewer than `pendingTasks` when the budget ran out). */
  delayedPendingCount: number;
  delayedPendingSubmitSec: number;
  delayedPendingSchedulerRssMb: number;
  delayedPendingServerRssMb: number;
  delayedPendingCoordinatorRssMb: number;
  delayedPendingExecutorRssMb: number;
  /** The same processes before the submits, and their peaks (VmHWM) over the whole scenario. */
  delayedPendingIdleRssMb: Record<string, number>;
  delayedPendingPeakRssMb: Record<string, number>;
  /** Messages in the delayed stream when memory was read (one schedule per delayed task). */
  delayedPendingStreamMessages: number;
  /** RSS (MiB) of each process every 15 s while submitting, with the tasks sent by then. */
  delayedPendingRssTimeline: ({ sent: number } & Record<string, number>)[];
  /** Tasks ready in a paused group while memory was read, and what held them. */
  readyPendingCount: number;
  readyPendingSubmitSec: number;
  readyPendingSchedulerRssMb: number;
  readyPendingServerRssMb: number;
  readyPendingIdleRssMb: Record<string, number>;
  readyPendingPeakRssMb: Record<string, number>;
  readyPendingStreamMessages: number;
  burstTasks: number;
  burstSubmitSec: number;
  /** Messages in the delayed stream once the burst was submitted (tasks submitted together share one). */
  burstSchedules: number;
  /** Longest submit of a delayed task in the 2 s before the second, and from it on for 10 s. */
  burstProbeBeforeMaxMs: number;
  burstProbeMaxMs: number;
  burstProbes: { at: number; ms: number }[];
  /** From the second until every due notice was handed on to the ready queue (NaN: not within the wait). */
  burstHandedOnMs: number;
  priorityOverhead: number;
  plainBulkTasksPerSec: number;
  priorityBulkTasksPerSec: number;
  fairnessJain: number;
  fairnessStartsPerTenant: number[];
}

export interface SideResult {
  bulkTasksPerSec: number;
  bulkCpuMsPerTask: number;
  splitMs: number;
  splitCpuMs: number;
  /** (b) with several subtasks per work message; jetsched only (BullMQ has no such setting). */
  splitBatchedMs?: number;
  splitBatchedCpuMs?: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyCpuMsPerTask: number;
}

/** What jetsched measures besides the shared scenarios, from the nats-server's own counters. */
export interface JetschedExtras {
  /** Acknowledged stream writes per no-op task in (a): messages stored in every stream (KV included). */
  writesPerTask: number;
  /** Messages the server received per no-op task in (a) (`in_msgs` of /varz: publishes, acks, API requests). */
  serverMsgsInPerTask: number;
  /** Messages the server sent per no-op task in (a) (`out_msgs` of /varz). */
  serverMsgsOutPerTask: number;
  /** (d) median time of `list` of the newest `listLimit` failed tasks with `listStored` tasks stored. */
  listMs: number;
  listP95Ms: number;
  /** (k) ms to the first row of the dashboard's task list in Chromium, with `listStored` tasks stored. */
  dashboardFirstPageMs: number;
  /** The same filtered to failed tasks. */
  dashboardFailedPageMs: number;
  /** (k) bulk throughput with metrics scraped and the dashboard's overview open, over without. */
  dashboardBulkRatio: number;
  /** (k) CPU per bulk task, every process and the browser's, with them over without. */
  dashboardBulkCpuRatio: number;
  /** The same, of the role processes and the nats-server only. */
  dashboardClusterCpuRatio: number;
  /** (k) the cluster's CPU serving metrics and the dashboard, as a share of its CPU at bulk throughput. */
  dashboardServingShare: number;
  /** (k) Chromium's CPU with the overview open, as the same share. */
  dashboardBrowserShare: number;
}

/** What one side measured, raw: wall times, CPU seconds, and per-task submit and completion times. */
export interface SideMeasurements {
  bulkSec: number;
  bulkCpuSec: number;
  splitMs: number;
  splitCpuSec: number;
  splitBatched?: { ms: number; cpuSec: number };
  sentAt: Map<string, number>;
  doneAt: Map<string, number>;
  latencyCpuSec: number;
}

export function sideResult(m: SideMeasurements): SideResult {
  const latencies = [...m.sentAt].map(([id, t0]) => (m.doneAt.get(id) ?? NaN) - t0).sort((x, y) => x - y);
  return {
    bulkTasksPerSec: SCENARIO.bulkTasks / m.bulkSec,
    bulkCpuMsPerTask: (m.bulkCpuSec * 1000) / SCENARIO.bulkTasks,
    splitMs: m.splitMs,
    splitCpuMs: m.splitCpuSec * 1000,
    ...(m.splitBatched
      ? { splitBatchedMs: m.splitBatched.ms, splitBatchedCpuMs: m.splitBatched.cpuSec * 1000 }
      : {}),
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    latencyCpuMsPerTask: (m.latencyCpuSec * 1000) / SCENARIO.latencyTasks,
  };
}

/**
 * Sends `n` items in batches of `batch` through `send(from, to)`, `inFlight` batches at once, and
 * returns what `send` returns for each item, in order. With `until` (a `Date.now()` time), no batch
 * is sent after it has passed: then fewer than `n` come back. A batch is taken only when it is sent,
 * and every batch sent is waited for, so what comes back has no gaps.
 */
export async function inBatches<T>(
  n: number,
  send: (from: number, to: number) => Promise<T[]>,
  opts: { batch: number; inFlight?: number; until?: number },
): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n && (opts.until === undefined || Date.now() <= opts.until)) {
      const from = next;
      next = Math.min(n, next + opts.batch);
      const got = await send(from, next);
      got.forEach((x, k) => (out[from + k] = x));
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight ?? 1 }, lane));
  return out;
}

/** Sends `count` calls of `fire` at `rate` per second, open loop (not waiting for completions). */
export async function openLoop(count: number, rate: number, fire: (i: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    fire(i);
  }
}
