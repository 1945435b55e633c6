/**
 * `pnpm bench`: jetsched and BullMQ (local Redis) doing the same work in one run. Prints a table with
 * ratios and writes bench/results/<time>.json. Numbers from one machine are only comparable within
 * the same run: read the ratios, not the absolute figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { pinnedVersions } from '@jetsched/testkit';
import { runBullmqIssue7 } from './bullmq-issue7.js';
import { runBullmq } from './bullmq-side.js';
import {
  runJetschedBurst,
  runJetschedIssue7,
  runJetschedPending,
  runJetschedReady,
  type Issue7Part,
} from './jetsched-issue7.js';
import { runJetsched } from './jetsched-side.js';
import {
  ISSUE7,
  SCENARIO,
  type Issue7Jetsched,
  type Issue7Shared,
  type JetschedExtras,
  type SideResult,
} from './scenarios.js';

function log(s: string): void {
  process.stderr.write(`[bench] ${s}\n`);
}

interface Row {
  metric: string;
  jetsched: number;
  /** Absent where BullMQ has no such figure. */
  bullmq?: number;
  /** jetsched relative to BullMQ, > 1 means jetsched is better. */
  ratio?: number;
  unit: string;
  target?: string;
}

const better = (higherIsBetter: boolean, x: number, y: number): number => (higherIsBetter ? x / y : y / x);

function rows(j: SideResult & { extras: JetschedExtras }, b: SideResult): Row[] {
  return [
    {
      metric: '(a) bulk no-op tasks, end to end',
      jetsched: j.bulkTasksPerSec,
      bullmq: b.bulkTasksPerSec,
      ratio: better(true, j.bulkTasksPerSec, b.bulkTasksPerSec),
      unit: 'tasks/s',
      target: '>= 1.0',
    },
    {
      metric: '(a) CPU per task, all processes',
      jetsched: j.bulkCpuMsPerTask,
      bullmq: b.bulkCpuMsPerTask,
      ratio: better(false, j.bulkCpuMsPerTask, b.bulkCpuMsPerTask),
      unit: 'ms',
      target: '>= 1.0',
    },
    {
      metric: `(b) ${SCENARIO.splitItems} items split, to result (defaults)`,
      jetsched: j.splitMs,
      bullmq: b.splitMs,
      ratio: better(false, j.splitMs, b.splitMs),
      unit: 'ms',
      target: '>= 1.5',
    },
    {
      metric: '(b) CPU, all processes',
      jetsched: j.splitCpuMs,
      bullmq: b.splitCpuMs,
      ratio: better(false, j.splitCpuMs, b.splitCpuMs),
      unit: 'ms',
    },
    {
      metric: `(b') same, ${SCENARIO.splitPerMessage} subtasks per message`,
      jetsched: j.splitBatchedMs ?? NaN,
      bullmq: b.splitMs,
      ratio: better(false, j.splitBatchedMs ?? NaN, b.splitMs),
      unit: 'ms',
    },
    {
      metric: "(b') CPU, all processes",
      jetsched: j.splitBatchedCpuMs ?? NaN,
      bullmq: b.splitCpuMs,
      ratio: better(false, j.splitBatchedCpuMs ?? NaN, b.splitCpuMs),
      unit: 'ms',
    },
    {
      metric: `(c) latency p50 at ${SCENARIO.latencyRate}/s`,
      jetsched: j.latencyP50Ms,
      bullmq: b.latencyP50Ms,
      ratio: better(false, j.latencyP50Ms, b.latencyP50Ms),
      unit: 'ms',
    },
    {
      metric: `(c) latency p99 at ${SCENARIO.latencyRate}/s`,
      jetsched: j.latencyP99Ms,
      bullmq: b.latencyP99Ms,
      ratio: better(false, j.latencyP99Ms, b.latencyP99Ms),
      unit: 'ms',
      target: '>= 0.67',
    },
    {
      metric: '(c) CPU per task, all processes',
      jetsched: j.latencyCpuMsPerTask,
      bullmq: b.latencyCpuMsPerTask,
      ratio: better(false, j.latencyCpuMsPerTask, b.latencyCpuMsPerTask),
      unit: 'ms',
    },
  ];
}

/** Issue 7's rows, of the figures measured (`BENCH_ISSUE7` may leave parts out). */
function issue7Rows(j: Partial<Issue7Shared & Issue7Jetsched>, b: Partial<Issue7Shared>): Row[] {
  const out: Row[] = [];
  const both = (metric: string, key: keyof Issue7Shared, unit: string, target?: string): void => {
    const x = j[key];
    const y = b[key];
    if (typeof x !== 'number' || typeof y !== 'number') return;
    out.push({
      metric,
      jetsched: x,
      bullmq: y,
      ratio: better(false, x, y),
      unit,
      ...(target ? { target } : {}),
    });
  };
  const only = (metric: string, x: number | undefined, unit: string, target?: string): void => {
    if (x !== undefined) out.push({ metric, jetsched: x, unit, ...(target ? { target } : {}) });
  };
  const delayed = `${ISSUE7.delayTasks} delayed tasks due over ${ISSUE7.delayWindowMs / 1000} s`;
  both(`(e) ${delayed}: lateness p50`, 'delayLatenessP50Ms', 'ms');
  both(`(e) ${delayed}: lateness p99`, 'delayLatenessP99Ms', 'ms', '>= 1.0 and < 500 ms');
  both('(e) lateness, max', 'delayLatenessMaxMs', 'ms');
  only('(e) started early (jetsched)', j.delayEarlyCount, 'tasks', '0');
  only('(e) started early (BullMQ)', b.delayEarlyCount, 'tasks');
  only(
    '(e) not started / started twice (jetsched)',
    sumOf(j.delayNotStartedCount, j.delayRepeatedCount),
    'tasks',
    '0',
  );
  const pending = `(f) ${j.delayedPendingCount ?? ISSUE7.pendingTasks} tasks delayed 1 h+`;
  only(`${pending}: scheduler RSS`, j.delayedPendingSchedulerRssMb, 'MiB', '<= 300');
  only(`${pending}: nats-server RSS`, j.delayedPendingServerRssMb, 'MiB');
  only(`${pending}: coordinator RSS`, j.delayedPendingCoordinatorRssMb, 'MiB');
  const ready = `(f') ${j.readyPendingCount ?? ISSUE7.pendingTasks} tasks ready in a paused group`;
  only(`${ready}: scheduler RSS`, j.readyPendingSchedulerRssMb, 'MiB', '<= 300');
  only(`${ready}: nats-server RSS`, j.readyPendingServerRssMb, 'MiB');
  const burst = `(j) ${j.burstTasks ?? ISSUE7.burstTasks} tasks due in the same second`;
  only(`${burst}: longest delayed submit, 2 s before`, j.burstProbeBeforeMaxMs, 'ms');
  only(`${burst}: longest delayed submit, 10 s from it`, j.burstProbeMaxMs, 'ms', 'no stall');
  only(`${burst}: all handed on after`, j.burstHandedOnMs, 'ms');
  only(
    `(g) bulk, ${ISSUE7.priorities.length} priorities x ${ISSUE7.tenants} tenants / plain`,
    j.priorityOverhead,
    'x',
    '>= 0.9',
  );
  both(
    `(h) priority-9 task behind ${ISSUE7.backlogTasks} of ${ISSUE7.backlogTaskMs} ms: start`,
    'highPriorityStartMs',
    'ms',
  );
  only(`(i) fairness, Jain's index over ${ISSUE7.tenants} tenants`, j.fairnessJain, '', '>= 0.95');
  return out;
}

function sumOf(...xs: (number | undefined)[]): number | undefined {
  return xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, x) => a + (x ?? 0), 0);
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function table(rs: Row[]): string {
  const head = ['metric', 'jetsched', 'BullMQ', 'unit', 'ratio (>1: jetsched better)', 'target'];
  const body = rs.map((r) => [
    r.metric,
    fmt(r.jetsched),
    r.bullmq === undefined ? '' : fmt(r.bullmq),
    r.unit,
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
    r.target ?? '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const ISSUE7_PARTS: Issue7Part[] = ['priority', 'urgent', 'fairness', 'delay', 'pending', 'ready', 'burst'];

async function main(): Promise<void> {
  // BENCH_ONLY=issue7 runs issue 7's scenarios alone; BENCH_ISSUE7=delay,pending (or none) picks among them
  const base = process.env['BENCH_ONLY'] !== 'issue7';
  const parts = new Set(
    (process.env['BENCH_ISSUE7'] ?? ISSUE7_PARTS.join(','))
      .split(',')
      .filter((p): p is Issue7Part => (ISSUE7_PARTS as string[]).includes(p)),
  );
  log(`scenarios: ${JSON.stringify(SCENARIO)}`);
  log(`issue 7: ${[...parts].join(', ') || 'none'}: ${JSON.stringify(ISSUE7)}`);
  const jetsched = base ? await runJetsched(log) : undefined;
  // BENCH_SIDES=jetsched runs jetsched alone (to profile it); the ratios need both sides
  if (process.env['BENCH_SIDES'] === 'jetsched') {
    process.stdout.write(`${JSON.stringify(jetsched, null, 2)}\n`);
    return;
  }
  const j7 = [...parts].some((p) => p !== 'pending' && p !== 'ready' && p !== 'burst')
    ? await runJetschedIssue7(log, parts)
    : {};
  const bullmq = base ? await runBullmq(log) : undefined;
  const b7 = parts.has('urgent') || parts.has('delay') ? await runBullmqIssue7(log, parts) : {};
  // last and on a cluster of its own: a million tasks left delayed
  if (parts.has('pending')) Object.assign(j7, await runJetschedPending(log));
  if (parts.has('ready')) Object.assign(j7, await runJetschedReady(log));
  if (parts.has('burst')) Object.assign(j7, await runJetschedBurst(log));

  const rs = jetsched && bullmq ? rows(jetsched, bullmq) : [];
  const rs7 = issue7Rows(j7, b7);
  let text = '\n';
  if (rs.length > 0) text += `${table(rs)}\n\n`;
  if (jetsched) {
    const x = jetsched.extras;
    text +=
      `jetsched only, from the nats-server's counters: ${x.writesPerTask.toFixed(2)} stored writes per no-op task (target <= 3), ` +
      `${x.serverMsgsInPerTask.toFixed(1)} messages in and ${x.serverMsgsOutPerTask.toFixed(1)} out; ` +
      `(d) list of the newest ${SCENARIO.listLimit} failed of ${SCENARIO.listStored} tasks: ${x.listMs.toFixed(1)} ms median, ${x.listP95Ms.toFixed(1)} ms p95 (target < 100); ` +
      `(k) dashboard, ${SCENARIO.listStored} tasks stored: task list's first page in Chromium ${x.dashboardFirstPageMs.toFixed(0)} ms, ` +
      `failed only ${x.dashboardFailedPageMs.toFixed(0)} ms (target < 1000); bulk with metrics scraped and the overview open / without: ` +
      `${x.dashboardBulkRatio.toFixed(3)} (target >= 0.95), CPU per task ${x.dashboardBulkCpuRatio.toFixed(3)} (of the roles and nats-server ${x.dashboardClusterCpuRatio.toFixed(3)}); ` +
      `serving them costs the cluster ${(100 * x.dashboardServingShare).toFixed(2)}% of its CPU at bulk (target < 5%), ` +
      `the browser on the same machine ${(100 * x.dashboardBrowserShare).toFixed(2)}% more\n\n`;
  }
  if (rs7.length > 0) text += `Issue 7:\n${table(rs7)}\n\n`;
  process.stdout.write(text);
  const result = {
    at: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    natsServer: pinnedVersions()?.natsServer,
    scenario: SCENARIO,
    issue7: { parts: [...parts], ...ISSUE7 },
    jetsched: { ...jetsched, ...jetsched?.extras, ...j7 },
    bullmq: { ...bullmq, ...b7 },
    rows: rs,
    issue7Rows: rs7,
  };
  const dir = new URL('../../../bench/results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${result.at.replace(/[:.]/g, '-')}.json`, dir);
  writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${file.pathname}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
