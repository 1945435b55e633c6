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
