/**
 * The dashboard (issue 9) in a real browser: Debian's Chromium driven by playwright-core, against a
 * real cluster whose nats-server also listens for NATS over WebSocket, which is all the page talks
 * to. A submitted task appears live in the list, the drill-down shows subtasks and an error with
 * its stack, cancel and retry from the page take effect, pause and resume a group, and the plots
 * take new points. Screenshots go to .tmp/artifacts/dashboard-*.png.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDashboard, type Dashboard } from '@jetsched/dashboard';
import { NonRetryableError } from '@jetsched/protocol';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { launchChromium, type Browser, type Page } from '@jetsched/testkit/browser';
import { startStack, type Stack } from './helpers/stack.js';

const ARTIFACTS = new URL('../.tmp/artifacts/', import.meta.url).pathname;
const BIN = new URL('../packages/cli/dist/bin.js', import.meta.url).pathname;
const JOBS = new URL('./fixtures/jobs.mjs', import.meta.url).pathname;

/** Handlers that a `slow` run has seen aborted, by task id. */
const aborted = new Set<string>();

describe('the dashboard in Chromium', () => {
  let server: NatsServer;
  let stack: Stack;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const shot = (name: string): Promise<Buffer> =>
    page.screenshot({ path: `${ARTIFACTS}dashboard-${name}.png`, fullPage: true });
  const go = async (hash: string): Promise<void> => {
    await page.goto(`${dashboard.url}${hash}`);
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer({ websocket: true });
    stack = await startStack({
      server,
      executors: [
        {
          concurrency: 4,
          handlers: {
            double: (input) => (input as { x: number }).x * 2,
            boom: () => {
              throw new NonRetryableError('boom: the handler gave up');
            },
            slow: async (_input, ctx) => {
              for (let i = 1; !ctx.signal.aborted; i++) {
                ctx.progress({ step: i });
                await sleep(100);
              }
              aborted.add(ctx.taskId);
            },
          },
        },
      ],
    });
    dashboard = await startDashboard({ servers: [server.wsUrl!], prefix: stack.prefix, port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await stack?.close();
    await server?.stop({ clean: true });
  });

  it('serves the page and its config; refuses paths outside the build', async () => {
    const cfg = await (await fetch(`${dashboard.url}config.json`)).json();
    expect(cfg).toEqual({ servers: [server.wsUrl], prefix: stack.prefix });
    expect((await fetch(`${dashboard.url}../../package.json`)).status).toBe(404);
    expect((await fetch(`${dashboard.url}%2e%2e/%2e%2e/package.json`)).status).toBe(404);
    expect((await fetch(`${dashboard.url}%E0%A4%A`)).status).toBe(400);
    // the page carries its config, so that it connects without asking for it
    expect(await (await fetch(dashboard.url)).text()).toContain(
      `<script id="jetsched-config" type="application/json">${JSON.stringify(cfg)}</script>`,
    );
  });

  it('overview: counts and plots take new points as tasks run', async () => {
    await go('#/overview');
    await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
    const points = async (id: string): Promise<number> =>
      Number(await page.getByTestId(id).getAttribute('data-points'));
    const before = await points('throughput');
    const submitted = Number(
      (await page.getByTestId('tile-submitted').locator('.value').textContent())?.replace(/\D/g, '') || 0,
    );
    for (let i = 0; i < 20; i++) await stack.client.submit({ type: 'double', payload: { x: i } });
    await expect.poll(() => points('throughput'), { timeout: 10_000 }).toBeGreaterThan(before + 2);
    await expect
      .poll(
        async () =>
          Number(
            (await page.getByTestId('tile-submitted').locator('.value').textContent())?.replace(/\D/g, ''),
          ),
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThanOrEqual(submitted + 20);
    await expect
      .poll(async () => (await page.getByTestId('backlog').textContent()) ?? '')
      .toContain('default');
    await shot('overview');
  });

  it('tasks: a task submitted while the list is open appears in it, live', async () => {
    await go('#/tasks');
    await page.getByTestId('task-list').waitFor();
    const { id } = await stack.client.submit({ type: 'double', payload: { x: 21 }, tenant: 'acme' });
    await page.locator(`tr[data-task="${id}"]`).waitFor({ timeout: 10_000 });
    await page.getByTestId('filter-tenant').fill('acme');
    await page.getByTestId('filter-tenant').press('Enter');
    await expect.poll(() => page.locator('[data-testid=task-list] tbody tr[data-task]').count()).toBe(1);
    await shot('tasks');
  });

  it('drill-down shows subtasks and an error with its stack; retry from the page runs it again', async () => {
    const { id } = await stack.client.submit({
      type: 'boom',
      payload: [1, 2],
      split: { kind: 'items', chunkSize: 1 },
    });
    await stack.client.wait(id, { timeoutMs: 20_000 });
    await go('#/tasks?state=failed');
    await page.locator(`tr[data-task="${id}"]`).click();
    await expect.poll(() => page.getByTestId('task-state').textContent()).toBe('failed');
    await expect
      .poll(() => page.locator('[data-testid=subtasks] tbody tr').count())
      .toBeGreaterThanOrEqual(1);
    const stackText = (await page.getByTestId('stack').first().textContent()) ?? '';
    expect(stackText).toContain('boom: the handler gave up');
    expect(stackText).toMatch(/\n\s+at /);
    await shot('task-failed');

    await page.getByTestId('retry').click();
    const note = page.getByTestId('action-note');
    await note.filter({ hasText: 'retried as' }).waitFor();
    const again = /retried as (.+)$/.exec((await note.textContent()) ?? '')?.[1]?.split(', ') ?? [];
    expect(again.length).toBeGreaterThanOrEqual(1);
    for (const t of again) {
      const r = await stack.client.wait(t, { timeoutMs: 20_000 });
      expect(r.task).toMatchObject({ type: 'boom', state: 'failed' });
    }
  });

  it('cancel from the page aborts the running handler and ends the task cancelled', async () => {
    const { id } = await stack.client.submit({ type: 'slow' });
    await go(`#/task/${id}`);
    await page.getByTestId('handler-progress').filter({ hasText: 'step' }).waitFor({ timeout: 10_000 });
    await shot('task-running');
    await page.getByTestId('cancel').click();
    await expect
      .poll(() => page.getByTestId('task-state').textContent(), { timeout: 10_000 })
      .toBe('cancelled');
    expect((await stack.client.get(id)).task.state).toBe('cancelled');
    await expect.poll(() => aborted.has(id), { timeout: 5_000 }).toBe(true);
  });

  it('groups: executors, delayed tasks by type; pause and resume the group from the page', async () => {
    const { id: later } = await stack.client.submit({ type: 'double', payload: { x: 1 }, delayMs: 600_000 });
    await go('#/groups/default');
    const executors = page.getByTestId('executors');
    await executors.locator('tbody tr').first().waitFor();
    expect(await executors.textContent()).toContain(stack.executors[0]!.id);
    // Delayed: the 4th column of the type's row
    const delayed = page.locator('[data-testid=types] tr[data-type=double] td').nth(3);
    await expect.poll(() => delayed.textContent()).toBe('1');
    await stack.client.cancel(later);
    await expect.poll(() => delayed.textContent(), { timeout: 10_000 }).toBe('0');
    await page.getByRole('button', { name: 'Pause group' }).click();
    await expect.poll(async () => (await stack.client.groupSettings('default')).paused ?? false).toBe(true);
    await shot('groups');
    await page.getByRole('button', { name: 'Resume group' }).click();
    await expect.poll(async () => (await stack.client.groupSettings('default')).paused ?? false).toBe(false);
  });
});

describe('the dashboard behind a NATS WebSocket listener that wants a token', () => {
  let server: NatsServer;
  let dashboard: Dashboard;
  let browser: Browser;

  beforeAll(async () => {
    server = await startServer({
      websocket: true,
      websocketConfig: 'authorization { token: "s3cret-token" }',
    });
    dashboard = await startDashboard({ servers: [server.wsUrl!], prefix: 'jetsched', port: 0 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    await server?.stop({ clean: true });
  });

  it('asks for the token, refuses a wrong one, and connects with the right one', async () => {
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    const login = page.getByTestId('login');
    await login.waitFor();
    await login.locator('input[type=password]').fill('wrong');
    await login.getByRole('button', { name: 'Connect' }).click();
    await login.locator('.error').waitFor();
    await login.locator('input[type=password]').fill('s3cret-token');
    await login.getByRole('button', { name: 'Connect' }).click();
    await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.screenshot({ path: `${ARTIFACTS}dashboard-login.png` });
  });
});

describe('`jetsched dev` with its dashboard', () => {
  let dev: ChildProcess | undefined;
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    if (dev?.exitCode === null) dev.kill('SIGKILL');
  });

  it('serves a dashboard connected to its own nats-server, and stops it on SIGTERM', async () => {
    dev = spawn(process.execPath, [BIN, 'dev', '--handlers', JOBS, '--dashboard-port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info' },
    });
    let log = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no dashboard line in time: ${log}`)), 30_000);
      dev!.stderr!.on('data', (d: Buffer) => {
        log += d.toString();
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+\/)"/.exec(log);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const cfg = (await (await fetch(`${url}config.json`)).json()) as { servers: string[] };
    expect(cfg.servers[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const page = await browser.newPage();
    await page.goto(`${url}#/groups/default`);
    await page.getByTestId('connection').filter({ hasText: 'connected' }).waitFor();
    await page.getByTestId('executors').locator('tbody tr').first().waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('types').textContent()).toContain('squares');
    await page.close();
    dev.kill('SIGTERM');
    const [code] = (await once(dev, 'exit')) as [number | null];
    expect(code).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });
});
