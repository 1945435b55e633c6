/**
 * Parked work and adverts that lapse. An executor's advert counts as live for three heartbeats; one
 * that stalls (SIGSTOP) or dies (SIGKILL) just lapses, and nothing announces it. Work submitted
 * meanwhile is parked; when the executor comes back (or another of its kind starts), its advert is
 * new again, and the parked work is taken back and runs, well before the periodic re-check.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

/** Three heartbeats of 2 s, and a margin: an advert not renewed for this long has lapsed. */
const LAPSE_MS = 7_500;

describe('parked work after the executors lapsed', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  const parkedCount = (): number => {
    const scheduler = c.procs.all.find((p) => p.role === 'scheduler');
    return c.procs
      .logOf(scheduler!)
      .split('\n')
      .filter((l) => l.includes('parked work no executor serves')).length;
  };

  /** Submits a task while no executor is live, and waits until it is parked. */
  const submitParked = async (): Promise<string> => {
    const before = parkedCount();
    const { id } = await c.client.submit({ type: 'whoami', payload: { ms: 0 } });
    const deadline = Date.now() + 10_000;
    while (parkedCount() === before) {
      if (Date.now() > deadline) throw new Error(`the task was not parked\n${c.procs.logs()}`);
      await sleep(50);
    }
    expect((await c.client.get(id)).waiting).toBe('no executor in group "default" serves type "whoami"');
    return id;
  };

  it('runs when an executor paused past its advert liveness resumes', async () => {
    const e = c.procs.start('executor');
    await e.ready;
    e.proc.kill('SIGSTOP');
    let id: string;
    try {
      await sleep(LAPSE_MS);
      id = await submitParked();
    } finally {
      e.proc.kill('SIGCONT');
    }
    expect(await c.client.result(id, { timeoutMs: 15_000 })).toHaveLength(1);
    expect(c.ledger().filter((l) => l.startsWith(`start ${id} `))).toHaveLength(1);
    await e.stop('SIGTERM');
  });

  it('runs when an executor killed is started again after its advert lapsed', async () => {
    const e = c.procs.start('executor');
    await e.ready;
    await e.stop('SIGKILL');
    await sleep(LAPSE_MS);
    const id = await submitParked();
    const again = c.procs.start('executor');
    await again.ready;
    expect(await c.client.result(id, { timeoutMs: 15_000 })).toHaveLength(1);
    expect(c.ledger().filter((l) => l.startsWith(`start ${id} `))).toHaveLength(1);
  });
});
