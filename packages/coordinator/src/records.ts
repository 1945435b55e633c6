/**
 * The coordinator's one way of changing task records: read them (from the cache of records it wrote
 * lately, else many per request), let a pure function from @jetsched/protocol's transitions decide
 * each next record, store what must precede it (subtask records, results), then write every record
 * under compare-and-set. A lost race re-reads the record and decides again.
 */
import type { TaskRecord } from '@jetsched/protocol';
import type { RecordCache, StoredTask, TaskStore } from '@jetsched/runtime';
import type { ListIndex } from './list-index.js';

/** Rounds of re-reading after lost compare-and-sets before giving up (the caller retries later). */
const MAX_ROUNDS = 8;

/** What a change decides for one task. */
export interface Decision<T> {
  /** The next record, or undefined to leave it. */
  next: TaskRecord | undefined;
  /** Writes that must be stored before the record (subtask records, results); repeated safely. */
  before?: () => Promise<void>;
  /** Anything the caller wants back. */
  out: T;
}

export interface Updated<T> {
  /** The record as it stands after the update (written, or left as it was). */
  stored: StoredTask;
  /** The record the last decision was made from. */
  before: TaskRecord;
  /** True when this update wrote it. */
  changed: boolean;
  out: T;
}

export class Records {
  constructor(
    private readonly store: TaskStore,
    readonly cache: RecordCache,
    private readonly index: ListIndex,
  ) {}

  /** The records of `ids`: cached ones as they are, the rest read in as few requests as possible. */
  async load(
    ids: readonly string[],
  ): Promise<{ found: Map<string, StoredTask>; unreadable: Map<string, Error> }> {
    const found = new Map<string, StoredTask>();
    const misses: string[] = [];
    for (const id of new Set(ids)) {
      const c = this.cache.get(id);
      if (c) found.set(id, c);
      else misses.push(id);
    }
    if (misses.length === 0) return { found, unreadable: new Map() };
    const read = await this.store.getMany(misses);
    for (const [id, s] of read.found) {
      found.set(id, s);
      this.cache.set(s);
    }
    return { found, unreadable: read.unreadable };
  }

  /**
   * Applies `decide` to each task's record and writes the results under compare-and-set. Tasks
   * whose record does not exist are left out of the result (and reported in `missing`).
   */
  async update<T>(
    ids: readonly string[],
    decide: (cur: StoredTask) => Decision<T> | Promise<Decision<T>>,
  ): Promise<{
    updated: Map<string, Updated<T>>;
    missing: string[];
    unreadable: Map<string, Error>;
    /** Set when an index page of a state change was not stored (the record writes were). */
    indexFailed: Error | undefined;
  }> {
    let indexFailed: Error | undefined;
    const updated = new Map<string, Updated<T>>();
    const loaded = await this.load(ids);
    const found = loaded.found;
    let unreadable = loaded.unreadable;
    const missing = [...new Set(ids)].filter((id) => !found.has(id) && !unreadable.has(id));
    let todo = [...found.keys()];
    for (let round = 1; todo.length > 0; round++) {
      if (round > MAX_ROUNDS)
        throw new Error(
          `records of ${todo.length} tasks kept changing under ${MAX_ROUNDS} rounds of compare-and-set`,
        );
      const decisions = await Promise.all(
        todo.map(async (id) => {
          const cur = found.get(id) as StoredTask;
          return { id, cur, d: await decide(cur) };
        }),
      );
      await Promise.all(decisions.map(({ d }) => (d.before ? d.before() : Promise.resolve())));
      const writes = decisions.filter(({ d }) => d.next !== undefined);
      for (const { id, cur, d } of decisions) {
        if (d.next === undefined)
          updated.set(id, { stored: cur, before: cur.record, changed: false, out: d.out });
      }
      // records that enter a new state are indexed in the same window as their writes
      const moved = writes
        .filter(({ cur, d }) => d.next?.state !== cur.record.state)
        .map(({ d }) => d.next as TaskRecord);
      const { results, alongsideFailed } = await this.store.write(
        writes.map(({ cur, d }) => ({ record: d.next as TaskRecord, expect: cur.revision })),
        this.index.pages(moved),
      );
      indexFailed ??= alongsideFailed;
      const conflicts: string[] = [];
      results.forEach((r, k) => {
        const { id, cur, d } = writes[k] as (typeof writes)[number];
        if (r.ok) {
          const stored = { record: d.next as TaskRecord, revision: r.revision };
          this.cache.set(stored);
          updated.set(id, { stored, before: cur.record, changed: true, out: d.out });
        } else if (r.conflict) {
          this.cache.delete(id);
          conflicts.push(id);
        } else {
          throw r.error;
        }
      });
      if (conflicts.length === 0) break;
      const again = await this.store.getMany(conflicts);
      for (const [id, s] of again.found) {
        found.set(id, s);
        this.cache.set(s);
      }
      unreadable = new Map([...unreadable, ...again.unreadable]);
      todo = conflicts.filter((id) => again.found.has(id));
    }
    return { updated, missing, unreadable, indexFailed };
  }
}
