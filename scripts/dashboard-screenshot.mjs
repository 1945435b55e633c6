// Makes the README's dashboard screenshots (docs/img/dashboard-*.png): a local cluster in this
// process, a minute of mixed work (tenants, priorities, a type that fails now and then, one that
// reports progress), and the dashboard's pages in Chromium. Run after `pnpm build`:
//   node scripts/dashboard-screenshot.mjs
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectClient } from '@jetsched/client';
import { createCoordinator } from '@jetsched/coordinator';
import { startDashboard } from '@jetsched/dashboard';
import { createExecutor } from '@jetsched/executor';
import { NonRetryableError } from '@jetsched/protocol';
import { connectNats, provision } from '@jetsched/runtime';
import { createScheduler } from '@jetsched/scheduler';
import { startServer } from '@jetsched/testkit';
import { launchChromium } from '@jetsched/testkit/browser';

const out = new URL('../docs/img/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const server = await startServer({ websocket: true });
const prefix = 'jetsched';
const admin = await connectNats({ servers: server.url });
await provision(admin, { prefix });
await admin.close();
const handlers = {
  thumbnail: async (input) => {
    await sleep(20 + Math.random() * 60);
    return input;
  },
  invoice: async (input) => {
    await sleep(10 + Math.random() * 30);
    if (Math.random() < 0.05)
      throw new NonRetryableError(`customer ${input.customer} has no billing address`);
    return { total: input.items * 9.5 };
  },
  report: async (_input, ctx) => {
    for (let i = 1; i <= 40 && !ctx.signal.aborted; i++) {
      ctx.progress({ done: i, of: 40 });
      await sleep(250);
    }
  },
};
const connection = { servers: [server.url] };
const actors = [
  createCoordinator({ connection, prefix }),
  createScheduler({ connection, prefix }),
  createExecutor({ connection, prefix, handlers, concurrency: 16 }),
  createExecutor({ connection, prefix, handlers, concurrency: 16 }),
];
for (const a of actors) await a.start();
const client = await connectClient({ connection, prefix });
const dashboard = await startDashboard({ servers: [server.wsUrl], prefix, port: 0 });
const browser = await launchChromium();
const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
await page.goto(`${dashboard.url}#/overview`);

const tenants = ['acme', 'globex', 'initech', 'umbrella'];
const until = Date.now() + 60_000;
let report;
for (let n = 0; Date.now() < until; n++) {
  const burst = 20 + Math.round(40 * Math.abs(Math.sin(n / 15)));
  await client.submitMany(
    Array.from({ length: burst }, (_, i) => ({
      type: i % 3 === 0 ? 'invoice' : 'thumbnail',
      tenant: tenants[(n + i) % tenants.length],
      priority: i % 10 === 0 ? 8 : 5,
      payload: { customer: `c-${(n * 31 + i) % 997}`, items: 1 + (i % 7) },
    })),
  );
  if (n % 50 === 10) report = (await client.submit({ type: 'report', tenant: 'acme', payload: {} })).id;
  await sleep(250);
}
await page.screenshot({ path: `${out}dashboard-overview.png` });
await page.goto(`${dashboard.url}#/tasks`);
await page.locator('tr[data-task]').first().waitFor();
await sleep(500);
await page.screenshot({ path: `${out}dashboard-tasks.png` });
const { tasks } = await client.list({ state: 'failed', limit: 1 });
if (tasks[0]) {
  await page.goto(`${dashboard.url}#/task/${tasks[0].id}`);
  await page.getByTestId('stack').first().waitFor();
  await page.screenshot({ path: `${out}dashboard-task.png` });
}
if (report) {
  await page.goto(`${dashboard.url}#/task/${report}`);
  await sleep(1_000);
}
await page.goto(`${dashboard.url}#/groups/default`);
await page.getByTestId('executors').locator('tbody tr').first().waitFor();
await sleep(2_500);
await page.screenshot({ path: `${out}dashboard-groups.png` });
await browser.close();
await dashboard.close();
await client.close();
for (const a of actors) await a.close();
await server.stop({ clean: true });
process.stdout.write(`screenshots in ${out}\n`);
