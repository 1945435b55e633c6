/** A one-line progress bar for `watch` and the demo: redrawn in place on a TTY, a line per 10% otherwise. */
export class ProgressBar {
  #lastDecile = -1;
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 30,
  ) {}

  update(done: number, total: number, label = 'subtasks'): void {
    if (total <= 0) return;
    const frac = Math.min(1, done / total);
    if (this.out.isTTY) {
      const filled = Math.round(frac * this.width);
      const bar = '#'.repeat(filled) + '.'.repeat(this.width - filled);
      this.out.write(`\r[${bar}] ${done}/${total} ${label} (${Math.floor(frac * 100)}%)`);
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.#lastDecile) {
      this.#lastDecile = decile;
      this.out.write(`progress: ${done}/${total} ${label} (${decile * 10}%)\n`);
    }
  }

  end(): void {
    if (this.out.isTTY) this.out.write('\n');
  }
}
