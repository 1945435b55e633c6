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
