/**
 * When handlers started, as the handlers' own clocks saw it (issue 7 scenarios). The executor / worker
 * process appends `<id> <Date.now()>` lines to the file named by `BENCH_STAMPS`, buffered and flushed
 * every few ms (the time is taken at the start of the handler, not at the flush); the bench reads the
 * file as it grows. Both processes run on one machine, so their clocks are the same clock.
 */
import { appendFileSync, closeSync, openSync, readSync } from 'node:fs';

export const STAMPS_ENV = 'BENCH_STAMPS';

let buffer: string[] = [];

function flush(): void {
  const file = process.env[STAMPS_ENV];
  if (buffer.length === 0 || !file) return;
  const lines = buffer.join('');
  buffer = [];
  appendFileSync(file, lines);
}

let timer: NodeJS.Timeout | undefined;

/** Records that the handler of `id` starts now (in the handler's process). */
export function stampStart(id: string): void {
  buffer.push(`${id} ${Date.now()}\n`);
  if (!timer) {
    timer = setInterval(flush, 10);
    timer.unref();
    process.once('exit', flush);
  }
}

/** The bench's side: reads the stamps file as it grows, keeping the first start of every id. */
export class StampReader {
  readonly startedAt = new Map<string, number>();
  /** Ids that started more than once. */
  readonly repeats = new Map<string, number>();
  #offset = 0;
  #partial = '';
  readonly #chunk = Buffer.alloc(1 << 20);
  /** While {@link waitFor} runs: ids that started for the first time since its last poll. */
  #fresh: string[] | undefined;

  constructor(readonly file: string) {}

  /** Reads what was appended since the last call. */
  poll(): this {
    const fd = openSync(this.file, 'a+');
    try {
      const chunk = this.#chunk;
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, this.#offset);
        if (n <= 0) break;
        this.#offset += n;
        const text = this.#partial + chunk.toString('utf8', 0, n);
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) {
          const [id, at] = line.split(' ');
          if (!id) continue;
          if (this.startedAt.has(id)) this.repeats.set(id, (this.repeats.get(id) ?? 1) + 1);
          else {
            this.startedAt.set(id, Number(at));
            this.#fresh?.push(id);
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    return this;
  }

  /**
   * Polls until every one of `ids` has started, or `deadline` (Date.now() ms) has passed, or (with
   * `stallMs`) nothing has started for that long.
   */
  async waitFor(ids: readonly string[], deadline: number, stallMs = Infinity): Promise<void> {
    // the bench shares the machine with what it measures: a poll looks only at what is new
    this.poll();
    const left = new Set(ids.filter((id) => !this.startedAt.has(id)));
    let progress = Date.now();
    try {
      while (left.size > 0 && Date.now() < deadline && Date.now() - progress < stallMs) {
        this.#fresh = [];
        await new Promise((r) => setTimeout(r, 50));
        this.poll();
        if (this.#fresh.length > 0) progress = Date.now();
        for (const id of this.#fresh) left.delete(id);
      }
    } finally {
      this.#fresh = undefined;
    }
  }
}
