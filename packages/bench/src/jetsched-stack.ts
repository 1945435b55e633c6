/**
 * A jetsched cluster for the bench: its own nats-server (pinned release, one node, file storage), a
 * provisioned prefix, one coordinator, one scheduler and one executor process, and this process as
 * the client. Completions are observed as the `succeeded` lifecycle events, the way an application
 * would.
 */
import { fileURLToPath } from 'node:url';
import { type NatsConnection } from '@nats-io/transport-node';
import { spawnRole, type RoleProcess } from '@jetsched/cli';
import { connectClient, type Client } from '@jetsched/client';
import { Header, names, type SubmitRequest } from '@jetsched/protocol';
import { connectNats, provision } from '@jetsched/runtime';
import { freePort, startServer, type NatsServer } from '@jetsched/testkit';
import { SCENARIO, inBatches } from './scenarios.js';

const JOBS = fileURLToPath(new URL('./jobs.js', import.meta.url));

export class Completions {
  readonly at = new Map<string, number>();
  failed = 0;
  #waiters: { n: number; resolve: () => void }[] = [];
  constructor(nc: NatsConnection, prefix: string) {
    // every change of a task record is republished as its event; the state is in a header
    nc.subscribe(names(prefix).eventSubject('*'), {
      callback: (_e, m) => {
        const state = m.headers?.get(Header.State);
        if (state === 'failed') this.failed++;
        else if (state !== 'succeeded') return;
        this.at.set(m.subject.split('.')[2] ?? '', performance.now());
        this.#waiters = this.#waiters.filter((w) => (this.at.size >= w.n ? (w.resolve(), false) : true));
      },
    });
  }
  /** Resolves once every one of `ids` has finished. */
  async waitForAll(ids: Iterable<string>): Promise<void> {
    for (const id of ids) while (!this.at.has(id)) await new Promise((r) => setTimeout(r, 5));
  }
  /** Resolves once `n` tasks have finished since the last reset. */
  waitFor(n: number): Promise<void> {
    if (this.at.size >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
  reset(): void {
    this.at.clear();
    this.failed = 0;
  }
}

export interface JetschedStack {
  server: NatsServer;
  prefix: string;
  /** coordinator, scheduler, executor */
  roles: RoleProcess[];
  client: Client;
  /** The roles' pids, then the nats-server's (for CPU and memory readings). */
  pids: number[];
  /**
   * Reads every role's `/metrics` once a second from now on, as a (keen) Prometheus would; the
   * returned function stops it. (With BENCH_METRICS=1 it runs the whole time.)
   */
  scrapeMetrics(): () => void;
  close(): Promise<void>;
}

/** Labels of `pids` and then this process, as `measureCpu` reports them. */
export const CPU_LABELS = ['coordinator', 'scheduler', 'executor', 'nats-server', 'client'];

/** Starts the cluster; `env` goes to every role process (the executor's stamps file, for one). */
export async function startJetschedStack(env: Record<string, string> = {}): Promise<JetschedStack> {
  // BENCH_SYNC=always: the server fsyncs every write (`sync_interval: always`), for the cost of
  // durability across power loss (docs/operations.md, What is promised)
  const sync = process.env['BENCH_SYNC'];
  const server: NatsServer = await startServer({
    monitoring: true,
    // for the dashboard's page, which speaks NATS over WebSocket
    websocket: true,
    ...(sync ? { jetstreamConfig: `sync_interval: ${sync}` } : {}),
  });
  const prefix = 'bench';
  const roles: RoleProcess[] = [];
  let client: Client | undefined;
  let scraping: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    clearInterval(scraping);
    await client?.close();
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    await server.stop({ clean: true });
  };
  try {
    const admin = await connectNats({ servers: server.url });
    await provision(admin, { prefix });
    await admin.close();
    // every role serves its metrics (which costs nothing until they are read); BENCH_METRICS=1
    // scrapes them every second the whole time, else only the dashboard's measurement does
    const metricsPorts = await Promise.all(['coordinator', 'scheduler', 'executor'].map(() => freePort()));
    const metricsArgs = (i: number): string[] => ['--metrics-port', String(metricsPorts[i])];
    const args = ['--server', server.url, '--prefix', prefix, '--handlers', JOBS];
    // BENCH_LOG_DIR=<dir> keeps each role's log there (<role>.log), to see why a figure is off
    const logDir = process.env['BENCH_LOG_DIR'];
    const logFile = (role: string): { logFile?: string } =>
      logDir === undefined ? {} : { logFile: `${logDir}/${role}.log` };
    roles.push(
      spawnRole('coordinator', [...args, ...metricsArgs(0)], {
        env: { ...env, LOG_LEVEL: 'info' },
        ...logFile('coordinator'),
      }),
      spawnRole('scheduler', [...args, ...metricsArgs(1)], { env, ...logFile('scheduler') }),
      spawnRole('executor', [...args, ...metricsArgs(2), '--concurrency', String(SCENARIO.concurrency)], {
        env,
        ...logFile('executor'),
      }),
    );
    await Promise.all(roles.map((r) => r.ready));
    if (process.env['BENCH_METRICS']) scraping = scrapeEverySecond(metricsPorts);
    // the application's side: the SDK's own connection, as `connectClient` opens it
    client = await connectClient({ connection: { servers: server.url }, prefix, requestTimeoutMs: 60_000 });
    const scrapeMetrics = (): (() => void) => {
      const timer = scrapeEverySecond(metricsPorts);
      return () => clearInterval(timer);
    };
    const pids = [...roles.map((r) => r.pid), server.pid ?? -1];
    return { server, prefix, roles, client, pids, scrapeMetrics, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Submits `n` tasks made by `make` with `submitMany`, `batch` at a time and `inFlight` requests at
 * once; returns their ids in order. With `until` (a `Date.now()` time), stops submitting batches
 * once it has passed: then fewer than `n` ids come back.
 */
export async function submitInBatches(
  client: Client,
  n: number,
  make: (i: number) => SubmitRequest,
  opts: { batch?: number; inFlight?: number; until?: number } = {},
): Promise<string[]> {
  return inBatches(
    n,
    async (from, to) =>
      (await client.submitMany(Array.from({ length: to - from }, (_, k) => make(from + k)))).map((r) => {
        if (!r.ok) throw new Error(`submit failed: ${JSON.stringify(r)}`);
        return r.id;
      }),
    { batch: SCENARIO.bulkBatch, ...opts },
  );
}

/** Reads every role's `/metrics` once a second, as a (keen) Prometheus would. */
function scrapeEverySecond(ports: readonly number[]): NodeJS.Timeout {
  return setInterval(() => {
    for (const port of ports)
      fetch(`http://127.0.0.1:${port}/metrics`)
        .then((r) => r.text())
        .catch(() => undefined);
  }, 1_000);
}
