/**
 * A group's ready queue as its releaser sees it: one queue per ready subject (priority, fairness
 * key, type), each with its cursor, the head message loaded (split into subtasks) and a short list
 * of the messages known behind it. Memory is bounded by the number of subjects, not by the depth of
 * the queue: what lies beyond the short list is found again by subject (`next_by_subj` direct gets)
 * when its turn comes.
 *
 * It learns of new messages from an ordered consumer on the group's ready subjects, started where
 * the stream stood when the view opened; what was stored before is found through the stream's
 * per-subject counts. Bodies are kept only for a queue's next head (so a lone task is released
 * without a read), the rest only as sequence numbers.
 */
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { encode, Header, WIRE_VERSION, type ReadyCursor, type TaskFailure } from '@jetsched/protocol';
import {
  deadLetter,
  SIGNATURE_HEADER,
  retryTransient,
  type Logger,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import type { SchedulerConfig } from './options.js';
import { loadReadyMessage, RetryLater, type LoadedMessage, type RawReady } from './ready-message.js';

/** Messages remembered (by sequence) behind what is loaded, at most. */
const KNOWN_PER_QUEUE = 256;
/**
 * Messages of one subject loaded (split into subtasks) ahead of release, at most: a round releases
 * at most these, so a subject of one-task messages (delayed tasks come due one per message) needs
 * enough of them (measured: 16 released ~2,700 a second, behind 3,300 due a second)...
 */
const LOOKAHEAD_MESSAGES = 64;
/** ...and their bodies' bytes, at most (one message is loaded whatever its size)... */
const LOOKAHEAD_BYTES = 1024 * 1024;
/**
 * ...and the bodies' bytes loaded over all the subjects of the group, beyond each subject's first
 * message: memory stays bounded however many subjects (priorities x fairness keys x types) wait.
 * Loaded subtasks take several times their bytes as objects (measured: ~245 MB of scheduler RSS with
 * 1,000,000 tasks ready on 30 subjects at 64 messages or 4 MiB each).
 */
const LOADED_BYTES_MAX = 8 * 1024 * 1024;
/** Messages read per direct get when a queue's next messages are not known. */
const READ_AHEAD = LOOKAHEAD_MESSAGES;
/** Delay before loading a head again after a retryable failure. */
const LOAD_RETRY_MS = 1_000;

interface Known {
  seq: number;
  subtasks: number;
  at: number;
  /** The body, kept while it falls within what the queue will load next. */
  raw?: RawReady;
}

export class SubjectQueue {
  readonly priority: number;
  readonly fairnessKey: string;
  readonly type: string;
  /** The first subtask not released yet. `[0, 0, 0]`: from the subject's first message. */
  cursor: ReadyCursor;
  /** Messages loaded for release, in order, from the cursor's message on (bounded). */
  readonly loaded: LoadedMessage[] = [];
  /** Messages known behind the loaded ones, in order (bounded; `more` says when there are others). */
  readonly known: Known[] = [];
  /** Messages may exist beyond `known` that are not listed there. */
  more: boolean;
  /** Messages {@link note} did not list (the list was full): a read that overlaps one must not forget them. */
  unlisted = 0;
  loading: Promise<void> | undefined;
  retryAt = 0;

  constructor(
    readonly subject: string,
    cursor: ReadyCursor | undefined,
    more: boolean,
  ) {
    // `<p>.ready.<group>.<priority>.<fairnessKey>.<type>`
    const parts = subject.split('.');
    this.priority = Number(parts.at(-3));
    this.fairnessKey = parts.at(-2) ?? '';
    this.type = parts.at(-1) ?? '';
    this.cursor = cursor ?? [0, 0, 0];
    this.more = more;
  }

  /** Subtasks of the loaded messages not released yet. */
  get available(): number {
    let n = 0;
    for (const m of this.loaded) {
      if (m.seq < this.cursor[0]) continue;
      const at = m.seq === this.cursor[0];
      for (let pos = at ? this.cursor[1] : 0; pos < m.positions.length; pos++) {
        const items = m.positions[pos]?.items.length ?? 0;
        n += at && pos === this.cursor[1] ? Math.max(0, items - this.cursor[2]) : items;
      }
    }
    return n;
  }

  /** When the oldest subtask not released yet became ready (ms). */
  get headSince(): number {
    return this.loaded.find((m) => m.seq >= this.cursor[0])?.at ?? Date.now();
  }

  /** An estimate of everything waiting: what is loaded and what is known behind it. */
  get waiting(): number {
    return (
      this.available + this.known.reduce((s, k) => s + k.subtasks, 0) + (this.more ? KNOWN_PER_QUEUE : 0)
    );
  }

  /** True when nothing is known to wait. */
  get empty(): boolean {
    return this.available === 0 && this.known.length === 0 && !this.more && !this.loading;
  }

  /** Bytes of the loaded messages not released in full yet. */
  get loadedBytes(): number {
    let n = 0;
    for (const m of this.loaded) if (m.seq >= this.cursor[0]) n += m.bytes;
    return n;
  }

  /** Room for more loaded messages (count and bytes). */
  get wantsMore(): boolean {
    const live = this.loaded.filter((m) => m.seq >= this.cursor[0]);
    return live.length < LOOKAHEAD_MESSAGES && live.reduce((s, m) => s + m.bytes, 0) < LOOKAHEAD_BYTES;
  }

  /** Has a message loaded to release from. */
  get hasHead(): boolean {
    return this.loaded.some((m) => m.seq >= this.cursor[0]);
  }

  /** Where loading goes on from: after the last loaded message, or the cursor's message. */
  get nextSeq(): number {
    return Math.max(this.cursor[0], (this.loaded.at(-1)?.seq ?? 0) + 1);
  }

  /** The cursor moves (a round was written down): loaded messages released in full are let go. */
  moveTo(cursor: ReadyCursor): void {
    this.cursor = cursor;
    while (this.loaded.length > 0 && (this.loaded[0] as LoadedMessage).seq < cursor[0]) this.loaded.shift();
  }

  note(k: Known): void {
    const last = this.known.at(-1)?.seq ?? this.loaded.at(-1)?.seq ?? this.cursor[0] - 1;
    if (k.seq <= last) return;
    if (this.known.length >= KNOWN_PER_QUEUE || this.more) {
      this.more = true;
      this.unlisted++;
      return;
    }
    // bodies are kept for what will be loaded next, so that a lone task needs no read
    const keep = this.known.length < LOOKAHEAD_MESSAGES;
    this.known.push(keep ? k : { seq: k.seq, subtasks: k.subtasks, at: k.at });
  }
}

export class ReadyView {
  readonly queues = new Map<string, SubjectQueue>();
  /** Failed attempts to split a task whose splitter asked to be retried (a cache: a successor starts over). */
  readonly #splitAttempts = new Map<string, number>();
  #messages: ConsumerMessages | undefined;
  #closed = false;

  private constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cfg: SchedulerConfig,
    readonly group: string,
    private readonly log: Logger,
    private readonly changed: () => void,
    private readonly failed: (f: TaskFailure[]) => Promise<void>,
  ) {}

  /**
   * Opens the view of `group`'s ready queue at `cursors` (from the release state): every subject
   * with messages now, then everything stored from now on.
   */
  static async open(
    topo: Topology,
    store: TaskStore,
    cfg: SchedulerConfig,
    group: string,
    cursors: Record<string, ReadyCursor>,
    changed: () => void,
    failed: (f: TaskFailure[]) => Promise<void>,
  ): Promise<ReadyView> {
    const v = new ReadyView(topo, store, cfg, group, cfg.log.child({ group }), changed, failed);
    await v.#start(cursors);
    return v;
  }

  close(): void {
    this.#closed = true;
    this.#messages?.stop();
  }

  /**
   * Looks at the stream's per-subject counts, in case the consumer missed something (it is a
   * notification, not the truth): a subject with more messages than this view knows of is read
   * again from its cursor.
   */
  async rescan(): Promise<void> {
    const info = await this.topo.jsm.streams.info(this.topo.names.streams.ready, {
      subjects_filter: this.topo.names.readyGroupFilter(this.group),
    });
    let grew = false;
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      const q = this.queues.get(subject);
      if (!q) {
        if (count > 0) this.queues.set(subject, new SubjectQueue(subject, undefined, true));
        grew = grew || count > 0;
        continue;
      }
      const known = q.known.length + q.loaded.length;
      if (count > known && !q.more) {
        q.more = true;
        grew = true;
      }
    }
    if (grew) this.changed();
  }

  /** Starts loading, for every queue with work behind what it has loaded, the next messages. */
  loadHeads(): void {
    const now = Date.now();
    this.#loadedBytes = 0;
    for (const q of this.queues.values()) this.#loadedBytes += q.loadedBytes;
    for (const q of this.queues.values()) {
      if (q.loading || q.retryAt > now || !q.wantsMore) continue;
      // a queue with a head may load further only while the group's lookahead has room
      if (q.hasHead && !this.#roomToLoad()) continue;
      if (q.known.length === 0 && !q.more) continue;
      q.loading = this.#loadNext(q)
        .catch((err: unknown) => {
          q.retryAt = Date.now() + LOAD_RETRY_MS;
          if (err instanceof RetryLater) this.log.info({ taskId: err.taskId, err: err.error }, err.message);
          else this.log.warn({ err, subject: q.subject }, 'could not load the head of a ready subject');
        })
        .finally(() => {
          q.loading = undefined;
          this.changed();
        });
    }
  }

  /**
   * Bytes loaded and not released over the group's subjects: counted at each {@link loadHeads},
   * added to as messages load (releases until the next count are not taken off).
   */
  #loadedBytes = 0;

  /** The group's loaded bytes are under {@link LOADED_BYTES_MAX}. */
  #roomToLoad(): boolean {
    return this.#loadedBytes < LOADED_BYTES_MAX;
  }

  /** Drops queues that have nothing left and that `settled` says are done with (purged). */
  prune(settled: (q: SubjectQueue) => boolean): void {
    for (const [subject, q] of this.queues) if (q.empty && settled(q)) this.queues.delete(subject);
  }

  async #start(cursors: Record<string, ReadyCursor>): Promise<void> {
    const stream = this.topo.names.streams.ready;
    const filter = this.topo.names.readyGroupFilter(this.group);
    const info = await retryTransient(() => this.topo.jsm.streams.info(stream, { subjects_filter: filter }));
    for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
      if (count > 0) this.queues.set(subject, new SubjectQueue(subject, cursors[subject], true));
    }
    const consumer = await this.topo.js.consumers.get(stream, {
      filter_subjects: [filter],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: info.state.last_seq + 1,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    void (async () => {
      try {
        for await (const m of messages) {
          const q = this.#queue(m.subject, cursors);
          q.note({
            seq: m.seq,
            subtasks: Math.max(1, Number(m.headers?.get(Header.Subtasks)) || 1),
            at: Math.floor(m.info.timestampNanos / 1e6),
            raw: {
              subject: m.subject,
              seq: m.seq,
              at: Math.floor(m.info.timestampNanos / 1e6),
              data: m.data,
              bytes: m.data.length,
              trusted: this.topo.signer.verify(m.data, m.headers?.get(SIGNATURE_HEADER)),
            },
          });
          this.changed();
        }
      } catch (err) {
        if (!this.#closed) this.log.error({ err }, 'ready queue consumer failed');
      }
    })();
  }

  #queue(subject: string, cursors: Record<string, ReadyCursor>): SubjectQueue {
    let q = this.queues.get(subject);
    if (!q) {
      q = new SubjectQueue(subject, cursors[subject], false);
      this.queues.set(subject, q);
    }
    return q;
  }

  /**
   * Loads the next messages of a queue (those whose bodies it kept, else read by subject), in
   * order, until its lookahead is full. A message that cannot be loaded yet (a splitter asked to
   * retry) stops the loading there: nothing behind it in the subject may pass it.
   */
  async #loadNext(q: SubjectQueue): Promise<void> {
    // the bodies kept for the next known messages, up to the first whose body was not kept: the
    // messages behind that one must not pass it
    let raws: RawReady[] = [];
    for (const k of q.known) {
      if (k.seq < q.nextSeq) continue;
      if (!k.raw) break;
      raws.push(k.raw);
    }
    if (raws.length === 0) raws = await this.#readFrom(q);
    for (const raw of raws) {
      if (!q.wantsMore || (q.hasHead && !this.#roomToLoad())) break;
      const { loaded, report } = await loadReadyMessage(this.topo, this.store, this.cfg, raw, (taskId) =>
        this.#splitAttempt(taskId),
      );
      // dead letters first (whoever sees such a task failed finds its dead letter), then the
      // coordinators hear of the tasks that cannot run, before the cursor can pass them
      for (const g of report.givenUp) {
        await deadLetter(
          this.topo,
          this.log,
          'ready',
          this.cfg.id,
          {
            subject: raw.subject,
            data: encode({ v: WIRE_VERSION, kind: 'sched', tasks: [g.task] }),
            deliveries: g.attempts,
          },
          g.error,
        );
      }
      if (report.failures.length > 0) await this.failed(report.failures);
      if (q.cursor[0] < raw.seq && q.loaded.length === 0) q.cursor = [raw.seq, 0, 0];
      q.loaded.push(loaded);
      this.#loadedBytes += loaded.bytes;
      while (q.known.length > 0 && (q.known[0] as Known).seq <= raw.seq) q.known.shift();
    }
  }

  /**
   * Reads the next messages of a subject after what is loaded; lists them (with what the consumer
   * noted meanwhile, beyond them), returns them.
   */
  async #readFrom(q: SubjectQueue): Promise<RawReady[]> {
    const out: RawReady[] = [];
    const unlisted = q.unlisted;
    try {
      const it = await this.topo.jsm.direct.getBatch(this.topo.names.streams.ready, {
        seq: Math.max(1, q.nextSeq),
        next_by_subj: q.subject,
        batch: READ_AHEAD,
      });
      for await (const m of it) {
        out.push({
          subject: m.subject,
          seq: m.seq,
          at: m.timestamp ? Date.parse(m.timestamp) : Date.now(),
          data: m.data,
          bytes: m.data.length,
          trusted: this.topo.signer.verify(m.data, m.header?.get(SIGNATURE_HEADER)),
        });
      }
    } catch (err) {
      if ((err as { code?: unknown }).code !== 404) throw err;
    }
    // A short read reached the subject's end as it stood: what was stored after it came through
    // the consumer while the read was under way, listed (kept) or not (then the list has more).
    // A full read may stop short of those: the next read finds them.
    const full = out.length >= READ_AHEAD;
    const lastRead = out.at(-1)?.seq ?? q.nextSeq - 1;
    const later = full ? [] : q.known.filter((k) => k.seq > lastRead);
    q.more = full || q.unlisted !== unlisted;
    q.known.length = 0;
    for (const r of out) q.known.push({ seq: r.seq, subtasks: 1, at: r.at, raw: r });
    q.known.push(...later);
    return out;
  }

  /** Counts a failed split of a task that asked to be retried; gives it up after `splitAttempts`. */
  #splitAttempt(taskId: string): { attempts: number; now: boolean } {
    const attempts = (this.#splitAttempts.get(taskId) ?? 0) + 1;
    if (attempts >= this.cfg.splitAttempts) {
      this.#splitAttempts.delete(taskId);
      return { attempts, now: true };
    }
    this.#splitAttempts.set(taskId, attempts);
    return { attempts, now: false };
  }
}
