/**
 * Work that waits for an executor, and adverts that lapse. An executor's advert counts as live for
 * three heartbeats; one that stalls (SIGSTOP) or dies (SIGKILL) just lapses, and nothing announces
 * it. Work submitted meanwhile waits in the ready queue (`get` says why); when the executor comes
 * back (or another of its kind starts), its advert is new again, the group's releaser sees it, and
 * the work runs, once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

/** Three heartbeats of 2 s, and a margin: an advert not renewed for this long has lapsed. */
const LAPSE_MS = 7_500;

describe('work waiting while the executors lapsed', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  /** Submits a task while no executor is live, and waits until `get` says it waits for one. */
  const submitWaiting = async (): Promise<string> => {
    const { id } = await c.client.submit({ type: 'whoami', payload: { ms: 0 } });
    const deadline = Date.now() + 10_000;
    while ((await c.client.get(id)).waiting === undefined) {
      if (Date.now() > deadline) throw new Error(`the task does not say it waits\n${c.procs.logs()}`);
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
      id = await submitWaiting();
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
    const id = await submitWaiting();
    const again = c.procs.start('executor');
    await again.ready;
    expect(await c.client.result(id, { timeoutMs: 15_000 })).toHaveLength(1);
    expect(c.ledger().filter((l) => l.startsWith(`start ${id} `))).toHaveLength(1);
  });
});
