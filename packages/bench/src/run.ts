/**
 * `pnpm bench`: jetsched and BullMQ (local Redis) doing the same work in one run. Prints a table with
 * ratios and writes bench/results/<time>.json. Numbers from one machine are only comparable within
 * the same run: read the ratios, not the absolute figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { pinnedVersions } from '@jetsched/testkit';
import { runBullmq } from './bullmq-side.js';
import { runJetsched } from './jetsched-side.js';
import { SCENARIO, type JetschedExtras, type SideResult } from './scenarios.js';

function log(s: string): void {
  process.stderr.write(`[bench] ${s}\n`);
}

interface Row {
  metric: string;
  jetsched: number;
  bullmq: number;
  /** jetsched relative to BullMQ, > 1 means jetsched is better. */
  ratio: number;
  unit: string;
  target?: string;
}

function rows(j: SideResult & { extras: JetschedExtras }, b: SideResult): Row[] {
  const better = (higherIsBetter: boolean, x: number, y: number): number => (higherIsBetter ? x / y : y / x);
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

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function table(rs: Row[]): string {
  const head = ['metric', 'jetsched', 'BullMQ', 'unit', 'ratio (>1: jetsched better)', 'target'];
  const body = rs.map((r) => [
    r.metric,
    fmt(r.jetsched),
    fmt(r.bullmq),
    r.unit,
    `${r.ratio.toFixed(2)}x`,
    r.target ?? '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`;
  return [line(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  log(`scenarios: ${JSON.stringify(SCENARIO)}`);
  const jetsched = await runJetsched(log);
  // BENCH_SIDES=jetsched runs jetsched alone (to profile it); the ratios need both sides
  if (process.env['BENCH_SIDES'] === 'jetsched') {
    process.stdout.write(`${JSON.stringify(jetsched, null, 2)}\n`);
    return;
  }
  const bullmq = await runBullmq(log);
  const rs = rows(jetsched, bullmq);
  const out = table(rs);
  const x = jetsched.extras;
  process.stdout.write(
    `\n${out}\n\njetsched only, from the nats-server's counters: ${x.writesPerTask.toFixed(2)} stored writes per no-op task (target <= 3), ` +
      `${x.serverMsgsInPerTask.toFixed(1)} messages in and ${x.serverMsgsOutPerTask.toFixed(1)} out; ` +
      `(d) list of the newest ${SCENARIO.listLimit} failed of ${SCENARIO.listStored} tasks: ${x.listMs.toFixed(1)} ms median, ${x.listP95Ms.toFixed(1)} ms p95 (target < 100)\n\n`,
  );
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
    jetsched: { ...jetsched, ...jetsched.extras },
    bullmq,
    rows: rs,
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
