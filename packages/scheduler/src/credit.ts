/**
 * How much a group can take now: the capacity its live executors advertise, per handler profile,
 * less what is in flight (released and not finished). In flight is counted exactly where it lives:
 * the work stream holds every released message until its executor acks it, so the releaser counts
 * the subtasks there when it takes the lease and every few seconds; in between it adds what it
 * releases and takes off what the executors' credit notices (core NATS) say is done. A lost notice
 * costs some capacity until the next count, never an extra subtask.
 */
import { decode, validate, type CreditNotice, type WorkItem } from '@jetsched/protocol';
import { isLive, retryTransient, type ExecutorRegistry, type Logger, type Topology } from '@jetsched/runtime';

/** A handler profile of a group, as its live adverts describe it. */
export interface Profile {
  profile: string;
  types: Set<string>;
  /** Handlers its executors run at once, in all. */
  capacity: number;
  executors: number;
  /** What one of its executors runs at once, at the least. */
  perExecutor: number;
}

/** The live profiles of a group. */
export function profilesOf(registry: ExecutorRegistry, group: string, now = Date.now()): Profile[] {
  const by = new Map<string, Profile>();
  for (const a of registry.live(group)) {
    if (!isLive(a, now)) continue;
    const p = by.get(a.profile) ?? {
      profile: a.profile,
      types: new Set<string>(),
      capacity: 0,
      executors: 0,
      perExecutor: Infinity,
    };
    for (const t of a.types) p.types.add(t);
    p.capacity += a.concurrency;
    p.executors += 1;
    p.perExecutor = Math.min(p.perExecutor, a.concurrency);
    by.set(a.profile, p);
  }
  return [...by.values()];
}

/** One released subtask, as counted in flight. */
interface Held {
  profile: string;
  /** Limit keys it counts against (type, tenant, fairness key): see ./limits.ts. */
  keys: readonly string[];
}

/** Reads per request when counting the work stream. */
const COUNT_BATCH = 1_000;

/**
 * Finished subtasks per second, per profile, over the last few hundred milliseconds (an
 * exponentially weighted average of 100 ms buckets, so a burst is seen within a bucket or two).
 */
class Rate {
  readonly #rates = new Map<string, { rate: number; bucket: number; n: number }>();
  add(profile: string, n: number): void {
    const r = this.#roll(profile);
    r.n += n;
  }
  perSecond(profile: string): number {
    return this.#roll(profile).rate;
  }
  #roll(profile: string): { rate: number; bucket: number; n: number } {
    const bucket = Math.floor(Date.now() / 100);
    let r = this.#rates.get(profile);
    if (!r) this.#rates.set(profile, (r = { rate: 0, bucket, n: 0 }));
    // fold in the buckets that ended since: each weighs a half
    for (; r.bucket < bucket && r.bucket > bucket - 50; r.bucket++) {
      r.rate = r.rate * 0.5 + r.n * 10 * 0.5;
      r.n = 0;
    }
    if (r.bucket < bucket) {
      r.bucket = bucket;
      r.rate = 0;
      r.n = 0;
    }
    return r;
  }
}

export class InFlight {
  readonly #held = new Map<string, Held>();
  readonly #rate = new Rate();
  readonly #byProfile = new Map<string, number>();
  readonly #byKey = new Map<string, number>();
  /** Refs released while a count was running: kept whatever the count found. */
  #releasedDuringCount: Set<string> | undefined;

  constructor(
    private readonly topo: Topology,
    private readonly group: string,
    private readonly log: Logger,
  ) {}

  profile(profile: string): number {
    return this.#byProfile.get(profile) ?? 0;
  }

  key(key: string): number {
    return this.#byKey.get(key) ?? 0;
  }

  get total(): number {
    return this.#held.size;
  }

  released(item: WorkItem, profile: string, keys: readonly string[]): void {
    const ref = refOf(item);
    this.#releasedDuringCount?.add(ref);
    this.#add(ref, { profile, keys });
  }

  finished(refs: readonly { taskId: string; index: number }[]): void {
    for (const r of refs) this.#remove(`${r.taskId}.${r.index}`);
  }

  /** Handles a credit notice from an executor; returns true when it freed anything. */
  notice(data: Uint8Array): boolean {
    let n: CreditNotice;
    try {
      n = validate('credit-notice', decode(data));
    } catch (err) {
      this.log.debug({ err }, 'ignored a malformed credit notice');
      return false;
    }
    const before = this.#held.size;
    this.finished(n.items);
    this.#rate.add(n.profile, before - this.#held.size);
    return this.#held.size < before;
  }

  /** Subtasks a profile finishes per second, lately. */
  rate(profile: string): number {
    return this.#rate.perSecond(profile);
  }

  /**
   * Counts what the group's work subjects hold now and makes that the truth (keeping what was
   * released while counting). `keysOf` gives an item's limit keys.
   */
  async count(keysOf: (item: WorkItem) => readonly string[]): Promise<void> {
    const stream = this.topo.names.streams.work;
    const filter = `${this.topo.names.prefix}.work.${this.group}.>`;
    const during = new Set<string>();
    this.#releasedDuringCount = during;
    const found = new Map<string, Held>();
    try {
      let seq = 1;
      for (;;) {
        const batch: { seq: number; subject: string; data: Uint8Array }[] = [];
        try {
          const it = await retryTransient(() =>
            this.topo.jsm.direct.getBatch(stream, { seq, next_by_subj: filter, batch: COUNT_BATCH }),
          );
          for await (const m of it) batch.push({ seq: m.seq, subject: m.subject, data: m.data });
        } catch (err) {
          if ((err as { code?: unknown }).code !== 404) throw err;
        }
        for (const m of batch) {
          const profile = m.subject.split('.').at(-1) ?? '';
          let items: WorkItem[];
          try {
            items = validate('work-batch', decode(m.data)).items;
          } catch {
            continue; // a malformed work message is the executors' to dead-letter
          }
          for (const it of items) found.set(refOf(it), { profile, keys: keysOf(it) });
        }
        if (batch.length < COUNT_BATCH) break;
        seq = (batch.at(-1)?.seq ?? seq) + 1;
      }
    } finally {
      this.#releasedDuringCount = undefined;
    }
    for (const ref of during) {
      const h = this.#held.get(ref);
      if (h) found.set(ref, h);
    }
    this.#held.clear();
    this.#byProfile.clear();
    this.#byKey.clear();
    for (const [ref, h] of found) this.#add(ref, h);
  }

  #add(ref: string, h: Held): void {
    if (this.#held.has(ref)) return;
    this.#held.set(ref, h);
    this.#byProfile.set(h.profile, (this.#byProfile.get(h.profile) ?? 0) + 1);
    for (const k of h.keys) this.#byKey.set(k, (this.#byKey.get(k) ?? 0) + 1);
  }

  #remove(ref: string): void {
    const h = this.#held.get(ref);
    if (!h) return;
    this.#held.delete(ref);
    this.#byProfile.set(h.profile, (this.#byProfile.get(h.profile) ?? 1) - 1);
    for (const k of h.keys) this.#byKey.set(k, (this.#byKey.get(k) ?? 1) - 1);
  }
}

function refOf(item: { taskId: string; index: number }): string {
  return `${item.taskId}.${item.index}`;
}
