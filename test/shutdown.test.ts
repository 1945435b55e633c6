/**
 * Shutdown (issue 8): SIGTERM drains every role under load. A coordinator, the scheduler that holds
 * the release lease and an executor, all stopped at once mid-run (and replaced, as a rolling deploy
 * would), each exit 0 well within the drain timeout; every task ends with its result, and no subtask
 * runs twice because of the shutdown. A role that cannot close in time exits anyway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check, sumOfSquares, type Submitted } from './faults/checker.js';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('SIGTERM drains every role', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({ JETSCHED_TEST_DELAY_MS: '50' });
    for (const role of ['coordinator', 'coordinator', 'scheduler', 'scheduler'] as const) c.procs.start(role);
    c.procs.start('executor', ['--concurrency', '4']);
    c.procs.start('executor', ['--concurrency', '4']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('loses nothing and runs nothing twice when a coordinator, the lease holder and an executor stop mid-run', async () => {
    const submitted: Submitted[] = [];
    for (let t = 0; t < 150; t++) {
      const items = [t, t + 1, t + 2, t + 3];
      const { id } = await c.client.submit({
        type: 'squares',
        payload: items,
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'reduce' },
      });
      submitted.push({ id, expect: 'succeeded', result: sumOfSquares(items) });
    }
    await c.waitForLedger((l) => l.length >= 60);
    const holder = await c.leaseHolder();
    expect(holder).toBeDefined();
    const victims = [
      c.procs.all.find((p) => p.role === 'coordinator'),
      holder,
      c.procs.all.find((p) => p.role === 'executor'),
    ].filter((p) => p !== undefined);
    const faultAt = Date.now();
    const stopping = victims.map(async (p) => ({
      role: p.role,
      code: await p.stop('SIGTERM'),
      ms: Date.now() - faultAt,
    }));
    for (const role of ['coordinator', 'scheduler', 'executor'] as const) c.procs.start(role);
    const stopped = await Promise.all(stopping);
    for (const s of stopped) {
      expect({ role: s.role, code: s.code }).toEqual({ role: s.role, code: 0 });
      // the drain waits for running handlers (50 ms each) and what is in hand, not for timeouts
      expect(s.ms).toBeLessThan(10_000);
    }
    const row = await check(c, 'SIGTERM a coordinator, the lease holder and an executor', submitted, {
      faultAt,
    });
    expect({
      lost: row.lost,
      dup: row.duplicatedOutcomes,
      stuck: row.stuck,
      extra: row.extraExecutions,
    }).toEqual({
      lost: 0,
      dup: 0,
      stuck: 0,
      extra: 0,
    });
    expect(row.completed).toBe(submitted.length);
    // nothing waited out an ack wait (30 s): what the stopped roles held was finished or handed on
    expect(Date.now() - faultAt).toBeLessThan(20_000);
    expect(c.procs.logs()).not.toContain('did not close within the drain timeout');
  });

  it('exits once the drain timeout and its grace have passed, whatever has not closed', async () => {
    const stuck = c
      .roles({ JETSCHED_FAILPOINTS: 'role.close=delay:60000' })
      .start('coordinator', ['--drain-timeout-ms', '1000']);
    await stuck.ready;
    const t0 = Date.now();
    expect(await stuck.stop('SIGTERM')).toBe(1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000 + 4_000 - 100);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
