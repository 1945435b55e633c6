/**
 * Executors advertise themselves in the executors KV bucket (key `<group>.<executorId>`): the task
 * types they serve, their handler profile, concurrency and how many handlers run now, renewed every
 * heartbeat. Schedulers route work by it, coordinators refuse tasks nobody serves when asked to, and
 * `jetsched executors` shows it. Every reader keeps a live copy through a KV watch: a cache it
 * rebuilds from JetStream whenever it starts.
 */
import { hostname } from 'node:os';
import { KvWatchInclude, type KvEntry } from '@nats-io/kv';
import type { Logger } from 'pino';
import {
  decodeJson,
  encodeJson,
  isLive,
  validate,
  WIRE_VERSION,
  type ExecutorAdvert,
} from '@jetsched/protocol';
import type { Topology } from './topology.js';
import { retryTransient } from './transient.js';

/** How often an executor renews its advert. @defaultValue 2 s */
export const DEFAULT_HEARTBEAT_MS = 2_000;

/** Most adverts read in one request (the server's limit for a batched read). */
const MAX_ADVERTS = 1024;

/** A live, rebuilt-from-JetStream view of every executor's advert. */
export class ExecutorRegistry {
  readonly #adverts = new Map<string, ExecutorAdvert>();
  readonly #listeners: (() => void)[] = [];
  #stop: (() => void) | undefined;
  #refresher: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    private readonly topo: Topology,
    private readonly log: Logger,
  ) {}

  static async watch(topo: Topology, log: Logger): Promise<ExecutorRegistry> {
    const r = new ExecutorRegistry(topo, log);
    await r.#start();
    return r;
  }

  /** Live executors, of one group or of all. */
  live(group?: string): ExecutorAdvert[] {
    const now = Date.now();
    return [...this.#adverts.values()].filter(
      (a) => isLive(a, now) && (group === undefined || a.group === group),
    );
  }

  /** True when a live executor of `group` serves `type`. */
  serves(group: string, type: string): boolean {
    return this.live(group).some((a) => a.types.includes(type));
  }

  /** Calls `fn` whenever an advert appears, changes or goes. */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  close(): void {
    this.#closed = true;
    this.#stop?.();
    clearInterval(this.#refresher);
  }

  async #start(): Promise<void> {
    // follow changes as they come (prompt), and read every advert now and every heartbeat (a watch
    // can stall unnoticed when the server it was bound to dies; a read cannot)
    const iter = await this.topo.kv.executors.watch({ key: '>', include: KvWatchInclude.UpdatesOnly });
    this.#stop = () => iter.stop();
    void (async () => {
      try {
        for await (const e of iter) {
          this.#apply(e);
          for (const fn of this.#listeners) fn();
        }
      } catch (err) {
        if (!this.#closed)
          this.log.warn({ err }, 'executor registry watch ended; reading adverts every heartbeat');
      }
    })();
    await this.#refresh();
    this.#refresher = setInterval(() => {
      this.#refresh().catch((err: unknown) => this.log.debug({ err }, 'could not read the executor adverts'));
    }, DEFAULT_HEARTBEAT_MS);
    this.#refresher.unref();
  }

  /** Reads the last advert of every executor in one request, and forgets those that are gone. */
  async #refresh(): Promise<void> {
    const bucket = this.topo.names.buckets.executors;
    const seen = new Map<string, ExecutorAdvert>();
    const msgs = await retryTransient(async () => {
      const out: { subject: string; data: Uint8Array; op: string | undefined }[] = [];
      try {
        const it = await this.topo.jsm.direct.getLastMessagesFor(`KV_${bucket}`, {
          multi_last: [`$KV.${bucket}.>`],
          batch: MAX_ADVERTS,
        });
        for await (const m of it)
          out.push({ subject: m.subject, data: m.data, op: m.header.get('KV-Operation') });
      } catch (err) {
        if ((err as { code?: unknown }).code !== 404) throw err;
      }
      return out;
    });
    for (const m of msgs) {
      if (m.op || m.data.length === 0) continue;
      try {
        seen.set(m.subject.slice(`$KV.${bucket}.`.length), validate('executor-advert', decodeJson(m.data)));
      } catch (err) {
        this.log.warn({ err, subject: m.subject }, 'ignored an unreadable executor advert');
      }
    }
    let changed = false;
    for (const [key, a] of seen) {
      const cur = this.#adverts.get(key);
      if (!cur || cur.at < a.at) {
        this.#adverts.set(key, a);
        changed = true;
      }
    }
    // gone from the bucket (expired, or deleted on close); with more adverts than one read returns,
    // expiry is left to liveness alone
    for (const key of msgs.length >= MAX_ADVERTS ? [] : [...this.#adverts.keys()]) {
      if (!seen.has(key)) {
        this.#adverts.delete(key);
        changed = true;
      }
    }
    if (changed) for (const fn of this.#listeners) fn();
  }

  #apply(e: KvEntry): void {
    if (e.operation !== 'PUT') {
      this.#adverts.delete(e.key);
      return;
    }
    try {
      this.#adverts.set(e.key, validate('executor-advert', decodeJson(e.value)));
    } catch (err) {
      this.log.warn({ err, key: e.key }, 'ignored an unreadable executor advert');
    }
  }
}

/** What an executor says of itself, renewed every heartbeat. */
export interface AdvertSource {
  id: string;
  group: string;
  profile: string;
  types: readonly string[];
  concurrency: number;
  running(): number;
}

/** Writes an executor's advert now and every heartbeat; deletes it on close. */
export class Advertiser {
  readonly #key: string;
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly topo: Topology,
    private readonly src: AdvertSource,
    private readonly log: Logger,
    private readonly heartbeatMs = DEFAULT_HEARTBEAT_MS,
  ) {
    this.#key = `${src.group}.${src.id}`;
  }

  async start(): Promise<void> {
    await this.#put();
    this.#timer = setInterval(() => {
      this.#put().catch((err: unknown) => this.log.warn({ err }, 'could not renew the executor advert'));
    }, this.heartbeatMs);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.topo.kv.executors.delete(this.#key).catch(() => undefined);
  }

  async #put(): Promise<void> {
    const a: ExecutorAdvert = {
      v: WIRE_VERSION,
      id: this.src.id,
      group: this.src.group,
      profile: this.src.profile,
      types: [...this.src.types],
      concurrency: this.src.concurrency,
      running: this.src.running(),
      heartbeatMs: this.heartbeatMs,
      host: hostname(),
      pid: process.pid,
      startedAt: this.#startedAt,
      at: Date.now(),
    };
    await this.topo.kv.executors.put(this.#key, encodeJson(a));
  }
}
