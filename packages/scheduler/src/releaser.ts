/**
 * The releaser of one group (ADR 0018): while this scheduler holds the group's release lease, it
 * turns the group's ready queue into work messages, as the group's executors have room for them and
 * in the order the policy decides (./release-policy.ts).
 *
 * A round:
 * 1. credit: per handler profile, the capacity its live executors advertise plus a small prefetch,
 *    less what is in flight (./credit.ts);
 * 2. decide: how many subtasks from which ready subject (priority with aging, fair shares across
 *    fairness keys, what each type's executors can take);
 * 3. take them from the loaded heads, pack them per profile into work messages;
 * 4. write the round down (the cursors it leads to, and its intent: each work message's dedupe id
 *    and the ready positions it holds) by compare-and-set on the release state;
 * 5. publish the work messages, then purge the ready messages released in full.
 * A successor that takes the lease over publishes the last intent again (JetStream drops what was
 * stored already) before its first round, so nothing is released twice and nothing is lost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  encode,
  Header,
  itemsPerMessage,
  packMessages,
  packWithItems,
  WIRE_VERSION,
  type OutcomeBatch,
  type ReadyCursor,
  type ReadyPart,
  type ReleaseState,
  type TaskFailure,
  type WorkItem,
} from '@jetsched/protocol';
import {
  maxBodyBytes,
  retryTransient,
  SIGNATURE_HEADER,
  type ExecutorRegistry,
  type Logger,
  type OutMsg,
  type StopGate,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import { InFlight, profilesOf, type Profile } from './credit.js';
import type { SchedulerConfig } from './options.js';
import type { ReleaseChange, ReleaseLease } from './release-lease.js';
import { FairShare, type Allowance, type Decision, type ReadyQueue } from './release-policy.js';
import { loadReadyMessage } from './ready-message.js';
import { ReadyView, type SubjectQueue } from './ready-queue.js';

/** How often a releaser looks again without being woken (aging, retries, lease renewal). */
const TICK_MS = 250;
/** Work released ahead of the executors' free slots: about this much of their throughput... */
const PREFETCH_WINDOW_S = 0.05;
/** ...and at most this many times their capacity. */
const MAX_PREFETCH_FACTOR = 8;
/** How long released ready messages wait to be purged, together. */
const PURGE_EVERY_MS = 500;
/** How often the release status is logged (at debug) while work waits. */
const STATUS_LOG_MS = 5_000;
/** How long a round waits for heads being loaded before it decides without them. */
const LOAD_WAIT_MS = 20;
/** How often the ready queue's per-subject counts are read, in case a notification was missed. */
const RESCAN_MS = 2_000;
/** How often the in-flight count is taken again from the work stream. */
const COUNT_EVERY_MS = 5_000;

/** A releaser's view of its group after a round: for `jetsched queue`, metrics and logs. */
export interface ReleaseStatus {
  group: string;
  at: number;
  holder: string;
  epoch: number;
  /** Every ready subject with work waiting. */
  queues: {
    subject: string;
    priority: number;
    fairnessKey: string;
    type: string;
    /** Subtasks waiting (an estimate when more are stored than loaded). */
    waiting: number;
    /** How long the oldest loaded subtask has waited (ms). */
    oldestMs: number | undefined;
    /** What held it back in the last round, if something did. */
    heldBy: string | undefined;
  }[];
  profiles: { profile: string; types: string[]; executors: number; capacity: number; inFlight: number }[];
}

/** One subtask taken for this round, with where it came from and where it goes. */
interface Taken {
  item: WorkItem;
  part: ReadyPart;
  profile: string;
  /** Its task's `subtasksPerMessage`, if set. */
  perTask: number | undefined;
}

export class GroupReleaser {
  readonly #log: Logger;
  readonly #share = new FairShare();
  readonly #inFlight: InFlight;
  #view: ReadyView | undefined;
  #timer: NodeJS.Timeout | undefined;
  #rescanner: NodeJS.Timeout | undefined;
  #purging: Promise<void> | undefined;
  #status: ReleaseStatus | undefined;
  #statusLoggedAt = 0;
  #purgeTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** The last intent is written down but not known to be published. */
  #unconfirmed = false;
  #round = 0;
  #countedAt = 0;
  /** What the round in progress is doing, and since when: a stuck round is logged with it. */
  #stage = { name: 'idle', since: 0 };
  readonly #purged = new Map<string, number>();
  #unsubscribe: (() => void) | undefined;

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cfg: SchedulerConfig,
    private readonly registry: ExecutorRegistry,
    private readonly gate: StopGate,
    readonly lease: ReleaseLease,
    private readonly onLost: () => void,
  ) {
    this.#log = cfg.log.child({ group: lease.state.group });
    this.#inFlight = new InFlight(topo, lease.state.group, this.#log);
  }

  get group(): string {
    return this.lease.state.group;
  }

  /** Starts releasing: counts what is in flight, publishes the predecessor's last intent, opens the queue. */
  async start(): Promise<void> {
    const sub = this.topo.nc.subscribe(this.topo.names.creditSubject(this.group), {
      callback: (_err, m) => {
        if (this.#inFlight.notice(m.data)) this.kick();
      },
    });
    this.#unsubscribe = () => sub.unsubscribe();
    this.#unconfirmed = this.lease.state.intent !== undefined;
    await this.#inFlight.count(keysOf);
    this.#countedAt = Date.now();
    this.#view = await ReadyView.open(
      this.topo,
      this.store,
      this.cfg,
      this.group,
      this.lease.state.cursors,
      () => this.kick(),
      (f) => this.#fail(f),
    );
    this.#timer = setInterval(() => this.kick(), TICK_MS);
    this.#rescanner = setInterval(() => {
      this.#view
        ?.rescan()
        .catch((err: unknown) => this.#log.debug({ err }, 'could not rescan the ready queue'));
    }, RESCAN_MS);
    this.#log.info({ epoch: this.lease.state.epoch }, 'releasing for the group');
    this.kick();
  }

  /** Asks for a round soon (rounds never overlap; asks during one make one more). */
  kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop().finally(() => (this.#running = undefined));
  }

  async close(opts: { release: boolean }): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#rescanner);
    this.#unsubscribe?.();
    this.#view?.close();
    await this.#running;
    clearTimeout(this.#purgeTimer);
    await this.#purging;
    if (opts.release) await this.lease.release();
  }

  async #loop(): Promise<void> {
    do {
      this.#again = false;
      const watchdog = setInterval(() => {
        const ms = Date.now() - this.#stage.since;
        this.#log.warn({ stage: this.#stage.name, ms }, 'a release round is taking long');
      }, 10_000);
      try {
        await this.#roundOnce();
      } catch (err) {
        this.#log.warn({ err, stage: this.#stage.name }, 'release round failed; trying again');
      } finally {
        clearInterval(watchdog);
        this.#at('idle');
      }
      if (this.lease.lost && !this.#closed) {
        this.#log.warn('lost the release lease of the group; stopping');
        this.#closed = true;
        clearInterval(this.#timer);
        clearInterval(this.#rescanner);
        this.#unsubscribe?.();
        this.#view?.close();
        this.onLost();
        return;
      }
    } while (this.#again && !this.#closed);
  }

  #at(name: string): void {
    if (process.env['JETSCHED_STAGE_TIMES']) {
      const now = performance.now();
      const t = (this.#times ??= {});
      t[this.#stage.name] = (t[this.#stage.name] ?? 0) + (now - (this.#stageStart ?? now));
      this.#stageStart = now;
      if (name === 'idle' && (this.#roundsTimed = (this.#roundsTimed ?? 0) + 1) % 200 === 0) {
        this.#log.info(
          { t: Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v)])) },
          'stage times',
        );
      }
    }
    this.#stage = { name, since: Date.now() };
  }
  #times: Record<string, number> | undefined;
  #stageStart: number | undefined;
  #roundsTimed: number | undefined;

  async #roundOnce(): Promise<void> {
    const view = this.#view;
    if (!view || this.#closed) return;
    this.#at('renew');
    if (!this.lease.valid) {
      // past the safe part of the lease by our clock (a pause, a slow server): renew before anything
      if (!(await this.lease.commit(this.#renewal()))) return;
    }
    if (this.#unconfirmed) {
      this.#at('publish the last intent again');
      await this.#publishIntent(this.lease.state.intent);
      this.#unconfirmed = false;
      if (!(await this.lease.commit({ intent: undefined }))) return;
    }
    if (Date.now() - this.#countedAt > COUNT_EVERY_MS) {
      this.#countedAt = Date.now();
      this.#at('count in flight');
      await this.#inFlight.count(keysOf);
    }
    this.#at('load heads');
    view.loadHeads();
    // with nothing loaded to release, heads being loaded are waited for a moment, so that heads
    // arriving together are decided on (and packed) together; a slow load (a claim-checked payload,
    // a custom splitter) does not hold the round up for long
    const all = [...view.queues.values()];
    const loading = all.flatMap((q) => (q.loading ? [q.loading] : []));
    if (loading.length > 0 && all.every((q) => q.available === 0)) {
      await Promise.race([Promise.all(loading), sleep(LOAD_WAIT_MS)]);
    }
    this.#at('decide');

    const profiles = profilesOf(this.registry, this.group);
    const queues = [...view.queues.values()].filter((q) => q.available > 0);
    const backlog = queues.reduce((s, q) => s + q.waiting, 0);
    const free = new Map(profiles.map((p) => [p.profile, this.#room(p, backlog)]));
    const credit = [...free.values()].reduce((s, n) => s + Math.max(0, n), 0);
    const taken: Taken[] = [];
    let held: Decision['held'] = [];
    // where each queue's cursor goes this round; applied only once the round is written down
    const moves = new Map<SubjectQueue, ReadyCursor>();
    if (credit > 0 && queues.length > 0) {
      const bySubject = new Map(queues.map((q) => [q.subject, q]));
      const decision = this.#share.decide(
        queues.map((q): ReadyQueue => ({
          id: q.subject,
          priority: q.priority,
          fairnessKey: q.fairnessKey,
          type: q.type,
          waiting: q.available,
          headSince: q.headSince,
        })),
        credit,
        { agingMs: this.cfg.agingMs, weight: () => 1 },
        this.#allowance(profiles, free),
        Date.now(),
      );
      for (const t of decision.takes) {
        const q = bySubject.get(t.queue.id);
        if (!q) continue;
        const took = this.#take(q, t.n, profiles, free);
        taken.push(...took.taken);
        moves.set(q, took.cursor);
      }
      held = decision.held;
    }
    this.#note(view, profiles, held);
    if (moves.size === 0) {
      if (this.lease.stale && (await this.lease.commit(this.#renewal()))) this.#purgeSoon();
      view.prune((q) => q.cursor[0] <= (this.#purged.get(q.subject) ?? 1));
      return;
    }
    await this.#release(taken, profiles, queues, moves);
  }

  /** Keeps what this round saw (see {@link status}), and logs it now and then while work waits. */
  #note(view: ReadyView, profiles: Profile[], held: Decision['held']): void {
    const now = Date.now();
    const heldBy = new Map(held.map((h) => [h.queue.id, h.heldBy]));
    this.#status = {
      group: this.group,
      at: now,
      holder: this.cfg.id,
      epoch: this.lease.state.epoch,
      queues: [...view.queues.values()]
        .filter((q) => q.waiting > 0)
        .map((q) => ({
          subject: q.subject,
          priority: q.priority,
          fairnessKey: q.fairnessKey,
          type: q.type,
          waiting: q.waiting,
          oldestMs: q.available > 0 ? now - q.headSince : undefined,
          heldBy: heldBy.get(q.subject),
        })),
      profiles: profiles.map((p) => ({
        profile: p.profile,
        types: [...p.types],
        executors: p.executors,
        capacity: p.capacity,
        inFlight: this.#inFlight.profile(p.profile),
      })),
    };
    if (this.#status.queues.length > 0 && now - this.#statusLoggedAt > STATUS_LOG_MS) {
      this.#statusLoggedAt = now;
      this.#log.debug({ status: this.#status }, 'release status');
    }
  }

  /** What the releaser saw in its last round: what waits, where, and what holds it back. */
  get status(): ReleaseStatus | undefined {
    return this.#status;
  }

  /**
   * What a profile can take now: its capacity and prefetch, less what it has in flight. While more
   * waits than that and its executors are still busy with half their capacity or more, room that
   * trickles back a few slots at a time is saved up until it fills a message an executor runs at
   * once: fewer, fuller messages, with the prefetch keeping the executors fed meanwhile.
   */
  #room(p: Profile, backlog: number): number {
    // the prefetch covers what the executors finish while a round is on its way (about 50 ms of
    // work at the rate they finish it now), and at least a share of their capacity
    const prefetch = Math.min(
      p.capacity * MAX_PREFETCH_FACTOR,
      Math.max(
        Math.ceil(p.capacity * this.cfg.prefetch),
        Math.ceil(this.#inFlight.rate(p.profile) * PREFETCH_WINDOW_S),
      ),
    );
    const inFlight = this.#inFlight.profile(p.profile);
    const room = p.capacity + prefetch - inFlight;
    const fill = Math.min(p.perExecutor, Math.ceil(p.capacity / 4));
    if (room < fill && backlog > room && inFlight >= p.capacity / 2) return 0;
    return room;
  }

  /** The limits at release time: a type goes only where some profile serves it and has room. */
  #allowance(profiles: Profile[], free: Map<string, number>): Allowance {
    return (q, want) => {
      const serving = profiles.filter((p) => p.types.has(q.type));
      if (serving.length === 0)
        return { n: 0, heldBy: `no executor in group "${this.group}" serves type "${q.type}"` };
      const room = serving.reduce((s, p) => s + Math.max(0, free.get(p.profile) ?? 0), 0);
      if (room <= 0) return { n: 0, heldBy: `the executors serving type "${q.type}" are busy` };
      return { n: Math.min(want, room) };
    };
  }

  /**
   * Takes up to `n` subtasks from a queue's loaded messages, from its cursor on, each to the serving
   * profile with most room, and says where the queue's cursor goes (the queue itself is not
   * changed: see {@link #release}).
   */
  #take(
    q: SubjectQueue,
    n: number,
    profiles: Profile[],
    free: Map<string, number>,
  ): { taken: Taken[]; cursor: ReadyCursor } {
    const out: Taken[] = [];
    let cursor: ReadyCursor = q.cursor;
    for (const m of q.loaded) {
      if (m.seq < cursor[0]) continue;
      let [pos, sub] = m.seq === cursor[0] ? [cursor[1], cursor[2]] : [0, 0];
      while (out.length < n && pos < m.positions.length) {
        const p = m.positions[pos];
        const items = p?.items ?? [];
        if (sub >= items.length) {
          pos++;
          sub = 0;
          continue;
        }
        const profile = bestProfile(profiles, free, q.type);
        if (!profile) break;
        const to = Math.min(items.length, sub + (n - out.length));
        for (let i = sub; i < to; i++) {
          const item = items[i] as WorkItem;
          free.set(profile, (free.get(profile) ?? 0) - 1);
          const skip = p?.done.has(i) || this.gate.get(item.taskId) !== undefined;
          if (!skip)
            out.push({
              item,
              part: [q.subject, m.seq, pos, i, i + 1],
              profile,
              perTask: p?.record?.subtasksPerMessage,
            });
        }
        sub = to;
        if (sub >= items.length) {
          pos++;
          sub = 0;
        }
      }
      // a message released in full: the cursor names the next one
      cursor = pos >= m.positions.length ? [m.seq + 1, 0, 0] : [m.seq, pos, sub];
      if (out.length >= n || pos < m.positions.length) break;
    }
    return { taken: out, cursor };
  }

  /** Packs, writes down, publishes and accounts one round. */
  async #release(
    taken: Taken[],
    profiles: Profile[],
    queues: SubjectQueue[],
    moves: Map<SubjectQueue, ReadyCursor>,
  ): Promise<void> {
    const max = maxBodyBytes(this.topo.nc);
    const msgs: { out: OutMsg; parts: ReadyPart[]; items: Taken[] }[] = [];
    const epoch = this.lease.state.epoch;
    for (const p of profiles) {
      const mine = taken.filter((t) => t.profile === p.profile);
      if (mine.length === 0) continue;
      const backlog =
        queues.filter((q) => p.types.has(q.type)).reduce((s, q) => s + q.available, 0) + mine.length;
      const perMessage = itemsPerMessage(
        backlog,
        Math.max(1, p.capacity - this.#inFlight.profile(p.profile)),
        Math.min(this.cfg.maxItemsPerMessage, p.perExecutor),
      );
      const encoded = mine.map((t) => encode(t.item));
      const packs = packMessages(
        mine.map((t, i) => ({
          size: (encoded[i] as Uint8Array).length,
          taskId: t.item.taskId,
          perTask: t.perTask,
        })),
        perMessage,
        max,
      );
      for (const pack of packs) {
        const items = pack.map((i) => mine[i] as Taken);
        const first = (items[0] as Taken).item;
        msgs.push({
          items,
          parts: mergeParts(items.map((t) => t.part)),
          out: {
            subject: this.topo.names.workSubject(this.group, p.profile),
            data: packWithItems(
              { v: WIRE_VERSION, kind: 'work' },
              'items',
              pack.map((i) => encoded[i] as Uint8Array),
            ),
            headers: [
              [Header.Items, String(items.length)],
              [Header.TaskId, first.taskId],
              [Header.TaskType, first.type],
            ],
            msgId: `rel.${this.group}.${epoch}.${++this.#round}`,
          },
        });
      }
    }
    const intent: NonNullable<ReleaseState['intent']> = {
      msgs: msgs.map((m) => ({ id: m.out.msgId as string, subject: m.out.subject, parts: m.parts })),
    };
    this.#at('write the intent');
    const change: ReleaseChange = { cursors: this.#cursors(moves) };
    if (msgs.length > 0) change.intent = intent;
    if (!(await this.lease.commit(change))) return;
    // written down: the queues move on (a failed write leaves them where they were)
    for (const [q, cursor] of moves) q.moveTo(cursor);
    if (msgs.length === 0) return;
    this.#unconfirmed = true;
    this.#at('publish');
    for (const m of msgs) for (const t of m.items) this.#inFlight.released(t.item, t.profile, keysOf(t.item));
    await this.topo.publisher.publishAllOrThrow(msgs.map((m) => m.out));
    this.#unconfirmed = false;
    this.#log.debug({ subtasks: taken.length, messages: msgs.length }, 'released');
    this.#purgeSoon();
  }

  /** A write that only renews: the cursors as they stand, and the last intent dropped once published. */
  #renewal(): ReleaseChange {
    return this.#unconfirmed ? { cursors: this.#cursors() } : { cursors: this.#cursors(), intent: undefined };
  }

  /**
   * The cursors to write down: every subject whose release has started or that waits to be purged,
   * with this round's `moves` applied.
   */
  #cursors(moves?: Map<SubjectQueue, ReadyCursor>): Record<string, ReadyCursor> {
    const out: Record<string, ReadyCursor> = {};
    for (const q of this.#view?.queues.values() ?? []) {
      const c = moves?.get(q) ?? q.cursor;
      if (c[0] > 0) out[q.subject] = c;
    }
    return out;
  }

  /** Purges in the background, one purge pass at a time (rounds do not wait for it). */
  #purgeSoon(): void {
    if (this.#purging || this.#purgeTimer) return;
    // released messages pile up for a moment and go in one purge per subject, not one per round
    this.#purgeTimer = setTimeout(() => {
      this.#purgeTimer = undefined;
      this.#purging = this.#purge().finally(() => (this.#purging = undefined));
    }, PURGE_EVERY_MS);
  }

  /** Removes ready messages released in full (everything before each cursor's message). */
  async #purge(): Promise<void> {
    const stream = this.topo.names.streams.ready;
    const todo = [...(this.#view?.queues.values() ?? [])].filter(
      (q) => q.cursor[0] > (this.#purged.get(q.subject) ?? 1),
    );
    await Promise.all(
      todo.map(async (q) => {
        const upTo = q.cursor[0];
        try {
          await retryTransient(() => this.topo.jsm.streams.purge(stream, { filter: q.subject, seq: upTo }));
          this.#purged.set(q.subject, upTo);
        } catch (err) {
          this.#log.warn({ err, subject: q.subject }, 'could not purge released ready messages; will retry');
        }
      }),
    );
  }

  /** Publishes an intent written down by this or an earlier holder (copies are dropped by dedupe id). */
  async #publishIntent(intent: ReleaseState['intent']): Promise<void> {
    if (!intent || intent.msgs.length === 0) return;
    const loaded = new Map<string, Awaited<ReturnType<typeof loadReadyMessage>>['loaded']>();
    const stream = this.topo.names.streams.ready;
    const out: OutMsg[] = [];
    for (const m of intent.msgs) {
      const items: WorkItem[] = [];
      for (const [subject, seq, pos, from, to] of m.parts) {
        const key = `${subject}#${seq}`;
        let msg = loaded.get(key);
        if (!msg) {
          const raw = await retryTransient(() => this.topo.jsm.streams.getMessage(stream, { seq }));
          if (!raw) continue; // purged: it was published, acked and released in full before
          msg = (
            await loadReadyMessage(
              this.topo,
              this.store,
              this.cfg,
              {
                subject,
                seq,
                at: raw.time.getTime(),
                data: raw.data,
                bytes: raw.data.length,
                trusted: this.topo.signer.verify(raw.data, raw.header?.get(SIGNATURE_HEADER)),
              },
              // a split that asks to be retried stops the republish: it is tried again next round
              (): { attempts: number; now: boolean } => ({ attempts: 0, now: false }),
            )
          ).loaded;
          loaded.set(key, msg);
        }
        items.push(...(msg.positions[pos]?.items.slice(from, to) ?? []));
      }
      if (items.length === 0) continue;
      out.push({
        subject: m.subject,
        data: packWithItems(
          { v: WIRE_VERSION, kind: 'work' },
          'items',
          items.map((i) => encode(i)),
        ),
        headers: [
          [Header.Items, String(items.length)],
          [Header.TaskId, (items[0] as WorkItem).taskId],
          [Header.TaskType, (items[0] as WorkItem).type],
        ],
        msgId: m.id,
      });
      const profile = m.subject.split('.').at(-1) ?? '';
      for (const it of items) this.#inFlight.released(it, profile, keysOf(it));
    }
    const results = await this.topo.publisher.publishAll(out);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok)
      throw new Error(`could not publish the last round again: ${failed.error.message}`);
    this.#log.info(
      { messages: out.length, stored: results.filter((r) => r.ok && !r.duplicate).length },
      'published the last round of the previous holder again',
    );
  }

  /** Tells the coordinators of tasks that cannot run (their split failed). */
  async #fail(failures: TaskFailure[]): Promise<void> {
    const batch: OutcomeBatch = { v: WIRE_VERSION, kind: 'outcomes', from: this.cfg.id, failures };
    await this.topo.publisher.publishAllOrThrow([
      { subject: this.topo.names.outcomeSubject(this.group), data: encode(batch) },
    ]);
    for (const f of failures) this.#log.warn({ taskId: f.taskId, error: f.error }, 'a task cannot be split');
  }
}

/** The serving profile with the most room for `type`, if any has room. */
function bestProfile(profiles: Profile[], free: Map<string, number>, type: string): string | undefined {
  let best: string | undefined;
  let room = 0;
  for (const p of profiles) {
    if (!p.types.has(type)) continue;
    const r = free.get(p.profile) ?? 0;
    if (r > room) {
      best = p.profile;
      room = r;
    }
  }
  return best;
}

/** Consecutive parts of the same task joined: `[s, q, p, 0, 1], [s, q, p, 1, 2]` -> `[s, q, p, 0, 2]`. */
function mergeParts(parts: ReadyPart[]): ReadyPart[] {
  const out: ReadyPart[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    if (last && last[0] === p[0] && last[1] === p[1] && last[2] === p[2] && last[4] === p[3]) last[4] = p[4];
    else out.push([...p]);
  }
  return out;
}

/** The limit keys a subtask counts against (concurrency limits; see ./limits.ts). */
export function keysOf(item: WorkItem): readonly string[] {
  return [`type:${item.type}`, `tenant:${item.tenant ?? ''}`, `key:${item.fairnessKey ?? item.tenant ?? ''}`];
}
