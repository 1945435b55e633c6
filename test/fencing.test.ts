/**
 * Attempts and fencing: an executor paused (SIGSTOP) past its ack wait loses its subtask to a
 * redelivery, which claims it before running. When the paused executor wakes up and reports, its
 * outcome is stale: rejected and logged, never counted; the task's result is the redelivery's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('a stale delivery cannot report', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 1_500 });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it("rejects the outcome of an executor paused past its ack wait; the result is the redelivery's", async () => {
    const a = c.procs.start('executor', ['--concurrency', '1']);
    await a.ready;
    const { id } = await c.client.submit({ type: 'whoami', payload: { ms: 3_000 } });
    await c.waitForLedger((lines) => lines.some((l) => l.startsWith(`start ${id} 0 1 `)));
    a.proc.kill('SIGSTOP');
    try {
      // a second member of the same group gets the redelivery once A's ack wait is over
      const b = c.procs.start('executor', ['--concurrency', '1']);
      await b.ready;
      await c.waitForLedger((lines) => lines.some((l) => l.startsWith(`start ${id} 0 2 `)), 15_000);
    } finally {
      // A wakes up with its handler's timer long due: it reports first, 3 s before B does
      a.proc.kill('SIGCONT');
    }
    const runs = c.ledger().filter((l) => l.startsWith(`start ${id} `));
    const [, , , , first] = (runs.find((l) => l.startsWith(`start ${id} 0 1 `)) ?? '').split(' ');
    const [, , , , second] = (runs.find((l) => l.startsWith(`start ${id} 0 2 `)) ?? '').split(' ');
    expect(first).toBeTruthy();
    expect(second).toBeTruthy();
    expect(second).not.toBe(first);

    expect(await c.client.result(id, { timeoutMs: 20_000 })).toEqual([second]);
    const { task } = await c.client.get(id);
    expect(task.subtasks).toMatchObject({ total: 1, succeeded: 1, failed: 0, claims: { '0': 2 } });
    // the coordinator said why it refused A's outcome
    const coordinator = c.procs.all.find((p) => p.role === 'coordinator');
    const rejected = c.procs
      .logOf(coordinator!)
      .split('\n')
      .filter((l) => l.includes('stale delivery') && l.includes(id));
    expect(rejected.length).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(rejected[0]!)).toMatchObject({ taskId: id, subtask: 0, delivery: 1, executor: first });
  });
});
