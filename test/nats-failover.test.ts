import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ItemsChunk } from '@jetsched/protocol';
import { startCluster, type NatsCluster } from '@jetsched/testkit';
import { startStack, type Stack } from './helpers/stack.js';

describe('a nats-server of a 3-node cluster dies mid-run', () => {
  let cluster: NatsCluster;
  let stack: Stack;
  let runs = 0;
  beforeAll(async () => {
    cluster = await startCluster(3);
    stack = await startStack({
      cluster,
      replicas: 3,
      ackWaitMs: 3_000,
      executors: [1, 2].map(() => ({
        concurrency: 4,
        handlers: {
          square: async (input: unknown) => {
            await sleep(20);
            runs++;
            return (input as ItemsChunk<number>).items.map((x) => x * x);
          },
        },
      })),
    });
  });
  afterAll(async () => {
    await stack?.close();
    await cluster?.stop({ clean: true });
  });

  it('every task still completes with the right result on R3 streams', async () => {
    const ids: string[] = [];
    for (let t = 0; t < 10; t++) {
      const { id } = await stack.client.submit({
        type: 'square',
        payload: Array.from({ length: 40 }, (_, i) => i + t),
        split: { kind: 'items', chunkSize: 2 },
        idempotencyKey: `k${t}`,
      });
      ids.push(id);
    }
    const deadline = Date.now() + 20_000;
    while (runs < 40 && Date.now() < deadline) await sleep(10);
    // kill a node that is not the first in every client's list, so reconnects are exercised too
    await cluster.servers[1]!.kill();
    const results = await Promise.all(
      ids.map((id) => stack.client.result<number[][]>(id, { timeoutMs: 90_000 })),
    );
    results.forEach((r, t) => {
      expect(r.flat()).toEqual(Array.from({ length: 40 }, (_, i) => (i + t) ** 2));
    });
    for (const id of ids) {
      const { task } = await stack.client.get(id);
      expect(task.subtasks).toMatchObject({ total: 20, succeeded: 20, failed: 0 });
    }
  });
});
