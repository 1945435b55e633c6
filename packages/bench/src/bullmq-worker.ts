/**
 * The BullMQ worker process of the bench: the same handlers as jetsched's executor, at the same
 * concurrency, in its own process (as jetsched's executor is). Prints `ready` when it listens.
 */
import { Worker, type Job } from 'bullmq';
import { stampStart } from './stamps.js';

const queue = process.env['BENCH_QUEUE'] ?? 'bench';
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 100);
const connection = { host: '127.0.0.1', port: Number(process.env['REDIS_PORT'] ?? 6379) };

const worker = new Worker(
  queue,
  async (job: Job) => {
    switch (job.name) {
      case 'noop':
        return null;
      case 'chunk':
        return (job.data as { items: number[] }).items.reduce((a, b) => a + b, 0);
      case 'parent': {
        const values = await job.getChildrenValues<number>();
        return Object.values(values).reduce((a, b) => a + b, 0);
      }
      // issue 7: as jetsched's `stamp` and `sleep` (./jobs.ts)
      case 'stamp':
        stampStart(job.id ?? '');
        return null;
      case 'sleep':
        stampStart(job.id ?? '');
        await new Promise((r) => setTimeout(r, (job.data as { ms: number }).ms));
        return null;
      default:
        throw new Error(`unknown job ${job.name}`);
    }
  },
  { connection, concurrency },
);
await worker.waitUntilReady();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
