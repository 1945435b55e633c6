/**
 * jetsched under the bench: its own nats-server (pinned release), one coordinator, one scheduler and
 * one executor process, and this process as the client. Completions are observed as the
 * `succeeded` lifecycle events, the way an application would.
 */
import { fileURLToPath } from 'node:url';
import { type NatsConnection } from '@nats-io/transport-node';
import { spawnRole, type RoleProcess } from '@jetsched/cli';
import { connectClient, type Client } from '@jetsched/client';
import { names, type SubmitRequest } from '@jetsched/protocol';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { SCENARIO, openLoop, sideResult, type SideResult } from './scenarios.js';
import { cpuBreakdown, measureCpu } from './stats.js';

const JOBS = fileURLToPath(new URL('./jobs.js', import.meta.url));

class Completions {
  readonly at = new Map<string, number>();
  #waiters: { n: number; resolve: () => void }[] = [];
  constructor(nc: NatsConnection, prefix: string) {
    nc.subscribe(names(prefix).eventSubject('*', 'succeeded'), {
      callback: (_e, m) => {
        this.at.set(m.subject.split('.')[2] ?? '', performance.now());
        this.#waiters = this.#waiters.filter((w) => (this.at.size >= w.n ? (w.resolve(), false) : true));
      },
    });
  }
  /** Resolves once `n` tasks have succeeded since the last reset. */
  waitFor(n: number): Promise<void> {
    if (this.at.size >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
  reset(): void {
    this.at.clear();
  }
}

export async function runJetsched(log: (s: string) => void): Promise<SideResult> {
  const server: NatsServer = await startServer();
  const prefix = 'bench';
  const args = ['--server', server.url, '--prefix', prefix, '--handlers', JOBS];
  const roles: RoleProcess[] = [
    spawnRole('coordinator', args, { env: { LOG_LEVEL: 'info' } }),
    spawnRole('scheduler', args),
    spawnRole('executor', [...args, '--concurrency', String(SCENARIO.concurrency)]),
  ];
  let opened: Client | undefined;
  try {
    await Promise.all(roles.map((r) => r.ready));
    // the application's side: the SDK's own connection, as `connectClient` opens it
    const client = await connectClient({
      connection: { servers: server.url },
      prefix,
      requestTimeoutMs: 60_000,
    });
    opened = client;
    const done = new Completions(client.nc, prefix);
    const pids = [...roles.map((r) => r.pid), server.pid ?? -1];
    const cpuLabels = ['coordinator', 'scheduler', 'executor', 'nats-server', 'client'];

    const bulk = async (n: number): Promise<void> => {
      done.reset();
      for (let i = 0; i < n; i += SCENARIO.bulkBatch) {
        const batch: SubmitRequest[] = Array.from({ length: Math.min(SCENARIO.bulkBatch, n - i) }, () => ({
          type: 'noop',
          aggregate: { kind: 'none' },
        }));
        const results = await client.submitMany(batch);
        if (results.some((r) => !r.ok))
          throw new Error(`submit failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
      }
      await done.waitFor(n);
    };
    log('jetsched: warm-up');
    await bulk(SCENARIO.warmupTasks);

    log(`jetsched: (a) ${SCENARIO.bulkTasks} no-op tasks in bulk`);
    const t = performance.now();
    const a = await measureCpu(pids, () => bulk(SCENARIO.bulkTasks));
    const bulkSec = (performance.now() - t) / 1000;
    log(`jetsched: (a) CPU: ${cpuBreakdown(cpuLabels, a.perProcess)}`);

    const items = Array.from({ length: SCENARIO.splitItems }, (_, i) => i);
    const split = async (perMessage: number): Promise<{ ms: number; cpu: number }> => {
      log(
        `jetsched: (b) one task of ${SCENARIO.splitItems} items in chunks of ${SCENARIO.splitChunk}, ${perMessage} per message`,
      );
      const t0 = performance.now();
      const m = await measureCpu(pids, async () => {
        const { id } = await client.submit({
          type: 'sum',
          payload: items,
          split: { kind: 'items', chunkSize: SCENARIO.splitChunk },
          aggregate: { kind: 'reduce' },
          subtasksPerMessage: perMessage,
        });
        const sum = await client.result<number>(id);
        if (sum !== (SCENARIO.splitItems * (SCENARIO.splitItems - 1)) / 2)
          throw new Error(`wrong sum ${sum}`);
      });
      const ms = performance.now() - t0;
      log(`jetsched: (b) CPU: ${cpuBreakdown(cpuLabels, m.perProcess)}`);
      return { ms, cpu: m.cpu };
    };
    const b = await split(1);
    const bBatched = await split(SCENARIO.splitPerMessage);

    log(`jetsched: (c) ${SCENARIO.latencyTasks} single tasks at ${SCENARIO.latencyRate}/s`);
    done.reset();
    const sent = new Map<string, number>();
    const pending: Promise<void>[] = [];
    const c = await measureCpu(pids, async () => {
      await openLoop(SCENARIO.latencyTasks, SCENARIO.latencyRate, () => {
        const t0 = performance.now();
        pending.push(
          client
            .submit({ type: 'noop', aggregate: { kind: 'none' } })
            .then(({ id }) => void sent.set(id, t0)),
        );
      });
      await Promise.all(pending);
      await done.waitFor(SCENARIO.latencyTasks);
    });
    log(`jetsched: (c) CPU: ${cpuBreakdown(cpuLabels, c.perProcess)}`);
    return sideResult({
      bulkSec,
      bulkCpuSec: a.cpu,
      splitMs: b.ms,
      splitCpuSec: b.cpu,
      splitBatched: { ms: bBatched.ms, cpuSec: bBatched.cpu },
      sentAt: sent,
      doneAt: done.at,
      latencyCpuSec: c.cpu,
    });
  } finally {
    await opened?.close();
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    await server.stop({ clean: true });
  }
}
