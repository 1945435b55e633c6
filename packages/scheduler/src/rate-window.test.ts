import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateWindow } from './rate-window.js';

/** The most releases in any window of `intervalMs`, from their times. */
function maxInWindow(times: number[], intervalMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= intervalMs) j++;
    best = Math.max(best, i - j + 1);
  }
  return best;
}

describe('rate window', () => {
  it('allows the limit, then nothing until the interval has passed', () => {
    const w = new RateWindow(10, 1_000);
    expect(w.available(0)).toBe(10);
    w.take(10, 0);
    expect(w.available(500)).toBe(0);
    expect(w.nextAt(500)).toBe(1_100);
    expect(w.available(1_100)).toBe(10);
  });

  it('never lets more than the limit through in any window, whatever the timing', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 10, max: 2_000 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), want: fc.integer({ min: 1, max: 8 }) }), {
          maxLength: 200,
        }),
        (limit, interval, attempts) => {
          const w = new RateWindow(limit, interval);
          const times: number[] = [];
          let now = 1_000_000;
          for (const a of attempts) {
            now += a.dt;
            const n = Math.min(a.want, w.available(now));
            w.take(n, now);
            for (let k = 0; k < n; k++) times.push(now);
          }
          expect(maxInWindow(times, interval)).toBeLessThanOrEqual(limit);
        },
      ),
    );
  });

  it('goes on after a failover from the state written with the cursor', () => {
    const w = new RateWindow(5, 1_000);
    w.take(4, 100);
    const successor = new RateWindow(5, 1_000, 10, JSON.parse(JSON.stringify(w)) as [number, number][]);
    expect(successor.available(200)).toBe(1);
    expect(successor.available(1_200)).toBe(5);
  });
});
