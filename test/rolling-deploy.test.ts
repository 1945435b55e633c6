/**
 * Routing by handler: during a rolling deploy that adds a task type, the group's executors serve two
 * handler sets. Work of the new type goes only to executors that have its handler (and waits, with
 * a reason, while none does); work of the old type keeps running on either. No task fails because
 * one member of the group lacks a handler.
 *
 * Work routed again goes out in new messages, never dropped as a copy of the one it replaces: an
 * executor gives back subtasks it has no handler for, and a scheduler takes work off a profile whose
 * executors are all gone (even a subtask a redelivery had claimed before it died); each still runs
 * once, where its handler is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutor } from '@jetsched/executor';
import {
  decode,
  encode,
  encodeJson,
  names,
  WIRE_VERSION,
  type ExecutorAdvert,
  type ItemsChunk,
  type SchedBatch,
  type SubmitRequest,
  type WorkBatch,
  type WorkItem,
} from '@jetsched/protocol';
import { deadLetters } from './helpers/dead-letters.js';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';
import { watchSubject } from './helpers/subjects.js';

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

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('subtasks given back by an executor that has no handler for them', () => {
  let stack: Stack;
  /** `<taskId> <index>` of every resize run; a resize of "hold" waits for `release`. */
  const resized: string[] = [];
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  beforeAll(async () => {
    // a member of profile "shared" deployed without the thumbnail handler
    stack = await startStack({
      executors: [
        {
          profile: 'shared',
          concurrency: 2,
          handlers: {
            resize: async (x, ctx) => {
              resized.push(`${ctx.taskId} ${ctx.index}`);
              if ((x as ItemsChunk).items?.includes('hold')) await held;
              return x;
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('are routed again until they run where their handler is, each task once', async () => {
    // an advert says profile "shared" serves thumbnails too (out of date, or a profile set by hand):
    // the scheduler sends them there, where the only member pulling has no handler for them
    const adverts = await new Kvm(stack.raw).open(names(stack.prefix).buckets.executors);
    const now = Date.now();
    const ghost: ExecutorAdvert = {
      v: WIRE_VERSION,
      id: 'ghost',
      group: 'default',
      profile: 'shared',
      types: ['resize', 'thumbnail'],
      concurrency: 4,
      running: 0,
      heartbeatMs: 60_000,
      host: 'elsewhere',
      pid: 1,
      startedAt: now,
      at: now,
    };
    await adverts.put('default.ghost', encodeJson(ghost));
    // hand-backs go to the ready queue, as ready messages of subtasks (`items`)
    const sched = await watchSubject(stack.raw, `${stack.prefix}.ready.default.>`);
    const handBacks = (): SchedBatch[] =>
      sched.seen.map((m) => m.body as SchedBatch).filter((b) => (b.items?.length ?? 0) > 0);

    const ids: string[] = [];
    for (const r of await stack.client.submitMany(
      [1, 2, 3].map((i) => ({ type: 'thumbnail', payload: `img-${i}.png` })),
    )) {
      if (!r.ok) throw new Error(r.error.message);
      ids.push(r.id);
    }
    await until(() => handBacks().length > 0, 10_000, 'a hand-back');

    // a member with the handler joins the profile
    const runs = new Map<string, number>();
    const withHandler = createExecutor({
      nc: await stack.connect(),
      prefix: stack.prefix,
      profile: 'shared',
      concurrency: 2,
      drainTimeoutMs: 2_000,
      handlers: {
        resize: (x) => x,
        thumbnail: (x, ctx) => {
          runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
          return `thumbnail of ${String(x)}`;
        },
      },
    });
    await withHandler.start();
    try {
      const results = await Promise.all(
        ids.map((id) => stack.client.result<string[]>(id, { timeoutMs: 20_000 })),
      );
      expect(results).toEqual([1, 2, 3].map((i) => [`thumbnail of img-${i}.png`]));
      for (const id of ids) expect(runs.get(id)).toBe(1);
      // given back with one more `resends` each time: each new carrier is a new message
      const back = handBacks().flatMap((b) => b.items ?? []);
      expect(back.every((i) => (i.resends ?? 0) >= 1)).toBe(true);
    } finally {
      sched.stop();
      await withHandler.close();
      await adverts.delete('default.ghost');
    }
  });

  it("are checked against their task's record: done ones skipped, others dead-lettered, routed by the task's type", async () => {
    const { id } = await stack.client.submit({
      type: 'resize',
      payload: ['a', 'hold'],
      split: { kind: 'items', chunkSize: 1 },
      subtasksPerMessage: 1,
    });
    await until(
      async () => (await stack.client.get(id)).task.subtasks?.succeeded === 1,
      10_000,
      'subtask 0 done',
    );
    const work = await watchSubject(stack.raw, `${stack.prefix}.work.>`);
    // a hand-back as a foreign executor might send it
    const item = { taskId: id, attempt: 1, resends: 1, input: null };
    const forged: SchedBatch = {
      v: WIRE_VERSION,
      kind: 'sched',
      items: [
        { ...item, type: 'resize', index: 0, total: 2 }, // done: skipped
        { ...item, type: 'resize', index: 2, total: 2 }, // not one of its subtasks
        { ...item, type: 'resize', index: 1, total: 3 }, // another total than the task's
        { ...item, type: 'thumbnail', index: 1, total: 2, input: { items: ['hold'], offset: 1 } },
      ],
    };
    await jetstream(stack.raw).publish(
      names(stack.prefix).readySubject('default', 5, 'default', 'resize'),
      encode(forged),
    );
    const released = (): WorkItem[] =>
      work.seen.flatMap((m) => (m.body as WorkBatch).items).filter((i) => i.taskId === id);
    await until(() => released().length > 0, 10_000, 'the given-back subtask released');
    await until(
      async () =>
        (await deadLetters(stack.raw, stack.prefix)).filter((d) => d.source === 'ready').length === 2,
      10_000,
      'two dead letters',
    );
    work.stop();
    // only subtask 1 went out again, as a subtask of the task's type
    expect(released().map((i) => [i.index, i.type, i.resends])).toEqual([[1, 'resize', 1]]);
    const dl = (await deadLetters(stack.raw, stack.prefix)).filter((d) => d.source === 'ready');
    expect(dl.map((d) => (decode(d.data) as WorkItem).index).sort()).toEqual([1, 2]);
    for (const d of dl) {
      expect(d.reason).toMatchObject({ code: 'BAD_REQUEST' });
      expect(d.reason.message).toContain('does not match its record');
    }
    release();
    expect(await stack.client.result(id, { timeoutMs: 10_000 })).toEqual([
      { items: ['a'], offset: 0 },
      { items: ['hold'], offset: 1 },
    ]);
    expect(resized.filter((r) => r === `${id} 0`)).toHaveLength(1);
  });
});

describe('work left on a profile whose executors are all gone', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    c = await startProcessCluster({}, { ackWaitMs: 1_500 });
    c.procs.start('coordinator');
    c.procs.start('scheduler');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('is taken off it and runs on another profile, even a subtask a redelivery had claimed', async () => {
    // two executors of one profile take the subtask in turn and never finish it
    const hanging = c.roles({ JETSCHED_TEST_HANG_HANDLER: '1' });
    const a = hanging.start('executor', ['--concurrency', '1']);
    await a.ready;
    const { id } = await c.client.submit({
      type: 'squares',
      payload: [1, 2, 3],
      split: { kind: 'items', chunkSize: 3 },
    });
    await c.waitForLedger((lines) => lines.includes(`exec-hang ${a.pid}`));
    const b = hanging.start('executor', ['--concurrency', '1']);
    await b.ready;
    await a.stop('SIGKILL');
    // the redelivery claims the subtask (delivery 2) before it runs
    await c.waitForLedger((lines) => lines.includes(`exec-hang ${b.pid}`), 15_000);
    expect((await c.client.get(id)).task.subtasks?.claims).toEqual({ '0': 2 });

    // the profile's last executor dies; one of another profile (it serves one more type) is there
    const other = c.roles({ JETSCHED_TEST_EXTRA_TYPE: 'extra' }).start('executor');
    await other.ready;
    await b.stop('SIGKILL');
    expect(await c.client.result(id, { timeoutMs: 40_000 })).toEqual([14]);

    // it ran to completion once, from the new carrier, whose delivery outranks the old claim
    await sleep(200);
    expect(c.ledger().filter((l) => l.startsWith(`${id} `))).toHaveLength(1);
    const { task } = await c.client.get(id);
    expect(task.subtasks).toMatchObject({ total: 1, succeeded: 1, failed: 0, claims: { '0': 1001 } });
    const scheduler = c.procs.all.find((p) => p.role === 'scheduler');
    expect(c.procs.logOf(scheduler!)).toContain('took work off a profile no executor serves any more');
  });
});
