/**
 * What runs next: the pure decision a group's releaser makes every round (see ADR 0018). Given the
 * ready queues of a group (one per ready subject: priority, fairness key, type), the credit to
 * spend and the limits, it says how many items to take from which queue. No I/O here; the state it
 * keeps between rounds (deficits, the round-robin position) is a cache a new releaser starts afresh.
 *
 * - Priorities 0-9, 9 first. With aging, a queue's effective priority rises by one for every
 *   `agingMs` its head has waited, without bound, so low priority work waits at most
 *   `(10 - priority) x agingMs` behind fresh priority-9 work.
 * - Within an effective priority, deficit round-robin over fairness keys, `weight(key)` items per
 *   turn; within a key, the queue whose head waited longest first.
 * - `allow(queue, n)` says how many of n items the limits let go now (rate, concurrency, pause,
 *   routing); a queue it refuses is blocked for the round and reported with the reason.
 */

/** One ready subject of a group, as the releaser knows it. */
export interface ReadyQueue {
  /** The subject: unique per queue. */
  readonly id: string;
  readonly priority: number;
  readonly fairnessKey: string;
  readonly type: string;
  /** Items known to wait (at least this many; more may arrive). */
  readonly waiting: number;
  /** When the head item became ready (ms). */
  readonly headSince: number;
}

export interface ReleasePolicy {
  /** Aging step; 0 turns aging off. @defaultValue 10 s */
  readonly agingMs: number;
  /** Items a fairness key gets per round-robin turn. @defaultValue 1 */
  weight(fairnessKey: string): number;
}

/**
 * What kind of thing holds a queue back, as the `reason` label of `jetsched_release_held_back_total`
 * counts it: a pause, a rate or concurrency limit, no executor for the type, busy executors.
 */
export type HeldReason = 'paused' | 'concurrency' | 'rate' | 'no_executor' | 'capacity' | 'other';

/** How many of `want` items of `q` the limits let go now, and if none, why not. */
export type Allowance = (q: ReadyQueue, want: number) => { n: number; heldBy?: string; reason?: HeldReason };

export interface Take {
  queue: ReadyQueue;
  n: number;
}

export interface Decision {
  takes: Take[];
  /** Queues that had work but that a limit held back this round, with the reason. */
  held: { queue: ReadyQueue; heldBy: string; reason: HeldReason }[];
}

export const DEFAULT_AGING_MS = 10_000;

/** The priority a queue competes with now. */
export function effectivePriority(q: ReadyQueue, now: number, agingMs: number): number {
  if (agingMs <= 0) return q.priority;
  return q.priority + Math.max(0, Math.floor((now - q.headSince) / agingMs));
}

/** Deficit round-robin state of one group, kept between rounds. */
export class FairShare {
  readonly #deficit = new Map<string, number>();
  /** The key whose turn comes next, per effective priority. */
  readonly #next = new Map<number, string>();
  /** A key whose turn the last round's credit cut short, per effective priority: it goes on first. */
  readonly #resume = new Map<number, string>();

  /**
   * Decides one round: spends up to `credit` items over `queues`, highest effective priority first,
   * fairly across keys within a priority.
   */
  decide(
    queues: readonly ReadyQueue[],
    credit: number,
    policy: ReleasePolicy,
    allow: Allowance,
    now: number,
  ): Decision {
    const takes = new Map<ReadyQueue, number>();
    const held: Decision['held'] = [];
    const blocked = new Set<ReadyQueue>();
    const byLevel = new Map<number, ReadyQueue[]>();
    for (const q of queues) {
      if (q.waiting <= 0) continue;
      const level = effectivePriority(q, now, policy.agingMs);
      const list = byLevel.get(level) ?? [];
      list.push(q);
      byLevel.set(level, list);
    }
    const levels = [...byLevel.keys()].sort((a, b) => b - a);
    let left = credit;
    for (const level of levels) {
      if (left <= 0) break;
      left = this.#spendLevel(level, byLevel.get(level) ?? [], left, policy, allow, takes, blocked, held);
    }
    // keys that have nothing waiting any more start from zero next time (DRR)
    const active = new Set(queues.filter((q) => q.waiting > (takes.get(q) ?? 0)).map((q) => q.fairnessKey));
    for (const key of [...this.#deficit.keys()]) if (!active.has(key)) this.#deficit.delete(key);
    return { takes: [...takes].map(([queue, n]) => ({ queue, n })), held };
  }

  #spendLevel(
    level: number,
    queues: ReadyQueue[],
    credit: number,
    policy: ReleasePolicy,
    allow: Allowance,
    takes: Map<ReadyQueue, number>,
    blocked: Set<ReadyQueue>,
    held: Decision['held'],
  ): number {
    // the keys of this level in a stable ring order, and each key's queues oldest head first
    const byKey = new Map<string, ReadyQueue[]>();
    for (const q of queues) {
      const list = byKey.get(q.fairnessKey) ?? [];
      list.push(q);
      byKey.set(q.fairnessKey, list);
    }
    for (const list of byKey.values()) list.sort((a, b) => a.headSince - b.headSince);
    const ring = [...byKey.keys()].sort();
    const start = Math.max(0, ring.indexOf(this.#next.get(level) ?? ''));
    let left = credit;
    let live = ring.length;
    const done = new Set<string>();
    for (let i = start; left > 0 && live > 0; i = (i + 1) % ring.length) {
      const key = ring[i] as string;
      if (done.has(key)) continue;
      // a turn cut short by the credit goes on without a new quantum
      const resuming = this.#resume.get(level) === key;
      this.#resume.delete(level);
      const deficit = (this.#deficit.get(key) ?? 0) + (resuming ? 0 : Math.max(1, policy.weight(key)));
      let want = Math.min(Math.floor(deficit), left);
      let got = 0;
      for (const q of byKey.get(key) ?? []) {
        if (want <= 0) break;
        if (blocked.has(q)) continue;
        const remaining = q.waiting - (takes.get(q) ?? 0);
        if (remaining <= 0) continue;
        const a = allow(q, Math.min(want, remaining));
        if (a.n <= 0) {
          blocked.add(q);
          held.push({ queue: q, heldBy: a.heldBy ?? 'a limit', reason: a.reason ?? 'other' });
          continue;
        }
        takes.set(q, (takes.get(q) ?? 0) + a.n);
        got += a.n;
        want -= a.n;
      }
      left -= got;
      const more = (byKey.get(key) ?? []).some((q) => !blocked.has(q) && q.waiting - (takes.get(q) ?? 0) > 0);
      if (!more) {
        done.add(key);
        live--;
        this.#deficit.delete(key);
      } else {
        this.#deficit.set(key, deficit - got);
      }
      if (more && left <= 0 && deficit - got >= 1) {
        // the credit ran out in the middle of this key's turn: the next round goes on with it
        this.#next.set(level, key);
        this.#resume.set(level, key);
      } else {
        // the next round starts with the key after the last one served
        this.#next.set(level, ring[(i + 1) % ring.length] as string);
      }
    }
    return left;
  }
}
