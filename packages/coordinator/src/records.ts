/**
 * The coordinator's one way of changing task records: read them (from the cache of records it wrote
 * lately, else many per request), let a pure function from @jetsched/protocol's transitions decide
 * each next record, store what must precede it (subtask records, results, each guarded by the
 * revision the decision was made on), then write every record under compare-and-set. A lost race
 * re-reads the record and decides again.
 *
 * A cached record (or one a lagging replica served) may be behind the stored one: another
 * coordinator granted a claim, recorded outcomes, cancelled. A decision that writes is checked by
 * the server (the guard, the compare-and-set); one that writes nothing and would not hold on a
 * newer record says so (`confirm`), and stands only once a read through the stream leader shows
 * the record it was made on.
 */
import { isTerminal, type TaskRecord } from '@jetsched/protocol';
import type { RecordCache, StoredTask, TaskStore } from '@jetsched/runtime';
import type { ListIndex } from './list-index.js';

/** Rounds of re-reading after lost compare-and-sets before giving up (the caller retries later). */
const MAX_ROUNDS = 8;

/** What a change decides for one task. */
export interface Decision<T> {
  /** The next record, or undefined to leave it. */
  next: TaskRecord | undefined;
  /**
   * Writes that must be stored before the record (subtask records, results), each guarded by the
   * revision the decision was made on; repeated safely. Resolves false when the guard found the
   * record moved on: the decision is void and is made again on a fresh read, like a lost
   * compare-and-set.
   */
  before?: () => Promise<boolean>;
  /**
   * The decision writes nothing, and would not hold if the record it was made on is not the latest
   * (e.g. it refuses an outcome as stale that a claim the cache missed made current). It stands only
   * once the record is read through the stream leader at the same revision; otherwise it is made
   * again on what that read returned.
   */
  confirm?: boolean;
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
    /** Told of each task whose end this coordinator wrote (every record write goes through here). */
    private readonly onEnd?: (record: TaskRecord) => void,
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
    // a batch read can come back short (seen right after a server restart) and leave a record out
    // that exists: what it did not return is looked up alone, through the stream leader, before
    // anything treats the task as absent (its outcomes would be dead-lettered as of no task)
    const absent = misses.filter((id) => !read.found.has(id) && !read.unreadable.has(id));
    const confirmed = await Promise.all(absent.map((id) => this.store.getLatest(id)));
    confirmed.forEach((s, k) => {
      if (s) read.found.set(absent[k] as string, s);
    });
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
    // tasks whose record in `found` was read through the stream leader (nothing to confirm)
    const latest = new Set<string>();
    for (let round = 1; todo.length > 0; round++) {
      if (round > MAX_ROUNDS)
        throw new Error(
          `records of ${todo.length} tasks kept changing under ${MAX_ROUNDS} rounds of compare-and-set`,
        );
      let decisions = await Promise.all(
        todo.map(async (id) => {
          const cur = found.get(id) as StoredTask;
          return { id, cur, d: await decide(cur) };
        }),
      );
      // decided again on the record the leader returned
      const refreshed = new Set<string>();
      // decided again on a record read anew (a guarded write or the compare-and-set was refused)
      const reread: string[] = [];
      const unsure = decisions.filter(({ id, d }) => d.next === undefined && d.confirm && !latest.has(id));
      if (unsure.length > 0) {
        const reads = await Promise.all(unsure.map(({ id }) => this.store.getLatest(id)));
        unsure.forEach(({ id, cur }, k) => {
          const s = reads[k];
          if (!s || s.revision === cur.revision) return; // confirmed
          found.set(id, s);
          this.cache.set(s);
          latest.add(id);
          refreshed.add(id);
        });
        decisions = decisions.filter(({ id }) => !refreshed.has(id));
      }
      const stored = await Promise.all(
        decisions.map(({ d }) => (d.before ? d.before() : Promise.resolve(true))),
      );
      decisions = decisions.filter(({ id }, k) => {
        if (stored[k]) return true;
        this.cache.delete(id);
        reread.push(id);
        return false;
      });
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
      results.forEach((r, k) => {
        const { id, cur, d } = writes[k] as (typeof writes)[number];
        if (r.ok) {
          const stored = { record: d.next as TaskRecord, revision: r.revision };
          this.cache.set(stored);
          if (isTerminal(stored.record.state) && !isTerminal(cur.record.state)) this.onEnd?.(stored.record);
          updated.set(id, { stored, before: cur.record, changed: true, out: d.out });
        } else if (r.conflict) {
          this.cache.delete(id);
          reread.push(id);
        } else {
          throw r.error;
        }
      });
      if (refreshed.size === 0 && reread.length === 0) break;
      todo = [...refreshed];
      if (reread.length > 0) {
        const again = await this.store.getMany(reread);
        for (const [id, s] of again.found) {
          found.set(id, s);
          this.cache.set(s);
          latest.delete(id);
        }
        unreadable = new Map([...unreadable, ...again.unreadable]);
        todo = [...todo, ...reread.filter((id) => again.found.has(id))];
      }
    }
    return { updated, missing, unreadable, indexFailed };
  }
}
