/**
 * The release lease of one group: the group's release state (ADR 0018) in the release bucket, held
 * by one scheduler at a time. Every change is a compare-and-set on the revision the holder last
 * wrote, so a holder that lost the lease (another scheduler took it over after it expired) finds
 * out at its next write and stops; it never publishes a round it could not first write down.
 *
 * The state is also where the holder writes each round's intent before it publishes the round, and
 * where a successor finds it.
 */
import { decodeJson, encodeJson, validate, WIRE_VERSION, type ReleaseState } from '@jetsched/protocol';
import { retryTransient, type Topology } from '@jetsched/runtime';

/** How long a lease lasts unless renewed. @defaultValue 5 s */
export const DEFAULT_LEASE_MS = 5_000;
/** A holder stops releasing this long before its lease runs out by its own clock. */
const SAFETY_MARGIN_MS = 1_000;

/** What a holder changes in the state (the lease is extended by every write). */
export interface ReleaseChange {
  cursors?: ReleaseState['cursors'];
  /** The round about to be published; `undefined` clears the last one once it is published. */
  intent?: ReleaseState['intent'] | undefined;
  rates?: ReleaseState['rates'];
}

export class ReleaseLease {
  #state: ReleaseState;
  #revision: number;
  /** When the last write succeeded, by this process's clock. */
  #renewedAt: number;
  #lost = false;

  private constructor(
    private readonly topo: Topology,
    state: ReleaseState,
    revision: number,
    readonly leaseMs: number,
  ) {
    this.#state = state;
    this.#revision = revision;
    this.#renewedAt = Date.now();
  }

  /**
   * Takes the lease of `group` when nobody holds it or the holder let it run out; undefined when
   * someone else holds it (or took it at the same moment).
   */
  static async acquire(
    topo: Topology,
    group: string,
    holder: string,
    leaseMs = DEFAULT_LEASE_MS,
  ): Promise<ReleaseLease | undefined> {
    const now = Date.now();
    const cur = await readState(topo, group);
    if (!cur) {
      const state: ReleaseState = {
        v: WIRE_VERSION,
        group,
        holder,
        epoch: 1,
        expiresAt: now + leaseMs,
        cursors: {},
      };
      try {
        const rev = await topo.kv.release.create(group, encodeJson(state));
        return new ReleaseLease(topo, state, rev, leaseMs);
      } catch {
        return undefined; // another scheduler created it first
      }
    }
    if (cur.state.holder !== holder && cur.state.expiresAt > now) return undefined;
    const state: ReleaseState = {
      ...cur.state,
      holder,
      epoch: cur.state.epoch + 1,
      expiresAt: now + leaseMs,
    };
    try {
      const rev = await topo.kv.release.update(group, encodeJson(state), cur.revision);
      return new ReleaseLease(topo, state, rev, leaseMs);
    } catch {
      return undefined;
    }
  }

  get state(): Readonly<ReleaseState> {
    return this.#state;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /** True while this holder may release: the lease is not lost, nor near its end by our clock. */
  get valid(): boolean {
    return !this.#lost && Date.now() < this.#renewedAt + this.leaseMs - SAFETY_MARGIN_MS;
  }

  /** Due for renewal (a third of the lease has passed since the last write). */
  get stale(): boolean {
    return Date.now() - this.#renewedAt > this.leaseMs / 3;
  }

  /**
   * Writes the next state (with the lease extended) by compare-and-set. False when the lease was
   * lost: someone else wrote the state since; the holder must stop.
   */
  async commit(change: ReleaseChange): Promise<boolean> {
    if (this.#lost) return false;
    const now = Date.now();
    const next: ReleaseState = { ...this.#state, expiresAt: now + this.leaseMs };
    if (change.cursors) next.cursors = change.cursors;
    if (change.rates) next.rates = change.rates;
    if ('intent' in change) {
      if (change.intent) next.intent = change.intent;
      else delete next.intent;
    }
    const bytes = encodeJson(next);
    try {
      this.#revision = await this.topo.kv.release.update(
        this.#state.group,
        bytes,
        this.#revision,
        Math.max(500, Math.floor(this.leaseMs / 3)),
      );
    } catch (err) {
      if (isWrongRevision(err)) {
        this.#lost = true;
        return false;
      }
      // no answer (a server restarting, a leader moving): the write may or may not have been
      // stored; the state as the leader has it says which
      const cur = await readState(this.topo, this.#state.group).catch(() => undefined);
      if (cur && cur.revision > this.#revision && sameBytes(encodeJson(cur.state), bytes)) {
        this.#revision = cur.revision;
      } else if (cur && cur.revision !== this.#revision) {
        this.#lost = true;
        return false;
      } else {
        throw err;
      }
    }
    this.#state = next;
    this.#renewedAt = now;
    return true;
  }

  /** Lets the lease go at once (a clean shutdown), so that another scheduler need not wait it out. */
  async release(): Promise<void> {
    if (this.#lost) return;
    this.#lost = true;
    const next: ReleaseState = { ...this.#state, expiresAt: 0 };
    await this.topo.kv.release
      .update(this.#state.group, encodeJson(next), this.#revision)
      .catch(() => undefined);
  }
}

/** The state of `group` as the stream leader has it (not a replica that may lag). */
async function readState(
  topo: Topology,
  group: string,
): Promise<{ state: ReleaseState; revision: number } | undefined> {
  const bucket = topo.names.buckets.release;
  const m = await retryTransient(() =>
    topo.jsm.streams.getMessage(`KV_${bucket}`, { last_by_subj: `$KV.${bucket}.${group}` }),
  );
  if (!m || m.data.length === 0 || m.header?.get('KV-Operation')) return undefined;
  return { state: validate('release-state', decodeJson(m.data)), revision: m.seq };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isWrongRevision(err: unknown): boolean {
  const e = err as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  return (
    e.api_error?.err_code === 10071 ||
    e.code === 10071 ||
    (typeof e.message === 'string' && /wrong last sequence/i.test(e.message))
  );
}
