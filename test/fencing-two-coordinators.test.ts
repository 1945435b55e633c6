/**
 * Fencing with two coordinators: the record one coordinator cached is behind the record the other
 * wrote (a claim granted by the other). Outcome recording must not trust the cache where it matters:
 * the current delivery's outcome counts even though the cache does not show its claim yet, a stale
 * delivery's outcome decided on the cache stores nothing (its subtask record or result, stored beside
 * the record in the tasks bucket, is refused by the server's guard on the record's revision), and the
 * result is the current delivery's. Only the record writes are republished as events.
 *
 * To make the race deterministic the two coordinators have split duties, by NATS permissions:
 * coordinator A records outcomes and serves no API (it may not subscribe to the API subjects);
 * coordinator B serves the API (submits, claims) and records no outcomes (it may not pull from the
 * outcomes consumer). The test publishes the outcome messages itself, in a controlled order, as an
 * executor would, and waits for each to be recorded before the next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectClient, type Client } from '@jetsched/client';
import { createCoordinator, type Coordinator } from '@jetsched/coordinator';
import {
  decode,
  encode,
  names,
  validate,
  WIRE_VERSION,
  type OutcomeItem,
  type Names,
} from '@jetsched/protocol';
import { bindTopology, provision, TaskStore, type Signer } from '@jetsched/runtime';
import { startServer, type NatsServer } from '@jetsched/testkit';
import { requestJson } from './interop/raw-client.js';
import { uniquePrefix } from './helpers/stack.js';

describe('two coordinators: a cached record behind the stored one', () => {
  const prefix = uniquePrefix();
  const n: Names = names(prefix);
  let server: NatsServer;
  const conns: NatsConnection[] = [];
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let client: Client;
  let a: Coordinator;
  let b: Coordinator;
  let signer: Signer;

  beforeAll(async () => {
    server = await startServer({
      extraConfig: `authorization {
  users = [
    { user: "test", password: "test" }
    { user: "a", password: "a", permissions: { subscribe: { deny: ["${prefix}.api.>"] } } }
    { user: "b", password: "b", permissions: { publish: { deny: ["$JS.API.CONSUMER.MSG.NEXT.${n.streams.outcomes}.>"] } } }
  ]
}`,
    });
    const as = async (user: string): Promise<NatsConnection> => {
      const c = await connect({ servers: server.url, user, pass: user });
      conns.push(c);
      return c;
    };
    nc = await as('test');
    await provision(nc, { prefix });
    // the test plays the scheduler and the executor: it signs attempts with the cluster's key
    signer = (await bindTopology(nc, prefix)).signer;
    jsm = await jetstreamManager(nc);
    a = createCoordinator({ nc: await as('a'), prefix, id: 'coord-a' });
    b = createCoordinator({ nc: await as('b'), prefix, id: 'coord-b' });
    await a.start();
    await b.start();
    client = await connectClient({ nc, prefix });
  });
  afterAll(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled(conns.map((c) => c.close()));
    await server?.stop({ clean: true });
  });

  /** A task of two subtasks (its record knows the total from the submit), submitted through B. */
  async function submitPair(): Promise<string> {
    const { id } = await client.submit({
      type: 'pair',
      payload: ['a', 'b'],
      split: { kind: 'items', chunkSize: 1 },
    });
    return id;
  }

  /** An outcome as an executor sends it, with the token the releasing scheduler would have given. */
  function outcome(taskId: string, index: number, delivery: number, result: unknown, total = 2): OutcomeItem {
    const now = Date.now();
    const token = signer.attemptToken(taskId, index, 1);
    return {
      taskId,
      index,
      total,
      attempt: 1,
      delivery,
      ok: true,
      result,
      startedAt: now,
      finishedAt: now,
      token,
    };
  }

  /** Publishes one outcome message, as an executor would, and waits until a coordinator acked it. */
  async function record(...items: OutcomeItem[]): Promise<void> {
    const from = `exec-d${items.map((i) => i.delivery).join('-')}`;
    await jetstream(nc).publish(
      n.outcomeSubject('default'),
      encode({ v: WIRE_VERSION, kind: 'outcomes', from, items }),
    );
    for (const deadline = Date.now() + 10_000; ;) {
      const info = await jsm.consumers.info(n.streams.outcomes, n.consumers.coordinatorOutcomes);
      if (info.num_pending === 0 && info.num_ack_pending === 0) return;
      if (Date.now() > deadline) throw new Error('an outcome message was not recorded within 10 s');
      await sleep(20);
    }
  }

  /** Redelivery `delivery` claims subtask `index`, through B (A serves no API). */
  async function claim(taskId: string, index: number, delivery: number, total = 2): Promise<void> {
    const { value } = await requestJson(nc, n.api.claim, {
      executor: `exec-d${delivery}`,
      items: [{ taskId, index, total, attempt: 1, delivery }],
    });
    expect(value).toEqual({ ok: true, results: [{ granted: true }] });
  }

  async function subtaskRecord(taskId: string, index: number) {
    const m = await jsm.streams.getMessage(`KV_${n.buckets.tasks}`, {
      last_by_subj: n.subtaskRecordSubject(taskId, index),
    });
    return m ? validate('subtask-record', decode(m.data)) : undefined;
  }

  it('counts the current delivery although the recording coordinator cached the record before its claim', async () => {
    const id = await submitPair();
    await record(outcome(id, 1, 1, 'b')); // A reads the record and caches what it writes
    await claim(id, 0, 2); // B writes the claim: A's cached record does not show it
    // A's cache says delivery 1 owns subtask 0: refusing delivery 2 as stale would be final (the
    // message is acked) and the task would never end
    await record(outcome(id, 0, 2, 'current'));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['current', 'b']);
    // the delivery the claim replaced reports late, and changes nothing
    await record(outcome(id, 0, 1, 'stale'));
    const { task, result } = await client.get(id, { includeResult: true });
    expect(result).toEqual(['current', 'b']);
    expect(task.subtasks).toMatchObject({ total: 2, succeeded: 2, failed: 0, claims: { '0': 2 } });
  });

  it("stores nothing for a stale delivery decided on the cached record: the result is the current delivery's", async () => {
    const id = await submitPair();
    await record(outcome(id, 1, 1, 'b'));
    await claim(id, 0, 2);
    // A decides on its cached record, where delivery 1 still owns subtask 0: the subtask record it
    // would store is refused by the server (the record moved on), and decided again it is stale
    await record(outcome(id, 0, 1, 'stale'));
    expect(await subtaskRecord(id, 0)).toBeUndefined();
    expect((await client.get(id)).task).toMatchObject({ state: 'running', subtasks: { succeeded: 1 } });
    await record(outcome(id, 0, 2, 'current'));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['current', 'b']);
    expect(await subtaskRecord(id, 0)).toMatchObject({ index: 0, delivery: 2, result: 'current' });
  });

  it('takes the current delivery when the stale and the current outcome come in one message', async () => {
    const id = await submitPair();
    await record(outcome(id, 1, 1, 'b'));
    await claim(id, 0, 2);
    // decided on A's cached record the stale one counts and the current one is a duplicate; the
    // guard voids that decision, and decided again on the stored record the current one counts
    await record(outcome(id, 0, 1, 'stale'), outcome(id, 0, 2, 'current'));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['current', 'b']);
    expect(await subtaskRecord(id, 0)).toMatchObject({ delivery: 2, result: 'current' });
  });

  it('ends a task whose every outcome is in one message from the outcomes that counted, not a refused one', async () => {
    const id = await submitPair();
    await claim(id, 0, 2);
    // the task ends in this write from the results in hand; the stale outcome after the current one
    // must not replace it
    await record(outcome(id, 0, 2, 'current'), outcome(id, 0, 1, 'stale'), outcome(id, 1, 1, 'b'));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['current', 'b']);
  });

  it('stores no result for a one-subtask task decided on a record behind a claim', async () => {
    const { id } = await client.submit({ type: 'one', payload: 'x' });
    // an outcome for a subtask the task does not have: refused, but A now caches the record
    await record(outcome(id, 3, 1, 'nothing', 1));
    await claim(id, 0, 2, 1);
    await record(outcome(id, 0, 1, 'stale', 1));
    const stale = await jsm.streams.getMessage(`KV_${n.buckets.tasks}`, {
      last_by_subj: n.resultSubject(id),
    });
    expect(stale).toBeNull();
    expect((await client.get(id)).task).toMatchObject({ state: 'pending' });
    await record(outcome(id, 0, 2, 'current', 1));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['current']);
  });

  it('makes one event per record write, none for the subtask records and results beside it', async () => {
    const events: { subject: string; state: string }[] = [];
    const sub = nc.subscribe(n.subjects.eventsAll, {
      callback: (_err, m) => {
        let state = 'not a task record';
        try {
          state = validate('task-record', JSON.parse(m.string())).state;
        } catch {
          // a subtask record or a result (msgpack) republished as an event
        }
        events.push({ subject: m.subject, state });
      },
    });
    await nc.flush();
    const id = await submitPair();
    await record(outcome(id, 1, 1, 'b'));
    await record(outcome(id, 0, 1, 'a'));
    expect(await client.result(id, { timeoutMs: 10_000 })).toEqual(['a', 'b']);
    await nc.flush();
    sub.unsubscribe();
    // created; one outcome counted; the other counted; ended (from the subtask records read back)
    expect(events.filter((e) => e.subject.startsWith(n.eventSubject(id)))).toEqual(
      ['pending', 'running', 'running', 'succeeded'].map((state) => ({ subject: n.eventSubject(id), state })),
    );
  });

  it('refuses a write beside a record unless the record is still at the revision the decision read', async () => {
    const topo = await bindTopology(nc, prefix);
    const store = new TaskStore(topo);
    const { id } = await client.submit({ type: 'one', payload: 'x' });
    const stored = await store.get(id);
    const revision = stored!.revision;
    await claim(id, 0, 2, 1); // the record moves on
    expect(await store.putBeside(id, revision, { result: { value: 'stale' } })).toBe(false);
    expect(await store.getResult(id)).toBeUndefined();
    const now = await store.getLatest(id);
    expect(now!.revision).toBeGreaterThan(revision);
    expect(await store.putBeside(id, now!.revision, { result: { value: 'current' } })).toBe(true);
    expect(await store.getResult(id)).toEqual({ v: WIRE_VERSION, value: 'current' });
    topo.publisher.close();
  });
});
