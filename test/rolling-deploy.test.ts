/**
 * Routing by handler: during a rolling deploy that adds a task type, the group's executors serve two
 * handler sets. Work of the new type goes only to executors that have its handler (and waits, with
 * a reason, while none does); work of the old type keeps running on either. No task fails because
 * one member of the group lacks a handler.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubmitRequest } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

const JOBS = new URL('./fixtures/versioned-jobs.mjs', import.meta.url).pathname;

describe('a rolling deploy that adds a task type', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster();
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('runs every task of both types, each only where its handler is', async () => {
    const v1 = c.roles({ JOBS_VERSION: '1' });
    const v2 = c.roles({ JOBS_VERSION: '2' });
    const old1 = v1.start('executor', ['--handlers', JOBS]);
    const old2 = v1.start('executor', ['--handlers', JOBS]);
    await Promise.all([old1.ready, old2.ready]);

    // before any executor serves `thumbnail`: asked to be refused, it is; otherwise it waits, saying why
    await expect(
      c.client.submit({ type: 'thumbnail', payload: 'a.png', requireExecutor: true }),
    ).rejects.toMatchObject({
      code: 'NO_EXECUTOR',
      message: 'no executor in group "default" serves type "thumbnail"',
    });
    const ids: string[] = [];
    const submit = async (n: number): Promise<void> => {
      const tasks: SubmitRequest[] = Array.from({ length: n }, (_, i) => ({
        type: i % 2 ? 'thumbnail' : 'resize',
        payload: `img-${ids.length + i}.png`,
      }));
      for (const r of await c.client.submitMany(tasks)) {
        if (!r.ok) throw new Error(r.error.message);
        ids.push(r.id);
      }
    };
    await submit(20);
    const waiting = (await c.client.get(ids[1]!)).waiting;
    expect(waiting).toBe('no executor in group "default" serves type "thumbnail"');

    // the roll: a v2 executor joins, the v1 ones are replaced one by one, submits go on meanwhile
    const new1 = v2.start('executor', ['--handlers', JOBS]);
    await new1.ready;
    await submit(20);
    await old1.stop('SIGTERM');
    await submit(20);
    const new2 = v2.start('executor', ['--handlers', JOBS]);
    await new2.ready;
    await old2.stop('SIGTERM');
    await submit(20);

    const results = await Promise.all(ids.map((id) => c.client.result<string[]>(id, { timeoutMs: 30_000 })));
    results.forEach((r, i) => expect(r[0]).toMatch(i % 2 ? /^thumbnail of / : /^resized /));
    // every task ran exactly once, and no thumbnail ran on a v1 executor
    await sleep(200);
    const runs = c.ledger().filter((l) => ids.includes(l.split(' ')[0]!));
    expect(runs).toHaveLength(ids.length);
    expect(runs.filter((l) => l.includes(' thumbnail v1 '))).toEqual([]);
    expect(new Set(runs.map((l) => l.split(' ')[0])).size).toBe(ids.length);
  });
});
