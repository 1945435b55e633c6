/** Maxima a test observes in the times handlers noted: starts in a window, runs at once. */

/** The most of `times` (ms) in any window of `ms`. */
export function maxInWindow(times: number[], ms: number): number {
  const t = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while ((t[i] as number) - (t[j] as number) >= ms) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

/**
 * The most runs at once, from their start and end times (ms; no end: still running). An end and a
 * start in the same ms do not overlap: the slot came back first.
 */
export function maxConcurrent(runs: { start: number; end: number | undefined }[]): number {
  const events = runs.flatMap((r): [number, number][] => [
    [r.start, 1],
    [r.end ?? Infinity, -1],
  ]);
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let now = 0;
  let best = 0;
  for (const [, d] of events) best = Math.max(best, (now += d));
  return best;
}
