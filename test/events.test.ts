/**
 * Events that cannot be lost: a task's events are the changes of its record, republished by the
 * server from the write itself (and `watch` reads the record's own change stream). A coordinator
 * killed right after it writes a task's end, before it does anything else (ack, stop notices, ...),
 * still leaves every watcher and waiter with the end, at once: nothing had to be published after
 * the write for them to learn it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Header, names, type TaskState } from '@jetsched/protocol';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

describe('lifecycle events come from the state change itself', () => {
  let c: ProcessCluster;
  beforeAll(async () => {
    // a long ack wait: the killed coordinator's outcomes are not redelivered during the test
    c = await startProcessCluster({}, { ackWaitMs: 60_000 });
    c.procs.start('scheduler');
    c.procs.start('executor');
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('watch() and result() end promptly when the coordinator dies right after writing the end', async () => {
    const crashing = c
      .roles({ JETSCHED_FAILPOINTS: 'coordinator.after-record-write=crash' })
      .start('coordinator');
    await crashing.ready;
    // the events on the wire: every record write, republished by the server with its state header
    const events: { id: string; state: string | undefined }[] = [];
    const sub = c.nc.subscribe(names(c.prefix).eventSubject('*'), {
      callback: (_err, m) => {
        events.push({ id: m.subject.split('.').at(-1) ?? '', state: m.headers?.get(Header.State) });
      },
    });
    await c.nc.flush();
    const { id } = await c.client.submit({
      type: 'squares',
      payload: [1, 2, 3],
      split: { kind: 'items', chunkSize: 3 },
      aggregate: { kind: 'reduce' },
    });
    const states: TaskState[] = [];
    const watching = (async () => {
      for await (const e of c.client.watch(id)) if (e.kind === 'state') states.push(e.task.state);
    })();
    // the failpoint kills the coordinator right after its first record write of an outcome
    expect(await crashing.exited).toBeNull();
    const t0 = Date.now();
    await watching;
    expect(states.at(-1)).toBe('succeeded');
    // the crashed coordinator published nothing after its write: the event came from the write itself
    expect(events.filter((e) => e.id === id).map((e) => e.state)).toContain('succeeded');
    sub.unsubscribe();
    // a watcher that starts after the crash gets the end at once, too
    const later: TaskState[] = [];
    for await (const e of c.client.watch(id)) if (e.kind === 'state') later.push(e.task.state);
    expect(later).toEqual(['succeeded']);
    // result() asks a coordinator (`wait`): a new one answers from the record, not after an ack wait
    const b = c.procs.start('coordinator');
    await b.ready;
    expect(await c.client.result(id, { timeoutMs: 10_000 })).toBe(14);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });
});
