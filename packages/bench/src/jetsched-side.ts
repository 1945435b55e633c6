/**
 * jetsched under the bench: its own nats-server (pinned release), one coordinator, one scheduler and
 * one executor process, and this process as the client. Completions are observed as the
 * `succeeded` lifecycle events, the way an application would.
 */
import { fileURLToPath } from 'node:url';
import { type NatsConnection } from '@nats-io/transport-node';
import { spawnRole, type RoleProcess } from '@jetsched/cli';
import { connectClient, type Client } from '@jetsched/client';
import { Header, names, type SubmitRequest } from '@jetsched/protocol';
import { connectNats, provision } from '@jetsched/runtime';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { SCENARIO, openLoop, sideResult, type JetschedExtras, type SideResult } from './scenarios.js';
import { cpuBreakdown, measureCpu, percentile } from './stats.js';
import { serverCounters } from './server-counters.js';

const JOBS = fileURLToPath(new URL('./jobs.js', import.meta.url));

class Completions {
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

export async function runJetsched(
  log: (s: string) => void,
): Promise<SideResult & { extras: JetschedExtras }> {
  const server: NatsServer = await startServer({ monitoring: true });
  const prefix = 'bench';
  const admin = await connectNats({ servers: server.url });
  await provision(admin, { prefix });
  await admin.close();
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

    const bulk = async (n: number, failEvery = 0): Promise<void> => {
      done.reset();
      for (let i = 0; i < n; i += SCENARIO.bulkBatch) {
        const batch: SubmitRequest[] = Array.from(
          { length: Math.min(SCENARIO.bulkBatch, n - i) },
          (_, k) => ({
            type: failEvery > 0 && (i + k) % failEvery === 0 ? 'fail' : 'noop',
            aggregate: { kind: 'none' },
          }),
        );
        const results = await client.submitMany(batch);
        if (results.some((r) => !r.ok))
          throw new Error(`submit failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
      }
      await done.waitFor(n);
    };
    log('jetsched: warm-up');
    await bulk(SCENARIO.warmupTasks);
    const splitOf = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    /** `perMessage` undefined: the default, packing by backlog (no per-task option). */
    const split = async (
      perMessage: number | undefined,
      n: number = SCENARIO.splitItems,
      warmup = false,
    ): Promise<{ ms: number; cpu: number }> => {
      const items = splitOf(n);
      if (!warmup) {
        log(
          `jetsched: (b) one task of ${n} items in chunks of ${SCENARIO.splitChunk}, ${perMessage ?? 'default'} per message`,
        );
      }
      const t0 = performance.now();
      const m = await measureCpu(pids, async () => {
        const { id } = await client.submit({
          type: 'sum',
          payload: items,
          split: { kind: 'items', chunkSize: SCENARIO.splitChunk },
          aggregate: { kind: 'reduce' },
          ...(perMessage === undefined ? {} : { subtasksPerMessage: perMessage }),
        });
        const sum = await client.result<number>(id);
        if (sum !== (n * (n - 1)) / 2) throw new Error(`wrong sum ${sum}`);
      });
      const ms = performance.now() - t0;
      if (!warmup) log(`jetsched: (b) CPU: ${cpuBreakdown(cpuLabels, m.perProcess)}`);
      return { ms, cpu: m.cpu };
    };
    // (b)'s code paths (split, aggregate, big work messages) warm too, as BullMQ's flow is
    await split(undefined, SCENARIO.warmupSplitItems, true);
    await split(SCENARIO.splitPerMessage, SCENARIO.warmupSplitItems, true);

    log(`jetsched: (a) ${SCENARIO.bulkTasks} no-op tasks in bulk`);
    const counters0 = await serverCounters(server, client.nc);
    const t = performance.now();
    const a = await measureCpu(pids, () => bulk(SCENARIO.bulkTasks));
    const bulkSec = (performance.now() - t) / 1000;
    const counters1 = await serverCounters(server, client.nc);
    const perTask = (x: number): number => x / SCENARIO.bulkTasks;
    const writes = perTask(counters1.stored - counters0.stored);
    log(`jetsched: (a) CPU: ${cpuBreakdown(cpuLabels, a.perProcess)}`);
    log(
      `jetsched: (a) per task: ${writes.toFixed(2)} stored messages (${[...counters1.byStream]
        .map(([k, v]) => [k, perTask(v - (counters0.byStream.get(k) ?? 0))] as const)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v.toFixed(3)}`)
        .join(
          ', ',
        )}), server in ${perTask(counters1.inMsgs - counters0.inMsgs).toFixed(1)} / out ${perTask(counters1.outMsgs - counters0.outMsgs).toFixed(1)} messages`,
    );

    const b = await split(undefined);
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
      await done.waitForAll(sent.keys());
    });
    log(`jetsched: (c) CPU: ${cpuBreakdown(cpuLabels, c.perProcess)}`);
    // (d) reuses the completions: keep (c)'s
    const doneAt = new Map(done.at);

    log(`jetsched: (d) storing ${SCENARIO.listStored} tasks, every ${SCENARIO.listFailEvery}th failing`);
    const stored =
      SCENARIO.listStored - (SCENARIO.warmupTasks + SCENARIO.bulkTasks + SCENARIO.latencyTasks + 2);
    await bulk(stored, SCENARIO.listFailEvery);
    // the index follows the records' change stream: wait until it has the newest failures
    const failures = Math.floor(stored / SCENARIO.listFailEvery);
    while (
      (await client.list({ state: 'failed', limit: SCENARIO.listLimit })).tasks.length <
      Math.min(SCENARIO.listLimit, failures)
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const listTimes: number[] = [];
    for (let i = 0; i < SCENARIO.listRuns; i++) {
      const t0 = performance.now();
      const page = await client.list({ state: 'failed', limit: SCENARIO.listLimit });
      listTimes.push(performance.now() - t0);
      if (page.tasks.length !== SCENARIO.listLimit || page.tasks.some((x) => x.state !== 'failed')) {
        throw new Error(`list returned ${page.tasks.length} tasks, not ${SCENARIO.listLimit} failed ones`);
      }
    }
    listTimes.sort((x, y) => x - y);
    log(
      `jetsched: (d) list of the newest ${SCENARIO.listLimit} failed: median ${percentile(listTimes, 50).toFixed(1)} ms`,
    );
    const extras: JetschedExtras = {
      writesPerTask: writes,
      serverMsgsInPerTask: perTask(counters1.inMsgs - counters0.inMsgs),
      serverMsgsOutPerTask: perTask(counters1.outMsgs - counters0.outMsgs),
      listMs: percentile(listTimes, 50),
      listP95Ms: percentile(listTimes, 95),
    };
    return {
      extras,
      ...sideResult({
        bulkSec,
        bulkCpuSec: a.cpu,
        splitMs: b.ms,
        splitCpuSec: b.cpu,
        splitBatched: { ms: bBatched.ms, cpuSec: bBatched.cpu },
        sentAt: sent,
        doneAt,
        latencyCpuSec: c.cpu,
      }),
    };
  } finally {
    await opened?.close();
    await Promise.all(roles.map((r) => r.stop('SIGTERM')));
    await server.stop({ clean: true });
  }
}
