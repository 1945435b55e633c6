/**
 * Group commit: requests that arrive while earlier ones are being written are written together in
 * the next round. A lone request is written at once (no timer: at most a microtask, so that adds of
 * the same tick share a round, and no added latency); under load each
 * round carries everything that queued meanwhile, which is what turns one write round trip per
 * request into one per batch.
 */
export class GroupCommit<T, R> {
  #queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  #running = 0;
  #scheduled = false;

  /**
   * @param commit writes a whole round and returns one result per item, in order
   * @param concurrency rounds in flight at once
   * @param maxRound most items in one round
   */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly concurrency = 2,
    private readonly maxRound = 10_000,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      // adds made in the same tick (a submit_many) share a round: pump after them, not per add
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  addAll(items: readonly T[]): Promise<R[]> {
    return Promise.all(items.map((i) => this.add(i)));
  }

  /** Items waiting for a round. */
  get queued(): number {
    return this.#queue.length;
  }

  #pump(): void {
    while (this.#running < this.concurrency && this.#queue.length > 0) {
      const round = this.#queue.splice(0, this.maxRound);
      this.#running++;
      this.commit(round.map((r) => r.item))
        .then(
          (results) => round.forEach((r, i) => r.resolve(results[i] as R)),
          (err: unknown) => round.forEach((r) => r.reject(err)),
        )
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }
}
