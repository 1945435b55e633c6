/**
 * (k) The dashboard under the bench, on the stack of (a)-(d) once (d) has stored its 100,000 tasks:
 * - how soon the task list shows its first page, measured in Chromium: `performance.now()` of the
 *   page (ms since its navigation started) when the first row is there; a new browser context each
 *   time, so nothing is cached;
 * - what serving metrics and the dashboard costs: bulk runs of (a) alternately without and with the
 *   overview page open (it reads the roles' metrics every second and plots them) while every role's
 *   `/metrics` is also scraped every second; the ratios of their median throughputs and of their
 *   CPU per task, Chromium's own CPU counted (it shares the machine's two cores).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { startDashboard } from '@jetsched/dashboard';
import { launchChromium, type Browser } from '@jetsched/testkit/browser';
import type { JetschedStack } from './jetsched-stack.js';
import { SCENARIO } from './scenarios.js';
import { cpuSeconds, measureCpu, percentile, pidOf } from './stats.js';

export interface DashboardFigures {
  /** Median ms to the first row of the unfiltered task list. */
  firstPageMs: number;
  /** The same, filtered to failed tasks. */
  firstFailedPageMs: number;
  /** Bulk throughput with metrics scraped and the overview open, over without (1: no cost). */
  bulkRatio: number;
  /** CPU per bulk task (every process, the browser's too) with them, over without (1: no cost). */
  bulkCpuRatio: number;
  /** The same of the roles and the nats-server only. */
  clusterCpuRatio: number;
  /**
   * The CPU the roles and the nats-server spend serving metrics and the dashboard (idle, with them
   * less without), over what they spend at bulk throughput: the share of bulk capacity it takes.
   */
  servingShare: number;
  /** Chromium's CPU with the overview open, over the same. */
  browserShare: number;
}

const PAGE_LOADS = 5;
const BULK_PAIRS = 6;

export async function measureDashboard(
  stack: JetschedStack,
  bulk: (n: number) => Promise<void>,
  log: (s: string) => void,
): Promise<DashboardFigures> {
  const ws = stack.server.wsUrl;
  if (!ws) throw new Error('the bench nats-server has no WebSocket listener');
  const dashboard = await startDashboard({ servers: [ws], prefix: stack.prefix, port: 0 });
  const browser = await launchChromium();
  try {
    const firstRow = async (hash: string): Promise<number> => {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      try {
        const page = await context.newPage();
        await page.goto(`${dashboard.url}${hash}`);
        await page.locator('tr[data-task]').first().waitFor({ timeout: 30_000 });
        const [row, connected] = await page.evaluate(() => [
          performance.now(),
          performance.getEntriesByName('jetsched:connected')[0]?.startTime ?? NaN,
        ]);
        log(
          `jetsched: (k) ${hash}: connected to NATS at ${connected?.toFixed(0)} ms, first row at ${row?.toFixed(0)} ms`,
        );
        return row ?? NaN;
      } finally {
        await context.close();
      }
    };
    const medianFirstRow = async (hash: string): Promise<number> => {
      await firstRow(hash); // the server's and the coordinator's first read of this page
      const times: number[] = [];
      for (let i = 0; i < PAGE_LOADS; i++) times.push(await firstRow(hash));
      return percentile(times.sort(byValue), 50);
    };
    log('jetsched: (k) the dashboard task list with the stored tasks');
    const firstPageMs = await medianFirstRow('#/tasks');
    const firstFailedPageMs = await medianFirstRow('#/tasks?state=failed');
    log(`jetsched: (k) first page ${firstPageMs.toFixed(0)} ms, failed ${firstFailedPageMs.toFixed(0)} ms`);

    log(`jetsched: (k) bulk of ${SCENARIO.bulkTasks} without and with metrics scraped and the overview open`);
    const plain: Run[] = [];
    const watched: Run[] = [];
    // in pairs, each pair's order the other way round from the last: the machine's drift falls on both
    for (let i = 0; i < BULK_PAIRS; i++) {
      const without = (): Promise<void> => measured(stack, bulk).then((r) => void plain.push(r));
      const withIt = (): Promise<void> =>
        observed(browser, dashboard.url, stack, () => measured(stack, bulk)).then(
          (r) => void watched.push(r),
        );
      for (const run of i % 2 === 0 ? [without, withIt] : [withIt, without]) await run();
    }
    const mid = (rs: Run[], k: keyof Run): number => percentile(rs.map((r) => r[k]).sort(byValue), 50);
    const ratio = mid(watched, 'tasksPerSec') / mid(plain, 'tasksPerSec');
    const cpuRatio = mid(watched, 'cpuMsPerTask') / mid(plain, 'cpuMsPerTask');
    const clusterCpuRatio = mid(watched, 'clusterCpuMsPerTask') / mid(plain, 'clusterCpuMsPerTask');
    const show = (rs: Run[]): string => rs.map((r) => r.tasksPerSec.toFixed(0)).join(', ');
    log(
      `jetsched: (k) tasks/s without ${show(plain)}; with ${show(watched)}: ${ratio.toFixed(3)}; CPU per task ` +
        `(every process, Chromium's too) with / without ${cpuRatio.toFixed(3)}, the roles' and nats-server's ${clusterCpuRatio.toFixed(3)}; Chromium ${mid(watched, 'browserCpuShare').toFixed(3)} of a core`,
    );

    // what serving them costs, read where nothing else moves: the cluster idle, without and with
    log(`jetsched: (k) the cluster idle for ${IDLE_MS / 1_000} s without, then with them`);
    const idle = await idleCpu(stack, () => sleep(IDLE_MS));
    const served = await observed(browser, dashboard.url, stack, () => idleCpu(stack, () => sleep(IDLE_MS)));
    const bulkClusterCpuPerSec = (mid(plain, 'clusterCpuMsPerTask') / 1_000) * mid(plain, 'tasksPerSec');
    const servingShare = Math.max(0, served.cluster - idle.cluster) / bulkClusterCpuPerSec;
    const browserShare = served.browser / bulkClusterCpuPerSec;
    log(
      `jetsched: (k) idle CPU of the roles and nats-server ${(idle.cluster * 1_000).toFixed(1)} -> ${(served.cluster * 1_000).toFixed(1)} ms/s, ` +
        `Chromium ${(served.browser * 1_000).toFixed(1)} ms/s; at bulk the cluster spends ${(bulkClusterCpuPerSec * 1_000).toFixed(0)} ms/s: ` +
        `serving costs ${(100 * servingShare).toFixed(2)}% of it, the browser ${(100 * browserShare).toFixed(2)}% more`,
    );
    return {
      firstPageMs,
      firstFailedPageMs,
      bulkRatio: ratio,
      bulkCpuRatio: cpuRatio,
      clusterCpuRatio,
      servingShare,
      browserShare,
    };
  } finally {
    await browser.close();
    await dashboard.close();
  }
}

const byValue = (a: number, b: number): number => a - b;

const IDLE_MS = 20_000;

const browserCpu = (): number => pidOf('chromium').reduce((n, pid) => n + cpuSeconds(pid), 0);

/** CPU seconds per second of the roles with the nats-server, and of Chromium, while `fn` runs. */
async function idleCpu(
  stack: JetschedStack,
  fn: () => Promise<void>,
): Promise<{ cluster: number; browser: number }> {
  const c0 = stack.pids.map(cpuSeconds);
  const b0 = browserCpu();
  const t0 = performance.now();
  await fn();
  const sec = (performance.now() - t0) / 1_000;
  const cluster = stack.pids.map(cpuSeconds).reduce((n, c, i) => n + c - (c0[i] ?? 0), 0);
  return { cluster: cluster / sec, browser: (browserCpu() - b0) / sec };
}

interface Run {
  tasksPerSec: number;
  /** CPU of the roles, the nats-server, this process and any Chromium process, per task. */
  cpuMsPerTask: number;
  /** CPU of the roles and the nats-server only, per task: what the cluster spends. */
  clusterCpuMsPerTask: number;
  /** Chromium's CPU seconds per second of the run. */
  browserCpuShare: number;
}

/** One bulk run of (a), with the CPU every process involved used (Chromium's included). */
async function measured(stack: JetschedStack, bulk: (n: number) => Promise<void>): Promise<Run> {
  const b0 = browserCpu();
  const t0 = performance.now();
  const { cpu, perProcess } = await measureCpu(stack.pids, () => bulk(SCENARIO.bulkTasks));
  const sec = (performance.now() - t0) / 1_000;
  const browser = browserCpu() - b0;
  // perProcess: the stack's pids (roles, then the nats-server), then this process
  const cluster = perProcess.slice(0, stack.pids.length).reduce((a, b) => a + b, 0);
  return {
    tasksPerSec: SCENARIO.bulkTasks / sec,
    cpuMsPerTask: ((cpu + browser) * 1_000) / SCENARIO.bulkTasks,
    clusterCpuMsPerTask: (cluster * 1_000) / SCENARIO.bulkTasks,
    browserCpuShare: browser / sec,
  };
}

/** Runs `fn` with the overview open in Chromium (plotting) and every role's metrics scraped. */
async function observed<T>(
  browser: Browser,
  url: string,
  stack: JetschedStack,
  fn: () => Promise<T>,
): Promise<T> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const stopScraping = stack.scrapeMetrics();
  try {
    await page.goto(`${url}#/overview`);
    // plotting: two readings make the first point
    await page.locator('[data-testid=throughput]:not([data-points="0"])').waitFor({ timeout: 10_000 });
    return await fn();
  } finally {
    stopScraping();
    await page.close();
  }
}
