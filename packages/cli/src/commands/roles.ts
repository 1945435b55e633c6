/** Long-running role commands: coordinator, scheduler, executor, and dev (all roles in one process). */
import { createCoordinator } from '@jetsched/coordinator';
import { createExecutor, DEFAULT_DRAIN_TIMEOUT_MS } from '@jetsched/executor';
import { createScheduler } from '@jetsched/scheduler';
import {
  connectNats,
  createLogger,
  createRegistry,
  failpoint,
  provision,
  startHealthServer,
  type Actor,
  type Logger,
  type Registry,
} from '@jetsched/runtime';
import { Option, type Command } from 'commander';
import { common, nonNegativeInt, type GlobalFlags } from '../args.js';
import { action, examples } from '../command.js';
import { addConfigOption } from '../config-file.js';
import { loadJobsModule, type JobsModule } from '../jobs-module.js';
import { localNats } from '../local-nats.js';
import { dashboardPortOption, localDashboard, noDashboardOption, wsOption } from './dashboard.js';

type Role = 'coordinator' | 'scheduler' | 'executor' | 'dev';

/** The role flags as commander stores them (each role takes all of them, and uses its own). */
interface RoleFlags {
  handlers?: string;
  group: string;
  concurrency: number;
  executors?: number;
  drainTimeoutMs: number;
  dueSpreadMs?: number;
  orphanCheckMs?: number;
  metricsPort?: number;
  /** dev: the web dashboard (`--no-dashboard`: none), its port, and the WebSocket URLs it gives the page. */
  dashboard: boolean;
  dashboardPort: number;
  ws?: string;
}

const ALL_ROLES: readonly Role[] = ['coordinator', 'scheduler', 'executor', 'dev'];

/** What each role command says of itself. */
const ROLES: Record<Role, { summary: string; description: string; examples: string[] }> = {
  coordinator: {
    summary: 'serve the API, record outcomes (reducers from the jobs module)',
    description:
      'Serves the API (submit, get, list, cancel, wait, schedules, dead letters), records outcomes, hands ' +
      'on delayed tasks when due. Run any number; reducers come from the jobs module.',
    examples: ['jetsched coordinator --server nats://nats:4222 --handlers ./jobs.js --metrics-port 9464'],
  },
  scheduler: {
    summary: 'split tasks and release them by priority, fair share and limits',
    description:
      "Releases each group's ready queue to its executors by priority, fair share and limits; one " +
      'scheduler per group at a time holds its lease, the others take over within seconds. Custom ' +
      'splitters come from the jobs module.',
    examples: ['jetsched scheduler --server nats://nats:4222 --handlers ./jobs.js'],
  },
  executor: {
    summary: 'run the handlers of a jobs module for a group',
    description:
      'Runs subtasks of the types its jobs module has handlers for, in its group, at most ' +
      '--concurrency at once.',
    examples: [
      'jetsched executor --handlers ./jobs.js --group images --concurrency 4',
      'jetsched executor --config executor.yaml',
    ],
  },
  dev: {
    summary: 'provision, then all roles in one process (its own nats-server unless given one)',
    description:
      'Provisions and runs a coordinator, a scheduler and executors in one process; starts its own ' +
      'nats-server unless --server or NATS_URL names one. For development: open on loopback.',
    examples: [
      'jetsched dev --handlers ./jobs.js',
      'jetsched dev --server nats://127.0.0.1:4222 --executors 2',
    ],
  },
};

/** What the jobs module gives each role. */
const HANDLERS: Record<Role, string> = {
  coordinator: 'a jobs module: its reducers (for aggregate: reduce)',
  scheduler: 'a jobs module: its splitters (for split: custom)',
  executor: 'a jobs module: its handlers (required)',
  dev: 'a jobs module: handlers, reducers and splitters',
};

/**
 * Every role flag and the roles that use it. Each role takes them all, as one config file serves
 * every role: those it does not use are left out of its help and ignored.
 */
const ROLE_FLAGS: { roles: readonly Role[]; option: (role: Role) => Option }[] = [
  { roles: ALL_ROLES, option: (role) => new Option('--handlers <module>', HANDLERS[role]) },
  {
    roles: ['executor', 'dev'],
    option: () => new Option('-g, --group <group>', 'the executor group to join').default('default'),
  },
  {
    roles: ['executor', 'dev'],
    option: () =>
      new Option('-c, --concurrency <n>', 'handlers one executor runs at once')
        .argParser(nonNegativeInt)
        .default(8),
  },
  {
    roles: ['dev'],
    option: () =>
      new Option('--executors <n>', 'executors to run (default: 1 with --handlers, else 0)').argParser(
        nonNegativeInt,
      ),
  },
  { roles: ['dev'], option: dashboardPortOption },
  { roles: ['dev'], option: noDashboardOption },
  // the embedded nats-server's listener by default; needed with --server for a dashboard
  { roles: ['dev'], option: () => wsOption() },
  {
    roles: ['coordinator'],
    option: () =>
      new Option(
        '--due-spread-ms <ms>',
        'delayed tasks due at one moment fire spread over this (default: 1000)',
      ).argParser(nonNegativeInt),
  },
  {
    roles: ['coordinator'],
    option: () =>
      new Option(
        '--orphan-check-ms <ms>',
        'a task whose coordinator died mid-submit is handed on by then, 1000-60000 (default: 30000)',
      ).argParser(nonNegativeInt),
  },
  {
    roles: ALL_ROLES,
    option: () =>
      new Option(
        '--drain-timeout-ms <ms>',
        'on SIGTERM, handlers may finish this long; every role exits by this plus 4 s',
      )
        .argParser(nonNegativeInt)
        .default(DEFAULT_DRAIN_TIMEOUT_MS),
  },
  {
    roles: ALL_ROLES,
    option: () =>
      new Option(
        '--metrics-port <port>',
        'serve /metrics, /healthz and /readyz over HTTP here (0: a free port)',
      ).argParser(nonNegativeInt),
  },
];

/** Adds the role commands (coordinator, scheduler, executor, dev) to `program`. */
export function addRoleCommands(program: Command): void {
  for (const role of ALL_ROLES) {
    const spec = ROLES[role];
    const cmd = program.command(role).summary(spec.summary).description(spec.description);
    for (const flag of ROLE_FLAGS) {
      const option = flag.option(role);
      cmd.addOption(flag.roles.includes(role) ? option : option.hideHelp());
    }
    addConfigOption(cmd).action(action<RoleFlags>((o) => runRole(role, o)));
    examples(cmd, ...spec.examples);
  }
}

const NO_JOBS: JobsModule = { handlers: {}, reducers: {}, splitters: {} };

/**
 * After the drain timeout, a stopping role has this long more to report what its handlers returned
 * and close; then it exits whatever is left (25 s + 4 s: under Kubernetes' default 30 s grace).
 */
const CLOSE_GRACE_MS = 4_000;

interface RunOptions {
  log: Logger;
  drainTimeoutMs: number;
  /** Serve metrics and health here (0: a port the OS picks); none when undefined. */
  metricsPort: number | undefined;
  /** The process's metrics, every actor's. */
  registry: Registry;
  /** After the actors closed (dev: stop its own nats-server). */
  after?: () => Promise<void>;
}

/**
 * Runs actors until SIGTERM or SIGINT, then closes them (executors drain in-flight work). A role
 * that has not closed within `drainTimeoutMs` plus {@link CLOSE_GRACE_MS} exits anyway: what it had
 * not acknowledged comes back to another instance, so exiting loses nothing.
 */
export async function runUntilSignal(actors: Actor[], o: RunOptions): Promise<number> {
  const { log, drainTimeoutMs, after } = o;
  // up before the actors start: /healthz answers at once, /readyz once they run
  const http =
    o.metricsPort === undefined
      ? undefined
      : await startHealthServer({
          port: o.metricsPort,
          registry: o.registry,
          health: () => actors.map((a) => a.health()),
          log,
        });
  const stopHttp = async (): Promise<void> => {
    await http?.close();
  };
  // listening before the actors start: a signal during the start drains once it is done, instead
  // of the default action killing the process
  const signalled = new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal, drainTimeoutMs }, 'stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  for (const a of actors) await a.start();
  await signalled;
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    failpoint('role.close')
      .then(() => Promise.all(actors.map((a) => a.close())))
      .then(() => true),
    new Promise<false>((r) => (timer = setTimeout(() => r(false), drainTimeoutMs + CLOSE_GRACE_MS))),
  ]);
  clearTimeout(timer);
  if (closed) {
    await stopHttp();
    await after?.();
    return 0;
  }
  log.warn(
    { drainTimeoutMs, graceMs: CLOSE_GRACE_MS },
    'did not close within the drain timeout; exiting (what was not acknowledged comes back to another instance)',
  );
  await stopHttp();
  await after?.();
  // what did not close may hold the event loop open
  process.exit(1);
}

async function runRole(role: Role, values: RoleFlags & GlobalFlags): Promise<number> {
  const c = common(values);
  const log = createLogger(c.logLevel ? { level: c.logLevel } : {});
  const jobs = values.handlers ? await loadJobsModule(values.handlers) : NO_JOBS;
  const { group, concurrency, drainTimeoutMs } = values;
  const drain = { drainTimeoutMs };
  const registry = createRegistry();
  const run = {
    log,
    drainTimeoutMs,
    registry,
    metricsPort: values.metricsPort,
  };
  const base = { connection: c.connection, prefix: c.prefix, logger: log, metrics: registry };
  switch (role) {
    case 'coordinator':
      return runUntilSignal(
        [
          createCoordinator({
            ...base,
            reducers: jobs.reducers,
            ...(values.dueSpreadMs === undefined ? {} : { dueSpreadMs: values.dueSpreadMs }),
            ...(values.orphanCheckMs === undefined ? {} : { orphanCheckMs: values.orphanCheckMs }),
          }),
        ],
        run,
      );
    case 'scheduler':
      return runUntilSignal([createScheduler({ ...base, splitters: jobs.splitters })], run);
    case 'executor':
      if (!values.handlers) throw new Error('executor needs --handlers <module.js> exporting `handlers`');
      return runUntilSignal(
        [createExecutor({ ...base, ...drain, group, concurrency, handlers: jobs.handlers })],
        run,
      );
    case 'dev': {
      const nats = await localNats(c, log);
      const conn = nats.common.connection;
      const local = { ...base, connection: conn };
      // dev is the one command that provisions for you: a development cluster in one process
      const nc = await connectNats({ ...conn, name: 'jetsched-dev-provision' });
      await provision(nc, { prefix: c.prefix }).finally(() => nc.close());
      const actors: Actor[] = [
        createCoordinator({ ...local, reducers: jobs.reducers }),
        createScheduler({ ...local, splitters: jobs.splitters }),
      ];
      const n = values.executors ?? (Object.keys(jobs.handlers).length > 0 ? 1 : 0);
      for (let i = 0; i < n; i++)
        actors.push(createExecutor({ ...local, ...drain, group, concurrency, handlers: jobs.handlers }));
      const dashboard = values.dashboard
        ? await localDashboard(values.ws ?? nats.embedded?.wsUrl, c.prefix, values.dashboardPort, log)
        : undefined;
      log.info(
        { servers: conn.servers, prefix: c.prefix, executors: n, dashboard: dashboard?.url },
        'dev cluster running; Ctrl-C to stop',
      );
      const after = async (): Promise<void> => {
        await dashboard?.close();
        await nats.stop();
      };
      return runUntilSignal(actors, { ...run, after });
    }
  }
}
