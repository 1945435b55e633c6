/**
 * (k) The dashboard under the bench, on the stack of (a)-(d) once (d) has stored its 100,000 tasks:
 * - how soon the task list shows its first page, measured in Chromium: `performance.now()` of the
 *   page (ms since its navigation started) when the first row is there; a new browser context each
 *   time, so nothing is cached;
 * - what serving metrics and the dashboard costs: bulk runs of (a) alternately without and with the
 *   overview page open (it reads the roles' metrics every second and plots them) while every role's
 *   `/metrics` is also scraped every second; the ratio of their median throughputs.
 */
import { startDashboard } from '@jetsched/dashboard';
import { launchChromium, type Browser } from '@jetsched/testkit/browser';
import type { JetschedStack } from './jetsched-stack.js';
import { SCENARIO } from './scenarios.js';
import { percentile } from './stats.js';

export interface DashboardFigures {
  /** Median ms to the first row of the unfiltered task list. */
  firstPageMs: number;
  /** The same, filtered to failed tasks. */
  firstFailedPageMs: number;
  /** Bulk throughput with metrics scraped and the overview open, over without (1: no cost). */
  bulkRatio: number;
}

const PAGE_LOADS = 5;
const BULK_PAIRS = 3;

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
    const median = async (hash: string): Promise<number> => {
      await firstRow(hash); // the server's and the coordinator's first read of this page
      const times: number[] = [];
      for (let i = 0; i < PAGE_LOADS; i++) times.push(await firstRow(hash));
      return percentile(
        times.sort((a, b) => a - b),
        50,
      );
    };
    log('jetsched: (k) the dashboard task list with the stored tasks');
    const firstPageMs = await median('#/tasks');
    const firstFailedPageMs = await median('#/tasks?state=failed');
    log(`jetsched: (k) first page ${firstPageMs.toFixed(0)} ms, failed ${firstFailedPageMs.toFixed(0)} ms`);

    log(`jetsched: (k) bulk of ${SCENARIO.bulkTasks} without and with metrics scraped and the overview open`);
    const plain: number[] = [];
    const watched: number[] = [];
    for (let i = 0; i < BULK_PAIRS; i++) {
      plain.push(await throughput(bulk));
      watched.push(await observed(browser, dashboard.url, stack, () => throughput(bulk)));
    }
    const byValue = (a: number, b: number): number => a - b;
    const ratio = percentile(watched.sort(byValue), 50) / percentile(plain.sort(byValue), 50);
    log(
      `jetsched: (k) tasks/s without ${plain.map((x) => x.toFixed(0)).join(', ')}; with ${watched
        .map((x) => x.toFixed(0))
        .join(', ')}: ${ratio.toFixed(3)}`,
    );
    return { firstPageMs, firstFailedPageMs, bulkRatio: ratio };
  } finally {
    await browser.close();
    await dashboard.close();
  }
}

async function throughput(bulk: (n: number) => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await bulk(SCENARIO.bulkTasks);
  return SCENARIO.bulkTasks / ((performance.now() - t0) / 1_000);
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
