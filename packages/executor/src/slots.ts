/**
 * At most `size` handlers at once; the rest wait in arrival order. A slot is given back when its
 * handler really ends: one that ignores its AbortSignal (timed out, its task stopped) has its outcome
 * reported at the abort, but keeps its slot, counted in {@link lingering}, until it returns.
 */
export class SlotPool {
  busy = 0;
  /** Slots whose handler was reported on (aborted) and is still running. */
  lingering = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(
    private readonly size: number,
    /** Called whenever a slot is given back. */
    private readonly onFree: () => void = () => {},
  ) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.#take();
    try {
      return await fn();
    } finally {
      this.#give();
    }
  }

  /**
   * Runs `fn` in a slot; resolves with what it reports as soon as it reports (`report`), while the
   * slot stays taken until `fn` itself ends (its handler really returned).
   */
  async runReporting<T>(fn: (report: (value: T) => void) => Promise<void>): Promise<T | undefined> {
    await this.#take();
    return new Promise<T | undefined>((resolve, reject) => {
      let reported = false;
      const report = (value: T): void => {
        if (reported) return;
        reported = true;
        this.lingering++;
        resolve(value);
      };
      fn(report)
        .then(
          () => resolve(undefined),
          (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
        )
        .finally(() => {
          if (reported) this.lingering--;
          this.#give();
        });
    });
  }

  async #take(): Promise<void> {
    if (this.busy >= this.size) await new Promise<void>((r) => this.#waiting.push(r));
    else this.busy++;
  }

  #give(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.busy--;
    this.onFree();
  }
}
