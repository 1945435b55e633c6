/**
 * Where work of a type can run, and how much of it at once: the live executor adverts of a group,
 * by handler profile (executors with the same profile serve the same types and share one consumer).
 * Free slots come from the adverts, less what was released since they were written, so a burst of
 * releases between two heartbeats does not count the same slots twice.
 */
import { isLive, type ExecutorRegistry } from '@jetsched/runtime';

export interface Route {
  profile: string;
  /** Free handler slots of the profile's executors, as far as the scheduler can tell. */
  free: number;
  /** What one executor of the profile runs at once, at the least. */
  perExecutor: number;
}

export class Router {
  /** Releases per `<group>.<profile>`: when, and how many subtasks. */
  readonly #released = new Map<string, { at: number; n: number }[]>();

  constructor(private readonly registry: ExecutorRegistry) {}

  /** The profile to send work of `type` in `group` to (most free slots first), or undefined. */
  pick(group: string, type: string): Route | undefined {
    let best: Route | undefined;
    for (const r of this.routes(group)) {
      if (!r.types.has(type)) continue;
      if (!best || r.free > best.free) best = r;
    }
    return best;
  }

  /** Every live profile of a group with what it serves. */
  routes(group: string): (Route & { types: Set<string> })[] {
    const now = Date.now();
    const byProfile = new Map<
      string,
      { types: Set<string>; free: number; perExecutor: number; oldest: number }
    >();
    for (const a of this.registry.live(group)) {
      if (!isLive(a, now)) continue;
      const p = byProfile.get(a.profile) ?? {
        types: new Set<string>(),
        free: 0,
        perExecutor: Infinity,
        oldest: Infinity,
      };
      for (const t of a.types) p.types.add(t);
      p.free += Math.max(0, a.concurrency - a.running);
      p.perExecutor = Math.min(p.perExecutor, a.concurrency);
      p.oldest = Math.min(p.oldest, a.at);
      byProfile.set(a.profile, p);
    }
    return [...byProfile].map(([profile, p]) => {
      const since = (this.#released.get(`${group}.${profile}`) ?? []).filter((r) => r.at >= p.oldest);
      this.#released.set(`${group}.${profile}`, since);
      const released = since.reduce((s, r) => s + r.n, 0);
      return { profile, types: p.types, free: Math.max(0, p.free - released), perExecutor: p.perExecutor };
    });
  }

  /** Counts `n` subtasks released to a profile now. */
  released(group: string, profile: string, n: number): void {
    const key = `${group}.${profile}`;
    const list = this.#released.get(key) ?? [];
    list.push({ at: Date.now(), n });
    this.#released.set(key, list);
  }
}
