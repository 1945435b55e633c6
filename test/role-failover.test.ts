import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('failover of role processes killed with SIGKILL', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 2_000 });
    c.procs.start('coordinator');
    c.procs.start('executor', ['--concurrency', '4']);
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('a task held by a scheduler that is killed -9 is split and dispatched by another one', async () => {
    // scheduler A hangs in the splitter: it holds the task and never acks it
    const hanging = c.roles({ JETSCHED_TEST_HANG_SPLIT: '1' }).start('scheduler');
    await hanging.ready;
    const { id } = await c.client.submit({
      type: 'range-squares',
      payload: { n: 1000, chunk: 100 },
      split: { kind: 'custom' },
      aggregate: { kind: 'reduce' },
    });
    await c.waitForLedger((lines) => lines.includes(`split-hang ${hanging.pid}`));
    expect((await c.client.get(id)).task.state).toBe('pending');

    // B starts, A dies: after A's ack wait the task goes to B
    const b = c.procs.start('scheduler');
    await b.ready;
    await hanging.stop('SIGKILL');
    const n = 999;
    expect(await c.client.result(id, { timeoutMs: 30_000 })).toBe((n * (n + 1) * (2 * n + 1)) / 6);
    expect(c.ledger().filter((l) => l.startsWith(id))).toHaveLength(10);
  });

  // one subtask per work message, and four: a killed member's message goes back whole
  for (const [group, perMessage, concurrency, count] of [
    ['pair', 1, 2, 8],
    ['quad', 4, 4, 16],
  ] as const) {
    it(`subtasks held by an executor that is killed -9 run on another member; each outcome is recorded once (${perMessage} per message)`, async () => {
      // executor A takes subtasks and never finishes them; the group's other member is healthy
      const stuck = c
        .roles({ JETSCHED_TEST_HANG_HANDLER: '1' })
        .start('executor', ['--concurrency', String(concurrency), '--group', group]);
      await stuck.ready;
      const { id } = await c.client.submit({
        type: 'squares',
        group,
        payload: Array.from({ length: count }, (_, i) => i),
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'reduce' },
        subtasksPerMessage: perMessage,
      });
      await c.waitForLedger((lines) => lines.includes(`exec-hang ${stuck.pid}`));

      const healthy = c.procs.start('executor', ['--concurrency', '4', '--group', group]);
      await healthy.ready;
      await stuck.stop('SIGKILL');
      const squares = Array.from({ length: count }, (_, i) => i * i).reduce((a, b) => a + b, 0);
      expect(await c.client.result(id, { timeoutMs: 30_000 })).toBe(squares);
      const { task } = await c.client.get(id);
      expect(task.subtasks).toMatchObject({ total: count, succeeded: count, failed: 0 });
      // every subtask ran to completion exactly once, all on the healthy member
      const runs = c.ledger().filter((l) => l.startsWith(id));
      expect(runs).toHaveLength(count);
      expect(new Set(runs.map((l) => l.split(' ')[1])).size).toBe(count);
    });
  }
});

describe('an executor paused past its ack wait, woken while a redelivery runs', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 1_500 });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('does not ack the message: when the redelivery dies too, the subtask still runs', async () => {
    const a = c.procs.start('executor', ['--concurrency', '1']);
    await a.ready;
    const { id } = await c.client.submit({ type: 'whoami', payload: { ms: 3_000 } });
    await c.waitForLedger((lines) => lines.some((l) => l.startsWith(`start ${id} 0 1 `)));
    a.proc.kill('SIGSTOP');
    const b = c.procs.start('executor', ['--concurrency', '1']);
    try {
      await b.ready;
      await c.waitForLedger((lines) => lines.some((l) => l.startsWith(`start ${id} 0 2 `)), 15_000);
    } finally {
      a.proc.kill('SIGCONT');
    }
    // A wakes with its handler long due and reports (refused: stale). An ack now would delete the
    // message B is running; B then dies before it reports
    const coordinator = c.procs.all.find((p) => p.role === 'coordinator');
    const refused = (): boolean =>
      c.procs
        .logOf(coordinator!)
        .split('\n')
        .some((l) => l.includes('stale delivery') && l.includes(id));
    const deadline = Date.now() + 5_000;
    while (!refused() && Date.now() < deadline) await sleep(20);
    expect(refused()).toBe(true);
    await sleep(200);
    await b.stop('SIGKILL');

    // the message comes back after B's ack wait, to A, which claims it (delivery 3) and runs it
    const [, , , , first] = (c.ledger().find((l) => l.startsWith(`start ${id} 0 1 `)) ?? '').split(' ');
    expect(await c.client.result(id, { timeoutMs: 20_000 })).toEqual([first]);
    const { task } = await c.client.get(id);
    expect(task.subtasks).toMatchObject({ total: 1, succeeded: 1, failed: 0, claims: { '0': 3 } });
    expect(c.procs.logOf(a)).toContain('no longer ours to ack');
  });
});
