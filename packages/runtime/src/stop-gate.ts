/**
 * What every executor and scheduler knows of stopped tasks (cancelled, or failed): the stops stream,
 * read from its start and then live through an ordered consumer. A stop is durable (a tombstone in
 * JetStream, not process memory), so an executor that starts later still skips the queued work of a
 * task stopped before it started.
 *
 * Before a subtask starts, the gate must be current: `sync()` waits until every stop stored before
 * the call is known here (one small request for all the subtasks starting meanwhile).
 *
 * Bounded: a stop is forgotten here when the stream forgets it (the provisioned stop retention), and
 * at most {@link MAX_REMEMBERED_STOPS} are kept (the oldest go first).
 */
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { decode, validate, type StopNotice } from '@jetsched/protocol';
import type { Topology } from './topology.js';

/** Most stops one gate remembers. */
export const MAX_REMEMBERED_STOPS = 1_000_000;

export class StopGate {
  readonly #stopped = new Map<string, StopNotice>();
  readonly #listeners: ((n: StopNotice) => void)[] = [];
  readonly #caughtUp: { seq: number; resolve: () => void }[] = [];
  #seen = 0;
  #messages: ConsumerMessages | undefined;
  #syncing: Promise<void> | undefined;
  #nextSync: Promise<void> | undefined;
  #lastSync = 0;

  private constructor(
    private readonly topo: Topology,
    private readonly log: Logger,
  ) {}

  /** Opens the gate: reads every stop stored so far, then follows new ones. */
  static async open(topo: Topology, log: Logger): Promise<StopGate> {
    const gate = new StopGate(topo, log);
    await gate.#start();
    await gate.sync();
    return gate;
  }

  /** The stop of a task, if it is stopped. */
  get(taskId: string): StopNotice | undefined {
    return this.#stopped.get(taskId);
  }

  /** Calls `fn` for every stop that arrives from now on (to abort running handlers). */
  onStop(fn: (n: StopNotice) => void): void {
    this.#listeners.push(fn);
  }

  /** Milliseconds since the gate last confirmed it knew every stop. */
  get staleness(): number {
    return Date.now() - this.#lastSync;
  }

  /**
   * Resolves once every stop stored before this call is known here. Calls made while a sync is in
   * flight share the next one (the one in flight may have looked before they were made).
   */
  sync(): Promise<void> {
    if (!this.#syncing) {
      this.#syncing = this.#syncOnce().finally(() => (this.#syncing = undefined));
      return this.#syncing;
    }
    this.#nextSync ??= this.#syncing.then(() => {
      this.#nextSync = undefined;
      return this.sync();
    });
    return this.#nextSync;
  }

  /** Syncs only when the last sync is older than `maxAgeMs`. */
  syncIfStale(maxAgeMs: number): Promise<void> | undefined {
    return this.staleness > maxAgeMs ? this.sync() : undefined;
  }

  close(): void {
    this.#messages?.stop();
  }

  /** Keeps a stop, forgetting the ones the stream no longer keeps (the map is in arrival order). */
  #remember(n: StopNotice): void {
    this.#stopped.set(n.taskId, n);
    const expired = Date.now() - this.topo.manifest.stopRetentionMs;
    for (const [id, old] of this.#stopped) {
      if (old.at >= expired && this.#stopped.size <= MAX_REMEMBERED_STOPS) break;
      this.#stopped.delete(id);
    }
  }

  async #syncOnce(): Promise<void> {
    const startedAt = Date.now();
    const last = await this.#lastStoredSeq();
    if (this.#seen < last) await new Promise<void>((resolve) => this.#caughtUp.push({ seq: last, resolve }));
    this.#lastSync = startedAt;
  }

  async #lastStoredSeq(): Promise<number> {
    try {
      const m = await this.topo.jsm.direct.getMessage(this.topo.names.streams.stops, {
        last_by_subj: this.topo.names.subjects.stopsAll,
      });
      return m?.seq ?? 0;
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return 0;
      throw err;
    }
  }

  async #start(): Promise<void> {
    const consumer = await this.topo.js.consumers.get(this.topo.names.streams.stops, {
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await consumer.consume();
    this.#messages = messages;
    void (async () => {
      try {
        for await (const m of messages) {
          this.#seen = m.seq;
          try {
            const n = validate('stop-notice', decode(m.data));
            if (!this.#stopped.has(n.taskId)) {
              this.#remember(n);
              for (const fn of this.#listeners) fn(n);
            }
          } catch (err) {
            this.log.warn({ err, subject: m.subject }, 'ignored an unreadable stop notice');
          }
          for (let i = this.#caughtUp.length - 1; i >= 0; i--) {
            const w = this.#caughtUp[i];
            if (w && w.seq <= this.#seen) {
              this.#caughtUp.splice(i, 1);
              w.resolve();
            }
          }
        }
      } catch (err) {
        this.log.error({ err }, 'stop gate consumer failed');
      }
    })();
  }
}
