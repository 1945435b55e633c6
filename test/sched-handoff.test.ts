/**
 * The hand-off to the ready queue: a task cancelled while no scheduler ran is never released (the
 * releaser checks the stops before it releases anything), and its ready message is purged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@jetsched/protocol';
import { createScheduler } from '@jetsched/scheduler';
import { startStack, type Stack } from './helpers/stack.js';

describe('sched hand-off', () => {
  let stack: Stack;
  const ran: string[] = [];
  beforeAll(async () => {
    stack = await startStack({
      schedulers: 0,
      executors: [{ handlers: { note: (_input, ctx) => void ran.push(ctx.taskId) } }],
    });
  });
  afterAll(() => stack?.close());

  it('does not dispatch a task cancelled after its hand-off was written', async () => {
    const { id: cancelled } = await stack.client.submit({ type: 'note', payload: null });
    expect((await stack.client.cancel(cancelled, 'changed my mind')).state).toBe('cancelled');

    const scheduler = createScheduler({ nc: await stack.connect(), prefix: stack.prefix });
    await scheduler.start();
    try {
      // a task submitted now runs: the scheduler works, and it has passed the first hand-off
      const { id: later } = await stack.client.submit({ type: 'note', payload: null });
      await stack.client.result(later, { timeoutMs: 10_000 });
      const n = names(stack.prefix);
      const jsm = await jetstreamManager(stack.raw);
      // the cancelled task's ready message was passed over, and is purged with the rest (soon)
      const waiting = async (): Promise<number> =>
        (await jsm.streams.info(n.streams.ready, { subjects_filter: n.readyGroupFilter('default') })).state
          .messages;
      const deadline = Date.now() + 5_000;
      while ((await waiting()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(await waiting()).toBe(0);

      expect(ran).toEqual([later]);
      const { task } = await stack.client.get(cancelled);
      expect(task.state).toBe('cancelled');
      expect(task.subtasks).toMatchObject({ total: 1, succeeded: 0, failed: 0 });
    } finally {
      await scheduler.close();
    }
  });
});
