/**
 * `jetsched cluster`: the production topology on one machine without Docker. Three nats-servers with
 * routes (a JetStream cluster; streams and buckets at 3 replicas) and every role as its own process:
 * 2 coordinators, 2 schedulers, 3 executors by default. Prints one `ready` line of JSON on stdout
 * with the server URLs and role pids, then runs until SIGTERM/SIGINT.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster } from '@jetsched/testkit';
import { connectNats, createLogger, provision } from '@jetsched/runtime';
import { common, int, parse } from '../args.js';
import { spawnRole, type RoleProcess } from '../role-process.js';
import { provisionOptions, topologyFromFlags } from './provision.js';

export async function clusterCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    handlers: { type: 'string' },
    group: { type: 'string', short: 'g' },
    coordinators: { type: 'string' },
    schedulers: { type: 'string' },
    executors: { type: 'string' },
    concurrency: { type: 'string', short: 'c' },
    'log-dir': { type: 'string' },
    ...provisionOptions,
  });
  const c = common(values);
  const log = createLogger(c.logLevel ? { level: c.logLevel } : {});
  const logDir = values['log-dir'] ?? mkdtempSync(join(tmpdir(), 'jetsched-cluster-'));
  const cluster = await startCluster(3, { logDir });
  const servers = cluster.urls.join(',');
  log.info({ servers, logDir }, 'started a 3-node NATS cluster');
  // provisioned once, at 3 replicas, before any role starts
  const nc = await connectNats({ servers: cluster.urls });
  await provision(nc, { ...topologyFromFlags(values, c.prefix), replicas: 3 }).finally(() => nc.close());
  const shared = ['--server', servers, '--prefix', c.prefix];
  const withJobs = values.handlers ? [...shared, '--handlers', values.handlers] : shared;
  const roles: RoleProcess[] = [];
  const start = (role: 'coordinator' | 'scheduler' | 'executor', n: number, args: string[]): void => {
    for (let i = 1; i <= n; i++)
      roles.push(spawnRole(role, args, { logFile: join(logDir, `${role}-${i}.log`) }));
  };
  try {
    start('coordinator', int(values.coordinators, 'coordinators', 2), withJobs);
    start('scheduler', int(values.schedulers, 'schedulers', 2), withJobs);
    const executors = int(values.executors, 'executors', values.handlers ? 3 : 0);
    const execArgs = [
      ...withJobs,
      '--group',
      values.group ?? 'default',
      '--concurrency',
      values.concurrency ?? '8',
    ];
    start('executor', executors, execArgs);
    await Promise.all(roles.map((r) => r.ready));
    process.stdout.write(
      JSON.stringify({
        ready: true,
        servers: cluster.urls,
        prefix: c.prefix,
        logDir,
        roles: roles.map((r) => ({ role: r.role, pid: r.pid })),
      }) + '\n',
    );
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    return 0;
  } finally {
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    await cluster.stop({ clean: true });
  }
}
