/**
 * `jetsched cluster`: the production topology on one machine without Docker. Three nats-servers with
 * routes (a JetStream cluster; streams and buckets at 3 replicas) and every role as its own process:
 * 2 coordinators, 2 schedulers, 3 executors by default. Prints one `ready` line of JSON on stdout
 * with the server URLs and role pids, then runs until SIGTERM/SIGINT.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dashboard } from '@jetsched/dashboard';
import { startCluster } from '@jetsched/testkit';
import { connectNats, createLogger, provision } from '@jetsched/runtime';
import type { Command } from 'commander';
import { common, nonNegativeInt, type GlobalFlags } from '../args.js';
import { action, examples, untilStopped } from '../command.js';
import { spawnRole, type RoleProcess } from '../role-process.js';
import { dashboardPortOption, localDashboard, noDashboardOption } from './dashboard.js';
import { addProvisionOptions, topologyFromFlags, type ProvisionFlags } from './provision.js';

interface ClusterFlags extends ProvisionFlags {
  handlers?: string;
  group: string;
  coordinators: number;
  schedulers: number;
  executors?: number;
  concurrency: number;
  logDir?: string;
  dashboard: boolean;
  dashboardPort: number;
}

/** Adds `cluster` to `program`. */
export function addClusterCommand(program: Command): void {
  const cmd = program
    .command('cluster')
    .summary('3 nats-servers with routes (R3) and every role as its own process, on loopback')
    .description(
      'Runs 3 nats-servers with routes (R3 streams) and every role as its own process, on loopback; no ' +
        'Docker needed. Prints the server URLs and role pids as one JSON line, then runs until SIGTERM.',
    )
    .option('--handlers <module>', 'the jobs module of every role')
    .option('-g, --group <group>', "the executors' group", 'default')
    .option('--coordinators <n>', 'coordinator processes', nonNegativeInt, 2)
    .option('--schedulers <n>', 'scheduler processes', nonNegativeInt, 2)
    .option('--executors <n>', 'executor processes (default: 3 with --handlers, else 0)', nonNegativeInt)
    .option('-c, --concurrency <n>', 'handlers each executor runs at once', nonNegativeInt, 8)
    .option('--log-dir <dir>', "the roles' and servers' logs (default: a new temporary directory)")
    .addOption(dashboardPortOption())
    .addOption(noDashboardOption());
  addProvisionOptions(cmd).action(action<ClusterFlags>(runCluster));
  examples(
    cmd,
    'jetsched cluster --handlers ./jobs.js',
    'jetsched cluster --handlers ./jobs.js --executors 5 --log-dir ./logs',
  );
}

async function runCluster(values: ClusterFlags & GlobalFlags): Promise<number> {
  const c = common(values);
  const log = createLogger(c.logLevel ? { level: c.logLevel } : {});
  const logDir = values.logDir ?? mkdtempSync(join(tmpdir(), 'jetsched-cluster-'));
  const cluster = await startCluster(3, { logDir, websocket: true });
  const servers = cluster.urls.join(',');
  log.info({ servers, logDir }, 'started a 3-node NATS cluster');
  // provisioned once, at 3 replicas, before any role starts
  const nc = await connectNats({ servers: cluster.urls });
  await provision(nc, { ...topologyFromFlags(values, c.prefix), replicas: 3 }).finally(() => nc.close());
  const shared = ['--server', servers, '--prefix', c.prefix];
  const withJobs = values.handlers ? [...shared, '--handlers', values.handlers] : shared;
  const roles: RoleProcess[] = [];
  let dashboard: Dashboard | undefined;
  const start = (role: 'coordinator' | 'scheduler' | 'executor', n: number, args: string[]): void => {
    for (let i = 1; i <= n; i++)
      roles.push(spawnRole(role, args, { logFile: join(logDir, `${role}-${i}.log`) }));
  };
  try {
    start('coordinator', values.coordinators, withJobs);
    start('scheduler', values.schedulers, withJobs);
    const executors = values.executors ?? (values.handlers ? 3 : 0);
    const execArgs = [...withJobs, '--group', values.group, '--concurrency', String(values.concurrency)];
    start('executor', executors, execArgs);
    await Promise.all(roles.map((r) => r.ready));
    const ws = cluster.servers.flatMap((s) => s.wsUrl ?? []);
    dashboard = values.dashboard ? await localDashboard(ws, c.prefix, values.dashboardPort, log) : undefined;
    process.stdout.write(
      JSON.stringify({
        ready: true,
        servers: cluster.urls,
        prefix: c.prefix,
        logDir,
        ...(dashboard ? { dashboard: dashboard.url } : {}),
        roles: roles.map((r) => ({ role: r.role, pid: r.pid })),
      }) + '\n',
    );
    await untilStopped();
    return 0;
  } finally {
    await dashboard?.close();
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    await cluster.stop({ clean: true });
  }
}
