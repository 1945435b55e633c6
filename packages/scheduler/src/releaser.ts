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
  decodeJson,
  encode,
  encodeJson,
  Header,
  itemsPerMessage,
  packMessages,
  packWithItems,
  validate,
  WIRE_VERSION,
  type OutcomeBatch,
  type ReadyCursor,
  type ReadyPart,
  type GroupSettings,
  type ReleaseState,
  type ReleaseStatus,
  type TaskFailure,
  type WorkItem,
} from '@jetsched/protocol';
import {
  defaultGroupSettings,
  maxBodyBytes,
  readGroupSettings,
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
import { inFlightKeys, Limits } from './limits.js';
import type { SchedulerConfig } from './options.js';
import type { ReleaseChange, ReleaseLease } from './release-lease.js';
import { FairShare, type Allowance, type Decision, type ReadyQueue } from './release-policy.js';
import { loadReadyMessage } from './ready-message.js';
import { ReadyView, type SubjectQueue } from './ready-queue.js';
import { signedFailures, withAttemptToken } from './tokens.js';

/** How often a releaser looks again without being woken (aging, retries, lease renewal). */
const TICK_MS = 250;
/** Work released ahead of the executors' free slots: about this much of their throughput... */
const PREFETCH_WINDOW_S = 0.05;
/** ...and at most this many times their capacity. */
const MAX_PREFETCH_FACTOR = 8;
/** How long the group's settings are used without being seen again (the watch normally keeps them). */
const SETTINGS_EVERY_MS = 5_000;
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
  /** The group's settings as last read, and when. */
  #settings: GroupSettings | undefined;
  #settingsAt = 0;
  /** A background read of the settings under way. */
  #settingsRead: Promise<void> | undefined;
  #settingsWatch: { stop(): void } | undefined;
  /** Rate windows and this round's counts, from the lease's `rates` on takeover. */
  readonly #limits: Limits;
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
    this.#limits = new Limits(lease.state.rates);
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
    // `jetsched queue` asks the holder what waits and why
    const status = this.topo.nc.subscribe(this.topo.names.releaseStatusSubject(this.group), {
      callback: (_err, m) => {
        const s: ReleaseStatus = this.#status ?? {
          group: this.group,
          at: Date.now(),
          holder: this.cfg.id,
          epoch: this.lease.state.epoch,
          queues: [],
          profiles: [],
        };
        m.respond(encodeJson(s));
      },
    });
    this.#unsubscribe = () => {
      sub.unsubscribe();
      status.unsubscribe();
    };
    this.#unconfirmed = this.lease.state.intent !== undefined;
    await this.#followSettings();
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
    this.#stop();
    await this.#running;
    clearTimeout(this.#purgeTimer);
    await this.#purging;
    if (opts.release) await this.lease.release();
  }

  /** No more rounds: timers, subscriptions and the view of the ready queue stop. */
  #stop(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    clearInterval(this.#rescanner);
    this.#unsubscribe?.();
    this.#settingsWatch?.stop();
    this.#view?.close();
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
        this.#stop();
        this.onLost();
        return;
      }
    } while (this.#again && !this.#closed);
  }

  #at(name: string): void {
    this.#stage = { name, since: Date.now() };
  }

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

    const settings = await this.#currentSettings();
    const profiles = profilesOf(this.registry, this.group);
    const queues = [...view.queues.values()].filter((q) => q.available > 0);
    const backlog = queues.reduce((s, q) => s + q.waiting, 0);
    const free = new Map(profiles.map((p) => [p.profile, this.#room(p, backlog)]));
    const credit = [...free.values()].reduce((s, n) => s + Math.max(0, n), 0);
    /** Per queue, the subtasks it may send to each profile this round (granted by the allowance). */
    const assigned = new Map<string, Map<string, number>>();
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
        { agingMs: this.cfg.agingMs, weight: (k) => settings.weights?.[k] ?? 1 },
        this.#allowance(settings, profiles, free, assigned),
        Date.now(),
      );
      for (const t of decision.takes) {
        const q = bySubject.get(t.queue.id);
        if (!q) continue;
        const took = this.#take(q, t.n, assigned.get(q.subject) ?? new Map<string, number>());
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
    for (const h of held) this.topo.metrics.heldBack.inc({ group: this.group, reason: h.reason });
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

  /**
   * What may go at release time: the group's settings (pause, rate and concurrency limits), then
   * room on a profile that serves the type. What it grants it reserves: the profiles' room (in
   * `assigned`, per queue) and the limits' counts, so that later queues of the round see them.
   */
  #allowance(
    settings: GroupSettings,
    profiles: Profile[],
    free: Map<string, number>,
    assigned: Map<string, Map<string, number>>,
  ): Allowance {
    const now = Date.now();
    this.#limits.beginRound();
    return (q, want) => {
      const limited = this.#limits.allow(settings, q, want, (k) => this.#inFlight.key(k), now);
      if (limited.n === 0) return limited;
      const serving = profiles.filter((p) => p.types.has(q.type));
      if (serving.length === 0)
        return {
          n: 0,
          heldBy: `no executor in group "${this.group}" serves type "${q.type}"`,
          reason: 'no_executor',
        };
      // to the profiles with the most room first
      serving.sort((a, b) => (free.get(b.profile) ?? 0) - (free.get(a.profile) ?? 0));
      let n = 0;
      const mine = assigned.get(q.id) ?? new Map<string, number>();
      for (const p of serving) {
        const k = Math.min(limited.n - n, Math.max(0, free.get(p.profile) ?? 0));
        if (k <= 0) continue;
        free.set(p.profile, (free.get(p.profile) ?? 0) - k);
        mine.set(p.profile, (mine.get(p.profile) ?? 0) + k);
        n += k;
      }
      if (n === 0)
        return { n: 0, heldBy: `the executors serving type "${q.type}" are busy`, reason: 'capacity' };
      assigned.set(q.id, mine);
      this.#limits.took(settings, q, n, now);
      return { n };
    };
  }

  /**
   * Follows the group's settings: a KV watch applies a change at once (a pause holds the next round
   * already), and a read every few seconds makes good a watch that stalled.
   */
  async #followSettings(): Promise<void> {
    const watch = await this.topo.kv.config.watch({ key: this.topo.names.groupSettingsKey(this.group) });
    this.#settingsWatch = watch;
    void (async () => {
      try {
        for await (const e of watch) {
          if (e.operation !== 'PUT') continue;
          try {
            this.#settings = validate('group-settings', decodeJson(e.value));
            this.#settingsAt = Date.now();
            this.kick();
          } catch (err) {
            this.#log.warn({ err }, 'ignored unreadable group settings');
          }
        }
      } catch (err) {
        if (!this.#closed)
          this.#log.warn({ err }, 'the group settings watch ended; reading them every few seconds');
      }
    })();
  }

  /**
   * The group's settings as followed. When they have not been seen for a while they are read again
   * in the background: a round never waits on a read (one sent as the server restarts is lost and
   * waits out its timeout), except the first, which has nothing to go by.
   */
  async #currentSettings(): Promise<GroupSettings> {
    if (!this.#settings) await this.#readSettings();
    else if (Date.now() - this.#settingsAt > SETTINGS_EVERY_MS && !this.#settingsRead) {
      this.#settingsRead = this.#readSettings().finally(() => (this.#settingsRead = undefined));
    }
    return this.#settings ?? defaultGroupSettings(this.group);
  }

  async #readSettings(): Promise<void> {
    try {
      this.#settings = (await readGroupSettings(this.topo, this.group)).settings;
      this.#settingsAt = Date.now();
    } catch (err) {
      this.#log.warn({ err }, 'could not read the group settings; using the last ones');
    }
  }

  /**
   * Takes up to `n` subtasks from a queue's loaded messages, from its cursor on, each to the serving
   * profile with most room, and says where the queue's cursor goes (the queue itself is not
   * changed: see {@link #release}).
   */
  #take(q: SubjectQueue, n: number, assigned: Map<string, number>): { taken: Taken[]; cursor: ReadyCursor } {
    const out: Taken[] = [];
    let cursor: ReadyCursor = q.cursor;
    let left = n;
    /** The profile a subtask goes to: one the allowance reserved room on. */
    const next = (): string | undefined => {
      for (const [profile, k] of assigned) {
        if (k <= 0) continue;
        assigned.set(profile, k - 1);
        return profile;
      }
      return undefined;
    };
    for (const m of q.loaded) {
      if (m.seq < cursor[0]) continue;
      let [pos, sub] = m.seq === cursor[0] ? [cursor[1], cursor[2]] : [0, 0];
      while (left > 0 && pos < m.positions.length) {
        const p = m.positions[pos];
        const items = p?.items ?? [];
        if (sub >= items.length) {
          pos++;
          sub = 0;
          continue;
        }
        const item = items[sub] as WorkItem;
        // subtasks done already or of stopped tasks are passed over (they cost a slot this round)
        const skip = p?.done.has(sub) || this.gate.get(item.taskId) !== undefined;
        const profile = next();
        if (!profile) {
          left = 0;
          break;
        }
        if (!skip) {
          out.push({
            item,
            part: [q.subject, m.seq, pos, sub, sub + 1],
            profile,
            perTask: p?.record?.subtasksPerMessage,
          });
        }
        left--;
        sub++;
        if (sub >= items.length) {
          pos++;
          sub = 0;
        }
      }
      // a message released in full: the cursor names the next one
      cursor = pos >= m.positions.length ? [m.seq + 1, 0, 0] : [m.seq, pos, sub];
      if (left <= 0 || pos < m.positions.length) break;
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
      const encoded = mine.map((t) => encode(withAttemptToken(this.topo.signer, t.item)));
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
    const change: ReleaseChange = { cursors: this.#cursors(moves), rates: this.#limits.toJSON() };
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
    this.topo.metrics.released.inc({ group: this.group }, taken.length);
    this.#log.debug({ subtasks: taken.length, messages: msgs.length }, 'released');
    this.#purgeSoon();
  }

  /** A write that only renews: the cursors as they stand, and the last intent dropped once published. */
  #renewal(): ReleaseChange {
    const change: ReleaseChange = { cursors: this.#cursors(), rates: this.#limits.toJSON() };
    if (!this.#unconfirmed) change.intent = undefined;
    return change;
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
    const sent: WorkItem[][] = [];
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
          items.map((i) => encode(withAttemptToken(this.topo.signer, i))),
        ),
        headers: [
          [Header.Items, String(items.length)],
          [Header.TaskId, (items[0] as WorkItem).taskId],
          [Header.TaskType, (items[0] as WorkItem).type],
        ],
        msgId: m.id,
      });
      sent.push(items);
    }
    const results = await this.topo.publisher.publishAll(out);
    const failed = results.find((r) => !r.ok);
    if (failed && !failed.ok)
      throw new Error(`could not publish the last round again: ${failed.error.message}`);
    // only what was stored now is new in flight; a copy dropped as a duplicate was stored by the
    // previous holder and may have run since (its credit went to that holder): the next round
    // counts the work stream instead of guessing
    results.forEach((r, i) => {
      if (!r.ok || r.duplicate) return;
      const profile = (out[i] as OutMsg).subject.split('.').at(-1) ?? '';
      for (const it of sent[i] ?? []) this.#inFlight.released(it, profile, keysOf(it));
    });
    this.#countedAt = 0;
    this.#log.info(
      { messages: out.length, stored: results.filter((r) => r.ok && !r.duplicate).length },
      'published the last round of the previous holder again',
    );
  }

  /** Tells the coordinators of tasks that cannot run (their split failed). */
  async #fail(failures: TaskFailure[]): Promise<void> {
    const batch: OutcomeBatch = {
      v: WIRE_VERSION,
      kind: 'outcomes',
      from: this.cfg.id,
      failures: signedFailures(this.topo.signer, failures),
    };
    await this.topo.publisher.publishAllOrThrow([
      { subject: this.topo.names.outcomeSubject(this.group), data: encode(batch) },
    ]);
    for (const f of failures) this.#log.warn({ taskId: f.taskId, error: f.error }, 'a task cannot be split');
  }
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

/** The scope keys a released subtask counts against in flight (see ./limits.ts). */
export function keysOf(item: WorkItem): readonly string[] {
  return inFlightKeys({ type: item.type, fairnessKey: item.fairnessKey ?? item.tenant ?? '' });
}
