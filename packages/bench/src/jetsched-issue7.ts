/**
 * Issue 7's scenarios on jetsched, each cluster fresh (./jetsched-stack.ts): bulk with priorities and
 * tenants mixed against plain bulk, a priority-9 task behind a backlog, fairness across 10 tenants,
 * delayed tasks due over 30 s; and on a cluster of its own, the memory of the scheduler, the
 * coordinator and the nats-server with a million tasks delayed.
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

export type Issue7Part = 'priority' | 'urgent' | 'fairness' | 'delay' | 'pending';

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

/**
 * Up to `pendingTasks` tasks delayed an hour or more, submitted for at most `pendingSubmitBudgetMs`;
 * then the resident memory of every process while they wait, on a cluster of their own.
 */
export async function runJetschedPending(log: (s: string) => void): Promise<Partial<Issue7Jetsched>> {
  const stack = await startJetschedStack();
  const { client, pids } = stack;
  const labels = CPU_LABELS.slice(0, pids.length);
  const memory = (pick: 'rssMb' | 'peakMb'): Record<string, number> =>
    Object.fromEntries(pids.map((pid, i) => [labels[i] ?? String(pid), memoryOf(pid)[pick]]));
  try {
    await sleep(2_000);
    const idle = memory('rssMb');
    log(`jetsched: delayed pending: idle RSS ${JSON.stringify(idle)}`);
    const t = Date.now();
    const base = t + ISSUE7.pendingAheadMs;
    // memory as the delayed tasks pile up: every few seconds, with how many were sent by then
    let sent = 0;
    const timeline: Issue7Jetsched['delayedPendingRssTimeline'] = [];
    const sample = setInterval(() => timeline.push({ sent, ...memory('rssMb') }), 15_000);
    const ids = await submitInBatches(
      client,
      ISSUE7.pendingTasks,
      () => (sent++, task('noop', { runAt: base + Math.floor(Math.random() * ISSUE7.pendingAheadMs) })),
      {
        batch: ISSUE7.pendingBatch,
        inFlight: ISSUE7.pendingInFlight,
        until: t + ISSUE7.pendingSubmitBudgetMs,
      },
    ).finally(() => clearInterval(sample));
    const submitSec = (Date.now() - t) / 1000;
    log(
      `jetsched: delayed pending: ${ids.length} submitted in ${submitSec.toFixed(1)} s (${Math.round(ids.length / submitSec)}/s); RSS ${JSON.stringify(memory('rssMb'))}`,
    );
    await sleep(ISSUE7.pendingSettleMs);
    const rss = memory('rssMb');
    const jsm = await jetstreamManager(client.nc);
    const info = await jsm.streams.info(names(stack.prefix).streams.delayed);
    log(
      `jetsched: delayed pending: RSS ${JSON.stringify(rss)}, ${info.state.messages} messages in ${info.config.name}`,
    );
    return {
      delayedPendingCount: ids.length,
      delayedPendingSubmitSec: submitSec,
      delayedPendingSchedulerRssMb: rss['scheduler'] ?? NaN,
      delayedPendingServerRssMb: rss['nats-server'] ?? NaN,
      delayedPendingCoordinatorRssMb: rss['coordinator'] ?? NaN,
      delayedPendingExecutorRssMb: rss['executor'] ?? NaN,
      delayedPendingIdleRssMb: idle,
      delayedPendingPeakRssMb: memory('peakMb'),
      delayedPendingStreamMessages: info.state.messages,
      delayedPendingRssTimeline: timeline,
    };
  } finally {
    await stack.close();
  }
}
