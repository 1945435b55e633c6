/**
 * jetsched under the bench ((a)-(d)), on the cluster of ./jetsched-stack.ts: its own nats-server, one
 * coordinator, one scheduler and one executor process, and this process as the client. Completions
 * are observed as the `succeeded` lifecycle events, the way an application would.
 */
import { type SubmitRequest } from '@jetsched/protocol';
import { Completions, CPU_LABELS, startJetschedStack, submitInBatches } from './jetsched-stack.js';
import { SCENARIO, openLoop, sideResult, type JetschedExtras, type SideResult } from './scenarios.js';
import { cpuBreakdown, measureCpu, percentile } from './stats.js';
import { serverCounters } from './server-counters.js';
import { measureDashboard } from './dashboard.js';

export async function runJetsched(
  log: (s: string) => void,
): Promise<SideResult & { extras: JetschedExtras }> {
  const stack = await startJetschedStack();
  const { server, client, pids } = stack;
  try {
    const done = new Completions(client.nc, stack.prefix);

    const bulk = async (n: number, failEvery = 0): Promise<void> => {
      done.reset();
      await submitInBatches(client, n, (i): SubmitRequest => ({
        type: failEvery > 0 && i % failEvery === 0 ? 'fail' : 'noop',
        aggregate: { kind: 'none' },
      }));
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
      if (!warmup) log(`jetsched: (b) CPU: ${cpuBreakdown(CPU_LABELS, m.perProcess)}`);
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
    log(`jetsched: (a) CPU: ${cpuBreakdown(CPU_LABELS, a.perProcess)}`);
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
    log(`jetsched: (c) CPU: ${cpuBreakdown(CPU_LABELS, c.perProcess)}`);
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
    // (k) with the 100,000 tasks of (d) stored
    const k = await measureDashboard(stack, (n) => bulk(n), log);
    const extras: JetschedExtras = {
      writesPerTask: writes,
      serverMsgsInPerTask: perTask(counters1.inMsgs - counters0.inMsgs),
      serverMsgsOutPerTask: perTask(counters1.outMsgs - counters0.outMsgs),
      listMs: percentile(listTimes, 50),
      listP95Ms: percentile(listTimes, 95),
      dashboardFirstPageMs: k.firstPageMs,
      dashboardFailedPageMs: k.firstFailedPageMs,
      dashboardBulkRatio: k.bulkRatio,
      dashboardBulkCpuRatio: k.bulkCpuRatio,
      dashboardClusterCpuRatio: k.clusterCpuRatio,
      dashboardServingShare: k.servingShare,
      dashboardBrowserShare: k.browserShare,
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
    await stack.close();
  }
}
