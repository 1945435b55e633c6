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
import { common, commonOptions, int, parse } from '../args.js';
import { withConfigFile } from '../config-file.js';
import { loadJobsModule, type JobsModule } from '../jobs-module.js';
import { localNats } from '../local-nats.js';

const roleOptions = {
  handlers: { type: 'string' },
  group: { type: 'string', short: 'g' },
  concurrency: { type: 'string', short: 'c' },
  executors: { type: 'string' },
  'drain-timeout-ms': { type: 'string' },
  'due-spread-ms': { type: 'string' },
  'orphan-check-ms': { type: 'string' },
  'metrics-port': { type: 'string' },
} as const;

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

export async function roleCommand(
  role: 'coordinator' | 'scheduler' | 'executor' | 'dev',
  argv: string[],
): Promise<number> {
  const { values } = parse(await withConfigFile(argv, { ...commonOptions, ...roleOptions }), roleOptions);
  const c = common(values);
  const log = createLogger(c.logLevel ? { level: c.logLevel } : {});
  const jobs = values.handlers ? await loadJobsModule(values.handlers) : NO_JOBS;
  const group = values.group ?? 'default';
  const concurrency = int(values.concurrency, 'concurrency', 8);
  const drainTimeoutMs = int(values['drain-timeout-ms'], 'drain-timeout-ms', DEFAULT_DRAIN_TIMEOUT_MS);
  const drain = { drainTimeoutMs };
  const registry = createRegistry();
  const run = {
    log,
    drainTimeoutMs,
    registry,
    metricsPort:
      values['metrics-port'] === undefined ? undefined : int(values['metrics-port'], 'metrics-port', 0),
  };
  const base = { connection: c.connection, prefix: c.prefix, logger: log, metrics: registry };
  switch (role) {
    case 'coordinator':
      return runUntilSignal(
        [
          createCoordinator({
            ...base,
            reducers: jobs.reducers,
            ...(values['due-spread-ms'] === undefined
              ? {}
              : { dueSpreadMs: int(values['due-spread-ms'], 'due-spread-ms', 0) }),
            ...(values['orphan-check-ms'] === undefined
              ? {}
              : { orphanCheckMs: int(values['orphan-check-ms'], 'orphan-check-ms', 1_000) }),
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
      const n = int(values.executors, 'executors', Object.keys(jobs.handlers).length > 0 ? 1 : 0);
      for (let i = 0; i < n; i++)
        actors.push(createExecutor({ ...local, ...drain, group, concurrency, handlers: jobs.handlers }));
      log.info(
        { servers: conn.servers, prefix: c.prefix, executors: n },
        'dev cluster running; Ctrl-C to stop',
      );
      return runUntilSignal(actors, { ...run, after: () => nats.stop() });
    }
  }
}
