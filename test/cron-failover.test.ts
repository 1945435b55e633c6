/**
 * An every-second schedule with role processes dying under it and the nats-server killed -9 and
 * restarted: exactly one task per occurrence. Two schedulers and two coordinators run. One
 * coordinator dies (a failpoint) right after it created an occurrence's task and before it acked
 * the notice: the other takes the notice again and must find that task by its key. The scheduler
 * holding the release lease is killed -9 midway; then the server is killed -9 (occurrences due
 * while it is down fire once when it is back) and restarted. Judged from the tasks' records and
 * the executors' ledger.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RoleProcess } from '@jetsched/cli';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('an every-second schedule across failures', () => {
  let c: ProcessCluster;
  let crashing: RoleProcess;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 2_000 });
    for (const role of ['coordinator', 'scheduler', 'scheduler'] as const) c.procs.start(role);
    c.procs.start('executor', ['--concurrency', '8']);
    crashing = c.roles({ JETSCHED_FAILPOINTS: 'coordinator.after-schedule-run=crash' }).start('coordinator');
    await Promise.all([...c.procs.all, crashing].map((p) => p.ready));
  });
  afterAll(() => c?.close());

  /** Task ids the handler ran (`stamp <taskId> <ms>` lines), with how often each ran. */
  function runs(): Map<string, number> {
    const out = new Map<string, number>();
    for (const line of c.ledger()) {
      const [kind, id] = line.split(' ');
      if (kind === 'stamp' && id) out.set(id, (out.get(id) ?? 0) + 1);
    }
    return out;
  }

  it('creates one task per occurrence over 20 s with a coordinator, the lease holder and the server killed', async () => {
    const startedAt = Date.now();
    await c.client.createSchedule({ id: 'beat', every: '1s', task: { type: 'stamp', payload: 'beat' } });
    await sleep(5_000);

    // the coordinator with the failpoint took an occurrence and died before acking its notice
    const died = await Promise.race([crashing.exited.then(() => true), sleep(10_000).then(() => false)]);
    expect(died, 'the coordinator with the failpoint took an occurrence within 15 s').toBe(true);
    // the scheduler holding the group's release lease dies
    const active = await c.leaseHolder();
    expect(active, 'the lease holder among the schedulers').toBeDefined();
    await active!.stop('SIGKILL');
    await sleep(6_000);

    // the server dies without saving its schedule state, and comes back on the same store
    await c.server.kill();
    await sleep(1_500);
    await c.server.restart();
    await sleep(8_000);
    await c.client.deleteSchedule('beat');
    const endedAt = Date.now();
    await sleep(2_000); // the last tasks finish

    const ran = runs();
    const tasks = await Promise.all([...ran.keys()].map(async (id) => (await c.client.get(id)).task));
    const occurrences = tasks.map((t) => t.schedule?.occurrence ?? 0).sort((a, b) => a - b);
    // never two tasks for one occurrence, and no task ran twice
    expect(new Set(occurrences).size).toBe(occurrences.length);
    for (const [id, n] of ran) expect(n, `runs of ${id}`).toBe(1);
    expect(tasks.every((t) => t.schedule?.id === 'beat' && t.state === 'succeeded')).toBe(true);
    // one per second, but for the ~2 s the server was down (the occurrences it missed fire once)
    const seconds = (endedAt - startedAt) / 1_000;
    expect(occurrences.length).toBeGreaterThanOrEqual(Math.floor(seconds) - 5);
    expect(occurrences.length).toBeLessThanOrEqual(Math.ceil(seconds));
    const gaps = occurrences.slice(1).map((o, i) => o - (occurrences[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
  });
});
