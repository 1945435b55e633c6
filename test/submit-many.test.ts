/**
 * Batch-native messages: a submit_many of 1,000 tasks travels as a handful of hand-off, work and
 * outcome messages carrying items of many tasks, and each item is on its own (one task's failure
 * never stops another task's item in the same message).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { names, NonRetryableError } from '@jetsched/protocol';
import { startStack, type Stack } from './helpers/stack.js';

describe('submit_many of 1,000 tasks', () => {
  let stack: Stack;
  let jsm: JetStreamManager;
  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          concurrency: 50,
          handlers: {
            work: (input) => {
              if ((input as number) % 100 === 7) throw new NonRetryableError(`no ${String(input)}`);
              return (input as number) * 2;
            },
          },
        },
      ],
    });
    jsm = await jetstreamManager(stack.raw);
  });
  afterAll(() => stack?.close());

  it('travels as a handful of messages, and each task succeeds or fails on its own', async () => {
    const n = names(stack.prefix);
    const seq = async (stream: string): Promise<number> => (await jsm.streams.info(stream)).state.last_seq;
    const streams = [n.streams.ready, n.streams.work, n.streams.outcomes] as const;
    const before = await Promise.all(streams.map(seq));
    const replies = await stack.client.submitMany(
      Array.from({ length: 1000 }, (_, i) => ({ type: 'work', payload: i })),
    );
    expect(replies.every((r) => r.ok)).toBe(true);
    const ids = replies.map((r) => (r.ok ? r.id : ''));
    const settled = await Promise.allSettled(
      ids.map((id) => stack.client.result<number[]>(id, { timeoutMs: 30_000 })),
    );
    const [handoffs, work, outcomes] = (await Promise.all(streams.map(seq))).map(
      (s, i) => s - (before[i] ?? 0),
    );
    // one hand-off message, and work and outcomes packed by the backlog as the executors make room
    // (50 slots: up to 20 per message; 10 or more on average, against one per task unpacked)
    expect(handoffs).toBe(1);
    expect(work).toBeLessThanOrEqual(100);
    expect(outcomes).toBeLessThanOrEqual(100);
    settled.forEach((s, i) => {
      if (i % 100 === 7) expect(s).toMatchObject({ status: 'rejected', reason: { message: `no ${i}` } });
      else expect(s).toEqual({ status: 'fulfilled', value: [i * 2] });
    });
  });
});
