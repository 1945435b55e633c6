/**
 * Issue 7's scenarios on jetsched, each cluster fresh (./jetsched-stack.ts): bulk with priorities and
 * tenants mixed against plain bulk, a priority-9 task behind a backlog, fairness across 10 tenants,
 * delayed tasks due over 30 s; and on clusters of their own, the memory of the scheduler, the
 * coordinator and the nats-server with a million tasks delayed, and a million tasks due in the same
 * second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { type Client } from '@jetsched/client';
import { names, type SubmitRequest } from '@jetsched/protocol';
import { delayScenario, urgentScenario, type Issue7Side } from './issue7.js';
import { Completions, CPU_LABELS, startJetschedStack, submitInBatches } from './jetsched-stack.js';
import { ISSUE7, SCENARIO, type Issue7Jetsched, type Issue7Shared } from './scenarios.js';
import { StampReader, STAMPS_ENV } from './stamps.js';
import { jain, memoryOf } from './stats.js';

export type Issue7Part = 'priority' | 'urgent' | 'fairness' | 'delay' | 'pending' | 'ready' | 'burst';

const task = (type: 'noop' | 'stamp' | 'sleep', extra: Partial<SubmitRequest> = {}): SubmitRequest => ({
  type,
  aggregate: { kind: 'none' },
  ...extra,
});

/** Runs the parts in `want` but `pending`; figures of the parts not run are left out. */
export async function runJetschedIssue7(
  log: (s: string) => void,
  want: ReadonlySet<Issue7Part>,
): Promise<Partial<Issue7Shared & Issue7Jetsched>> {
  const dir = mkdtempSync(join(tmpdir(), 'jetsched-bench-'));
  const stampsFile = join(dir, 'stamps');
  const stack = await startJetschedStack({ [STAMPS_ENV]: stampsFile });
  const { client } = stack;
  const out: Partial<Issue7Shared & Issue7Jetsched> = {};
  try {
    const done = new Completions(client.nc, stack.prefix);
    const stamps = new StampReader(stampsFile);
    /** Seconds from the first submit of `n` tasks made by `make` until all have completed. */
    const bulk = async (n: number, make: (i: number) => SubmitRequest): Promise<number> => {
      done.reset();
      const t = performance.now();
      await submitInBatches(client, n, make);
      await done.waitFor(n);
      return (performance.now() - t) / 1000;
    };
    const tenant = (i: number): string => `tenant-${i}`;
    const mixed = (i: number): SubmitRequest =>
      task('noop', {
        priority: ISSUE7.priorities[i % ISSUE7.priorities.length] ?? 5,
        tenant: tenant(Math.floor(i / ISSUE7.priorities.length) % ISSUE7.tenants),
      });
    log('jetsched (issue 7): warm-up');
    await bulk(SCENARIO.warmupTasks, () => task('noop'));
    await bulk(SCENARIO.warmupTasks, mixed);

    if (want.has('priority')) {
      log(
        `jetsched: priority overhead: ${SCENARIO.bulkTasks} tasks, plain and with ${ISSUE7.priorities.length} priorities x ${ISSUE7.tenants} tenants, ${ISSUE7.priorityRounds} rounds`,
      );
      let plainSec = 0;
      let mixedSec = 0;
      for (let r = 0; r < ISSUE7.priorityRounds; r++) {
        plainSec += await bulk(SCENARIO.bulkTasks, () => task('noop'));
        mixedSec += await bulk(SCENARIO.bulkTasks, mixed);
      }
      out.plainBulkTasksPerSec = (SCENARIO.bulkTasks * ISSUE7.priorityRounds) / plainSec;
      out.priorityBulkTasksPerSec = (SCENARIO.bulkTasks * ISSUE7.priorityRounds) / mixedSec;
      out.priorityOverhead = out.priorityBulkTasksPerSec / out.plainBulkTasksPerSec;
      log(
        `jetsched: priority overhead: plain ${out.plainBulkTasksPerSec.toFixed(0)}/s, mixed ${out.priorityBulkTasksPerSec.toFixed(0)}/s`,
      );
    }

    const side: Issue7Side = {
      name: 'jetsched',
      stamps,
      inFlight: 2,
      async submitDelayed(runAts) {
        return submitInBatches(client, runAts.length, (i) => task('stamp', { runAt: runAts[i] ?? 0 }), {
          batch: runAts.length,
        });
      },
      submitBacklog: (n, ms) =>
        submitInBatches(client, n, () => task('sleep', { priority: 0, payload: { ms } })),
      async submitUrgent() {
        return (await client.submit(task('stamp', { priority: 9 }))).id;
      },
      async describe(ids) {
        const states = new Map<string, number>();
        for (const id of ids.slice(0, 200)) {
          const t = await client.get(id);
          const k = `${t.task.state}${t.task.error ? ` (${t.task.error.code})` : ''}`;
          states.set(k, (states.get(k) ?? 0) + 1);
        }
        return `states of the first ${Math.min(ids.length, 200)}: ${JSON.stringify(Object.fromEntries(states))}; e.g. ${ids.slice(0, 3).join(' ')}`;
      },
    };
    if (want.has('urgent')) Object.assign(out, await urgentScenario(side, log));
    if (want.has('fairness')) Object.assign(out, await fairness(client, stamps, log));
    if (want.has('delay')) Object.assign(out, await delayScenario(side, log));
    return out;
  } finally {
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each tenant submits a backlog while the group is paused; starts per tenant after the resume. */
async function fairness(
  client: Client,
  stamps: StampReader,
  log: (s: string) => void,
): Promise<Pick<Issue7Jetsched, 'fairnessJain' | 'fairnessStartsPerTenant'>> {
  const { fairnessPerTenant: n, fairnessTaskMs: ms, tenants } = ISSUE7;
  log(`jetsched: fairness: ${tenants} tenants of ${n} tasks of ${ms} ms, submitted while paused`);
  await client.pause('default');
  const byTenant: string[][] = [];
  for (let t = 0; t < tenants; t++) {
    byTenant.push(
      await submitInBatches(client, n, () => task('sleep', { tenant: `tenant-${t}`, payload: { ms } })),
    );
  }
  await client.resume('default');
  const from = Date.now() + 500;
  const to = from + ISSUE7.fairnessWindowMs;
  await sleep(to - Date.now() + 100);
  stamps.poll();
  const startsIn = (ids: string[], lo: number, hi: number): number =>
    ids.filter((id) => {
      const at = stamps.startedAt.get(id);
      return at !== undefined && at >= lo && at < hi;
    }).length;
  const counts = byTenant.map((ids) => startsIn(ids, from, to));
  const dry = byTenant.filter((ids) => startsIn(ids, 0, to) >= n).length;
  if (dry > 0) log(`jetsched: fairness: ${dry} tenants ran out of work within the window`);
  await stamps.waitFor(byTenant.flat(), Date.now() + 120_000);
  await sleep(ms + 1_000);
  log(`jetsched: fairness: starts per tenant in the window: ${counts.join(' ')}`);
  return { fairnessJain: jain(counts), fairnessStartsPerTenant: counts };
}

interface Waiting {
  count: number;
  submitSec: number;
  rss: Record<string, number>;
  idle: Record<string, number>;
  peak: Record<string, number>;
  streamMessages: number;
  timeline: ({ sent: number } & Record<string, number>)[];
}

/**
 * Up to `pendingTasks` tasks made by `make`, submitted for at most `pendingSubmitBudgetMs`; then the
 * resident memory of every process while they wait, on a cluster of its own. `stream` is where they
 * wait (its message count is reported); `before` runs once the cluster is up.
 */
async function waitingMemory(
  log: (s: string) => void,
  what: string,
  stream: (prefix: string) => string,
  make: () => SubmitRequest,
  before?: (client: Client) => Promise<unknown>,
): Promise<Waiting> {
  const stack = await startJetschedStack();
  const { client, pids } = stack;
  const labels = CPU_LABELS.slice(0, pids.length);
  const memory = (pick: 'rssMb' | 'peakMb'): Record<string, number> =>
    Object.fromEntries(pids.map((pid, i) => [labels[i] ?? String(pid), memoryOf(pid)[pick]]));
  try {
    await before?.(client);
    await sleep(2_000);
    const idle = memory('rssMb');
    log(`jetsched: ${what}: idle RSS ${JSON.stringify(idle)}`);
    const t = Date.now();
    // memory as the tasks pile up: every few seconds, with how many were sent by then
    let sent = 0;
    const timeline: Waiting['timeline'] = [];
    const sample = setInterval(() => timeline.push({ sent, ...memory('rssMb') }), 15_000);
    const ids = await submitInBatches(client, ISSUE7.pendingTasks, () => (sent++, make()), {
      batch: ISSUE7.pendingBatch,
      inFlight: ISSUE7.pendingInFlight,
      until: t + ISSUE7.pendingSubmitBudgetMs,
    }).finally(() => clearInterval(sample));
    const submitSec = (Date.now() - t) / 1000;
    log(
      `jetsched: ${what}: ${ids.length} submitted in ${submitSec.toFixed(1)} s (${Math.round(ids.length / submitSec)}/s); RSS ${JSON.stringify(memory('rssMb'))}`,
    );
    await sleep(ISSUE7.pendingSettleMs);
    const rss = memory('rssMb');
    const jsm = await jetstreamManager(client.nc);
    const info = await jsm.streams.info(stream(stack.prefix));
    log(
      `jetsched: ${what}: RSS ${JSON.stringify(rss)}, ${info.state.messages} messages in ${info.config.name}`,
    );
    return {
      count: ids.length,
      submitSec,
      rss,
      idle,
      peak: memory('peakMb'),
      streamMessages: info.state.messages,
      timeline,
    };
  } finally {
    await stack.close();
  }
}

/** A million tasks delayed an hour or more: what the roles and the server hold while they wait. */
export async function runJetschedPending(log: (s: string) => void): Promise<Partial<Issue7Jetsched>> {
  const base = Date.now() + ISSUE7.pendingAheadMs;
  const w = await waitingMemory(
    log,
    'delayed pending',
    (prefix) => names(prefix).streams.delayed,
    () => task('noop', { runAt: base + Math.floor(Math.random() * ISSUE7.pendingAheadMs) }),
  );
  return {
    delayedPendingCount: w.count,
    delayedPendingSubmitSec: w.submitSec,
    delayedPendingSchedulerRssMb: w.rss['scheduler'] ?? NaN,
    delayedPendingServerRssMb: w.rss['nats-server'] ?? NaN,
    delayedPendingCoordinatorRssMb: w.rss['coordinator'] ?? NaN,
    delayedPendingExecutorRssMb: w.rss['executor'] ?? NaN,
    delayedPendingIdleRssMb: w.idle,
    delayedPendingPeakRssMb: w.peak,
    delayedPendingStreamMessages: w.streamMessages,
    delayedPendingRssTimeline: w.timeline,
  };
}

/**
 * A million tasks ready in a paused group: the releaser sees them all (it counts and orders them)
 * and releases none. What the scheduler holds must not grow with them.
 */
export async function runJetschedReady(log: (s: string) => void): Promise<Partial<Issue7Jetsched>> {
  let k = 0;
  const w = await waitingMemory(
    log,
    'ready in a paused group',
    (prefix) => names(prefix).streams.ready,
    // 3 priorities x 10 tenants: 30 ready subjects
    () => {
      const i = k++;
      return task('noop', { priority: [0, 5, 9][i % 3] ?? 5, tenant: `tenant-${Math.floor(i / 3) % 10}` });
    },
    (client) => client.pause('default'),
  );
  return {
    readyPendingCount: w.count,
    readyPendingSubmitSec: w.submitSec,
    readyPendingSchedulerRssMb: w.rss['scheduler'] ?? NaN,
    readyPendingServerRssMb: w.rss['nats-server'] ?? NaN,
    readyPendingIdleRssMb: w.idle,
    readyPendingPeakRssMb: w.peak,
    readyPendingStreamMessages: w.streamMessages,
  };
}

/**
 * `burstTasks` no-op tasks, all due in the same second, submitted in batches as an application
 * would; around that second, a probe submits one more delayed task every `burstProbeEveryMs`: how
 * long its submit takes (it writes to the delayed stream) says whether the burst stalls the stream.
 * Then how long until every due notice was handed on to the ready queue.
 */
export async function runJetschedBurst(log: (s: string) => void): Promise<Partial<Issue7Jetsched>> {
  const stack = await startJetschedStack();
  const { client } = stack;
  const n = ISSUE7.burstTasks;
  const far = (): SubmitRequest => task('noop', { delayMs: 3_600_000 });
  try {
    const jsm = await jetstreamManager(client.nc);
    const stream = names(stack.prefix).streams.delayed;
    const due = names(stack.prefix).consumers.due;
    // the submit rate, from tasks due much later, places the second
    let t = Date.now();
    await submitInBatches(client, ISSUE7.burstWarmupTasks, far);
    const rate = ISSUE7.burstWarmupTasks / ((Date.now() - t) / 1000);
    t = Date.now();
    const at = Math.ceil((t + (n / rate) * 1000 * 2 + ISSUE7.delayMarginMs) / 1000) * 1000;
    log(
      `jetsched: burst: ${n} tasks due at one second, ${at - t} ms from now (submitted ${Math.round(rate)}/s)`,
    );
    await submitInBatches(client, n, () => task('noop', { runAt: at }));
    const submitSec = (Date.now() - t) / 1000;
    const stored = (await jsm.streams.info(stream)).state.messages;
    log(
      `jetsched: burst: submitted in ${submitSec.toFixed(1)} s, ${at - Date.now()} ms early; ${stored} schedules stored`,
    );
    if (Date.now() > at) throw new Error('the burst was submitted after its time: raise delayMarginMs');

    // probes from 2 s before the second to 10 s after it
    const probes: { at: number; ms: number }[] = [];
    await sleep(Math.max(0, at - 2_000 - Date.now()));
    while (Date.now() < at + ISSUE7.burstProbeAfterMs) {
      const sent = Date.now();
      await client.submit(far());
      probes.push({ at: sent - at, ms: Date.now() - sent });
      await sleep(ISSUE7.burstProbeEveryMs);
    }
    // every notice handed on: the due consumer has nothing pending or held
    let handedOnMs = NaN;
    while (Date.now() < at + ISSUE7.burstWaitMs) {
      const ci = await jsm.consumers.info(stream, due);
      if (ci.num_pending + ci.num_ack_pending === 0) {
        handedOnMs = Date.now() - at;
        break;
      }
      await sleep(250);
    }
    const before = probes.filter((p) => p.at < 0).map((p) => p.ms);
    const after = probes.filter((p) => p.at >= 0).map((p) => p.ms);
    const figures = {
      burstTasks: n,
      burstSubmitSec: submitSec,
      burstSchedules: stored,
      burstProbeBeforeMaxMs: Math.max(...before),
      burstProbeMaxMs: Math.max(...after),
      burstProbes: probes,
      burstHandedOnMs: handedOnMs,
    };
    log(`jetsched: burst: ${JSON.stringify({ ...figures, burstProbes: undefined })}`);
    return figures;
  } finally {
    await stack.close();
  }
}
