/**
 * `jetsched dashboard`: serves the web dashboard (packages/dashboard), whose page connects to NATS
 * over WebSocket from the browser (ADR 0025). `dev` and `cluster` start one beside their servers.
 */
import { DEFAULT_DASHBOARD_PORT, startDashboard, type Dashboard } from '@jetsched/dashboard';
import type { Logger } from '@jetsched/runtime';
import { Option, type Command } from 'commander';
import { common, nonNegativeInt, type GlobalFlags } from '../args.js';
import { action, examples, untilStopped } from '../command.js';

interface DashboardFlags {
  ws?: string;
  port: number;
  host: string;
}

/** `--ws`: where the browser reaches NATS over WebSocket. */
export function wsOption(): Option {
  return new Option(
    '--ws <urls>',
    'NATS WebSocket URLs as the browser reaches them (ws:// or wss://, comma-separated)',
  ).env('NATS_WS_URL');
}

/** `dev` and `cluster`: the port of the dashboard they start, and `--no-dashboard`. */
export function dashboardPortOption(): Option {
  return new Option('--dashboard-port <port>', "the web dashboard's port (the next free one when taken)")
    .argParser(nonNegativeInt)
    .default(DEFAULT_DASHBOARD_PORT);
}

export function noDashboardOption(): Option {
  return new Option('--no-dashboard', 'no web dashboard');
}

/** Adds `dashboard` to `program`. */
export function addDashboardCommand(program: Command): void {
  const cmd = program
    .command('dashboard')
    .summary('serve the web dashboard (its page talks to NATS over WebSocket)')
    .description(
      "Serves the web dashboard on http://<host>:<port>/. The page connects to the NATS server's " +
        'WebSocket listener from the browser (--ws, as the browser reaches it) and asks for credentials ' +
        'when the listener wants some; this process only serves the page. Runs until SIGTERM or SIGINT.',
    )
    .addOption(wsOption().makeOptionMandatory())
    .option('-p, --port <port>', 'the HTTP port (0: a free one)', nonNegativeInt, DEFAULT_DASHBOARD_PORT)
    .option('--host <host>', 'the address to listen on (0.0.0.0: every interface)', '127.0.0.1')
    .action(action<DashboardFlags>(runDashboard));
  examples(
    cmd,
    'jetsched dashboard --ws ws://127.0.0.1:8443',
    'jetsched dashboard --ws wss://nats.example.com --host 0.0.0.0 --port 8080 --prefix jetsched',
  );
}

async function runDashboard(o: DashboardFlags & GlobalFlags): Promise<number> {
  const c = common(o);
  const dashboard = await startDashboard({
    servers: splitUrls(o.ws ?? ''),
    prefix: c.prefix,
    port: o.port,
    host: o.host,
  });
  process.stdout.write(`dashboard on ${dashboard.url} (NATS over WebSocket: ${o.ws})\n`);
  await untilStopped();
  await dashboard.close();
  return 0;
}

function splitUrls(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * A dashboard beside a local cluster (`dev`, `cluster`): on `port`, or on a free port when that one
 * is taken; undefined (and a line saying why) without WebSocket URLs.
 */
export async function localDashboard(
  ws: string | string[] | undefined,
  prefix: string,
  port: number,
  log: Logger,
): Promise<Dashboard | undefined> {
  const servers = typeof ws === 'string' ? splitUrls(ws) : (ws ?? []);
  if (servers.length === 0) {
    log.info('no dashboard: pass --ws with the NATS WebSocket URL as a browser reaches it');
    return undefined;
  }
  const start = (p: number): Promise<Dashboard> => startDashboard({ servers, prefix, port: p });
  const dashboard = await start(port).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    return start(0);
  });
  log.info({ url: dashboard.url, ws: servers }, `dashboard on ${dashboard.url}`);
  return dashboard;
}
