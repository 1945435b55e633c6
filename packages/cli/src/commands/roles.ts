/** Long-running role commands: coordinator, scheduler, executor, and dev (all roles in one process). */
import { createCoordinator } from '@jetsched/coordinator';
import { createExecutor } from '@jetsched/executor';
import { createScheduler } from '@jetsched/scheduler';
import { connectNats, createLogger, provision, type Actor, type Logger } from '@jetsched/runtime';
import { common, int, parse } from '../args.js';
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
} as const;

const NO_JOBS: JobsModule = { handlers: {}, reducers: {}, splitters: {} };

/** Runs actors until SIGTERM or SIGINT, then closes them (executors drain in-flight work). */
export async function runUntilSignal(
  actors: Actor[],
  log: Logger,
  after?: () => Promise<void>,
): Promise<number> {
  for (const a of actors) await a.start();
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'stopping');
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  await Promise.all(actors.map((a) => a.close()));
  await after?.();
  return 0;
}

export async function roleCommand(
  role: 'coordinator' | 'scheduler' | 'executor' | 'dev',
  argv: string[],
): Promise<number> {
  const { values } = parse(argv, roleOptions);
  const c = common(values);
  const log = createLogger(c.logLevel ? { level: c.logLevel } : {});
  const jobs = values.handlers ? await loadJobsModule(values.handlers) : NO_JOBS;
  const group = values.group ?? 'default';
  const concurrency = int(values.concurrency, 'concurrency', 8);
  const drain =
    values['drain-timeout-ms'] === undefined
      ? {}
      : { drainTimeoutMs: int(values['drain-timeout-ms'], 'drain-timeout-ms', 0) };
  const base = { connection: c.connection, prefix: c.prefix, logger: log };
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
        log,
      );
    case 'scheduler':
      return runUntilSignal([createScheduler({ ...base, splitters: jobs.splitters })], log);
    case 'executor':
      if (!values.handlers) throw new Error('executor needs --handlers <module.js> exporting `handlers`');
      return runUntilSignal(
        [createExecutor({ ...base, ...drain, group, concurrency, handlers: jobs.handlers })],
        log,
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
      return runUntilSignal(actors, log, () => nats.stop());
    }
  }
}
