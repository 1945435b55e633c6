/**
 * BullMQ doing the equivalent work on the local Redis: a worker process with the same handlers and
 * concurrency, this process adding jobs. (a) addBulk in the same batches; (b) a flow whose parent
 * sums its children, one child per chunk; (c) single adds at the same rate, completions observed
 * with QueueEvents.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FlowProducer, Queue, QueueEvents } from 'bullmq';
import { SCENARIO, openLoop, sideResult, type SideResult } from './scenarios.js';
import { measureCpu, pidOf } from './stats.js';

export const connection = { host: '127.0.0.1', port: Number(process.env['REDIS_PORT'] ?? 6379) };
const WORKER = fileURLToPath(new URL('./bullmq-worker.js', import.meta.url));

async function completedCount(queue: Queue): Promise<number> {
  return (await queue.getJobCounts('completed'))['completed'] ?? 0;
}

async function untilCompleted(queue: Queue, n: number): Promise<void> {
  while ((await completedCount(queue)) < n) await new Promise((r) => setTimeout(r, 5));
}

/** The worker process (./bullmq-worker.ts) on queue `name`, once it listens. */
export async function startWorker(name: string, env: Record<string, string> = {}): Promise<ChildProcess> {
  const worker = spawn(process.execPath, [WORKER], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env, BENCH_QUEUE: name, BENCH_CONCURRENCY: String(SCENARIO.concurrency) },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: worker.stdout }).on('line', (l) => l === 'ready' && resolve());
      worker.once('exit', (c) => reject(new Error(`bullmq worker exited ${c}`)));
    });
  } catch (err) {
    await stopWorker(worker);
    throw err;
  }
  return worker;
}

export async function stopWorker(worker: ChildProcess): Promise<void> {
  worker.kill('SIGTERM');
  if (worker.exitCode === null && worker.signalCode === null) await once(worker, 'exit');
}

export async function runBullmq(log: (s: string) => void): Promise<SideResult> {
  const name = `jetsched-bench-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const flows = new FlowProducer({ connection });
  const events = new QueueEvents(name, { connection });
  let worker: ChildProcess | undefined;
  try {
    worker = await startWorker(name);
    await events.waitUntilReady();
    const pids = [worker.pid ?? -1, ...pidOf('redis-server')];

    const bulk = async (n: number): Promise<void> => {
      const base = await completedCount(queue);
      for (let i = 0; i < n; i += SCENARIO.bulkBatch) {
        const jobs = Array.from({ length: Math.min(SCENARIO.bulkBatch, n - i) }, () => ({
          name: 'noop',
          data: {},
        }));
        await queue.addBulk(jobs);
      }
      await untilCompleted(queue, base + n);
    };
    const flow = async (n: number): Promise<void> => {
      const items = splitOf(n);
      const children = [];
      for (let i = 0; i < n; i += SCENARIO.splitChunk) {
        children.push({
          name: 'chunk',
          queueName: name,
          data: { items: items.slice(i, i + SCENARIO.splitChunk) },
        });
      }
      const f = await flows.add({ name: 'parent', queueName: name, data: {}, children });
      const sum = (await f.job.waitUntilFinished(events, 120_000)) as number;
      if (sum !== (n * (n - 1)) / 2) throw new Error(`wrong sum ${sum}`);
    };
    const splitOf = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    log('BullMQ: warm-up');
    await bulk(SCENARIO.warmupTasks);
    // (b)'s code paths warm too, as jetsched's are
    await flow(SCENARIO.warmupSplitItems);

    log(`BullMQ: (a) ${SCENARIO.bulkTasks} no-op jobs with addBulk`);
    let t = performance.now();
    const a = await measureCpu(pids, () => bulk(SCENARIO.bulkTasks));
    const bulkSec = (performance.now() - t) / 1000;

    log(
      `BullMQ: (b) a flow of ${SCENARIO.splitItems / SCENARIO.splitChunk} children of ${SCENARIO.splitChunk} items`,
    );
    t = performance.now();
    const b = await measureCpu(pids, () => flow(SCENARIO.splitItems));
    const splitMs = performance.now() - t;

    log(`BullMQ: (c) ${SCENARIO.latencyTasks} single jobs at ${SCENARIO.latencyRate}/s`);
    const sent = new Map<string, number>();
    const doneAt = new Map<string, number>();
    events.on('completed', ({ jobId }) => void doneAt.set(jobId, performance.now()));
    const pending: Promise<void>[] = [];
    const c = await measureCpu(pids, async () => {
      await openLoop(SCENARIO.latencyTasks, SCENARIO.latencyRate, () => {
        const t0 = performance.now();
        pending.push(queue.add('noop', {}).then((job) => void sent.set(job.id ?? '', t0)));
      });
      await Promise.all(pending);
      while ([...sent.keys()].some((id) => !doneAt.has(id))) await new Promise((r) => setTimeout(r, 5));
    });
    return sideResult({
      bulkSec,
      bulkCpuSec: a.cpu,
      splitMs,
      splitCpuSec: b.cpu,
      sentAt: sent,
      doneAt: doneAt,
      latencyCpuSec: c.cpu,
    });
  } finally {
    if (worker) await stopWorker(worker);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await Promise.all([queue.close(), flows.close(), events.close()]);
  }
}
