/**
 * Issue 7's shared scenarios on BullMQ (./issue7.ts): delayed jobs (`delay`) and prioritized jobs
 * (`priority`, 1 the highest), with a worker process of its own that records when handlers start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { connection, startWorker, stopWorker } from './bullmq-side.js';
import { delayScenario, urgentScenario, type Issue7Side } from './issue7.js';
import { type Issue7Part } from './jetsched-issue7.js';
import { SCENARIO, inBatches, type Issue7Shared } from './scenarios.js';
import { StampReader, STAMPS_ENV } from './stamps.js';

/** BullMQ's priorities for jetsched's 0 (lowest) and 9 (highest): lower numbers run first. */
const LOWEST = 10;
const HIGHEST = 1;

export async function runBullmqIssue7(
  log: (s: string) => void,
  want: ReadonlySet<Issue7Part>,
): Promise<Partial<Issue7Shared>> {
  const dir = mkdtempSync(join(tmpdir(), 'bullmq-bench-'));
  const stampsFile = join(dir, 'stamps');
  const name = `jetsched-bench-issue7-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const worker = await startWorker(name, { [STAMPS_ENV]: stampsFile });
  const ids = (jobs: { id?: string | undefined }[]): string[] => jobs.map((j) => j.id ?? '');
  const side: Issue7Side = {
    name: 'BullMQ',
    stamps: new StampReader(stampsFile),
    inFlight: 1,
    async submitDelayed(runAts) {
      const now = Date.now();
      return ids(
        await queue.addBulk(
          runAts.map((runAt) => ({ name: 'stamp', data: {}, opts: { delay: Math.max(0, runAt - now) } })),
        ),
      );
    },
    submitBacklog: (n, ms) =>
      inBatches(
        n,
        async (from, to) =>
          ids(
            await queue.addBulk(
              Array.from({ length: to - from }, () => ({
                name: 'sleep',
                data: { ms },
                opts: { priority: LOWEST },
              })),
            ),
          ),
        { batch: SCENARIO.bulkBatch },
      ),
    async submitUrgent() {
      return (await queue.add('stamp', {}, { priority: HIGHEST })).id ?? '';
    },
  };
  const out: Partial<Issue7Shared> = {};
  try {
    if (want.has('urgent')) Object.assign(out, await urgentScenario(side, log));
    if (want.has('delay')) Object.assign(out, await delayScenario(side, log));
    return out;
  } finally {
    await stopWorker(worker);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
