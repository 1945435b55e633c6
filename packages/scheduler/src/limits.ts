/**
 * A group's limits at release time (its settings: pause, rate and concurrency limits; see
 * protocol's `GroupSettings`). Pure bookkeeping: the releaser asks how many subtasks of a ready
 * queue may go now, and tells what it took. Rate windows (./rate-window.ts) are written with every
 * round's cursors, so a successor goes on from them after a failover and never exceeds a rate.
 *
 * Limit scopes and the keys they count by:
 * - `per: 'group'`: the group as a whole (`group`);
 * - `per: 'type'`: each task type (`type:<type>`), or only `only`;
 * - `per: 'key'`: each fairness key (`key:<fairnessKey>`; the tenant unless tasks name another), or
 *   only `only`.
 */
import type { GroupSettings, LimitSpec } from '@jetsched/protocol';
import { RateWindow, type Slice } from './rate-window.js';
import type { HeldReason } from './release-policy.js';

/** What a limit decision needs of a ready queue. */
export interface LimitedQueue {
  type: string;
  fairnessKey: string;
}

/** In flight now, by scope key (`group`, `type:<t>`, `key:<k>`). */
export type InFlightCount = (scopeKey: string) => number;

/** The scope key a limit counts `q` under, or undefined when the limit does not apply to it. */
export function scopeKey(limit: LimitSpec, q: LimitedQueue): string | undefined {
  switch (limit.per) {
    case 'group':
      return 'group';
    case 'type':
      return limit.only === undefined || limit.only === q.type ? `type:${q.type}` : undefined;
    case 'key':
      return limit.only === undefined || limit.only === q.fairnessKey ? `key:${q.fairnessKey}` : undefined;
  }
}

/** The scope keys a released subtask counts against in flight. */
export function inFlightKeys(q: LimitedQueue): string[] {
  return ['group', `type:${q.type}`, `key:${q.fairnessKey}`];
}

export class Limits {
  readonly #windows = new Map<string, RateWindow>();
  /** Taken this round, by scope key (not in flight yet when the next queue is decided). */
  #round = new Map<string, number>();

  constructor(rates: Record<string, Slice[]> = {}) {
    this.#saved = rates;
  }

  /** Rate state handed over by a predecessor, used when a window is first needed. */
  readonly #saved: Record<string, Slice[]>;

  /** Starts a round: counts of what this round took start at zero. */
  beginRound(): void {
    this.#round = new Map();
  }

  /**
   * How many of `want` subtasks of `q` may go now, and if none, what holds them back (a pause, a
   * rate, a concurrency limit: named for `jetsched queue`).
   */
  allow(
    settings: GroupSettings,
    q: LimitedQueue,
    want: number,
    inFlight: InFlightCount,
    now: number,
  ): { n: number; heldBy?: string; reason?: HeldReason } {
    if (settings.paused) return { n: 0, heldBy: `group "${settings.group}" is paused`, reason: 'paused' };
    if (settings.pausedTypes?.includes(q.type))
      return { n: 0, heldBy: `type "${q.type}" is paused`, reason: 'paused' };
    let n = want;
    let heldBy: string | undefined;
    let reason: HeldReason | undefined;
    for (const limit of settings.limits ?? []) {
      const key = scopeKey(limit, q);
      if (key === undefined) continue;
      const taken = this.#round.get(key) ?? 0;
      if (limit.concurrency !== undefined) {
        const room = limit.concurrency - inFlight(key) - taken;
        if (room < n) {
          n = Math.max(0, room);
          heldBy = `concurrency limit "${limit.id}" (${limit.concurrency} at once ${describe(limit, key)})`;
          reason = 'concurrency';
        }
      }
      if (limit.rate !== undefined) {
        const room = this.#window(limit, key).available(now) - taken;
        if (room < n) {
          n = Math.max(0, room);
          heldBy = `rate limit "${limit.id}" (${limit.rate.limit} per ${limit.rate.intervalMs} ms ${describe(limit, key)})`;
          reason = 'rate';
        }
      }
    }
    return n > 0 ? { n } : { n: 0, heldBy: heldBy ?? 'a limit', reason: reason ?? 'other' };
  }

  /** Counts `n` subtasks of `q` released now. */
  took(settings: GroupSettings, q: LimitedQueue, n: number, now: number): void {
    if (n <= 0) return;
    for (const limit of settings.limits ?? []) {
      const key = scopeKey(limit, q);
      if (key === undefined) continue;
      this.#round.set(key, (this.#round.get(key) ?? 0) + n);
      if (limit.rate !== undefined) this.#window(limit, key).take(n, now);
    }
  }

  /** When the earliest rate window now full lets something through again (ms), if any is full. */
  nextAt(now: number): number | undefined {
    let next: number | undefined;
    for (const w of this.#windows.values()) {
      const at = w.nextAt(now);
      if (at > now) next = Math.min(next ?? at, at);
    }
    return next;
  }

  /** The rate windows still holding releases, to be written with the round. */
  toJSON(): Record<string, Slice[]> {
    const out: Record<string, Slice[]> = {};
    for (const [k, w] of this.#windows) {
      const slices = w.toJSON();
      if (slices.length > 0) out[k] = slices;
    }
    return out;
  }

  #window(limit: LimitSpec, key: string): RateWindow {
    const rate = limit.rate as NonNullable<LimitSpec['rate']>;
    const id = `${limit.id}|${key}`;
    let w = this.#windows.get(id);
    if (!w || w.limit !== rate.limit || w.intervalMs !== rate.intervalMs) {
      w = new RateWindow(rate.limit, rate.intervalMs, 10, w?.toJSON() ?? this.#saved[id] ?? []);
      this.#windows.set(id, w);
    }
    return w;
  }
}

function describe(limit: LimitSpec, key: string): string {
  if (limit.per === 'group') return 'in the group';
  return limit.per === 'type' ? `for type "${key.slice(5)}"` : `for key "${key.slice(4)}"`;
}
