/**
 * A rate limit as a sliding window: at most `limit` releases in any `intervalMs`. Releases are
 * counted in `buckets` slices of the interval; a slice counts in full while any part of it is inside
 * the window, so the count is never below the truth (never more than `limit` in a window, at the cost
 * of up to one slice of waiting). The state is small and serializable: a releaser writes it with its
 * cursor, and its successor goes on from it after a failover instead of starting over.
 */

/** One slice: its start (ms, a multiple of the slice width) and the releases in it. */
export type Slice = [start: number, count: number];

export class RateWindow {
  readonly #width: number;
  #slices: Slice[];

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
    buckets = 10,
    slices: readonly Slice[] = [],
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`rate limit must be a positive integer, got ${limit}`);
    if (!Number.isInteger(intervalMs) || intervalMs < 1)
      throw new Error(`rate interval must be a positive integer of ms, got ${intervalMs}`);
    this.#width = Math.max(1, Math.ceil(intervalMs / buckets));
    this.#slices = slices.map(([s, c]) => [s, c]);
  }

  /** Releases still allowed now. */
  available(now: number): number {
    this.#expire(now);
    return Math.max(0, this.limit - this.#slices.reduce((s, [, c]) => s + c, 0));
  }

  /** Counts `n` releases now (the caller checked {@link available}). */
  take(n: number, now: number): void {
    if (n <= 0) return;
    this.#expire(now);
    const start = now - (now % this.#width);
    const last = this.#slices.at(-1);
    if (last && last[0] === start) last[1] += n;
    else this.#slices.push([start, n]);
  }

  /** When the next release may go, if none may now (ms); `now` when one may. */
  nextAt(now: number): number {
    if (this.available(now) > 0) return now;
    const first = this.#slices[0];
    return first ? first[0] + this.#width + this.intervalMs : now;
  }

  /** The slices still in the window, to be written with the releaser's cursor. */
  toJSON(): Slice[] {
    return this.#slices.map(([s, c]) => [s, c]);
  }

  /** Drops slices that lie wholly before the window `(now - interval, now]`. */
  #expire(now: number): void {
    const from = now - this.intervalMs;
    while (this.#slices.length > 0 && (this.#slices[0] as Slice)[0] + this.#width <= from)
      this.#slices.shift();
  }
}
