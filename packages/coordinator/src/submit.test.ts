import { nanoid } from 'nanoid';
import { describe, expect, it } from 'vitest';
import { spreadOf } from './submit.js';

describe('spreadOf (how much earlier a delayed task fires)', () => {
  const ids = Array.from({ length: 20_000 }, () => nanoid());

  it('is within [0, spread), the same for the same id, and 0 when spreading is off', () => {
    for (const id of ids) {
      const s = spreadOf(id, 1_000);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(1_000);
      expect(Number.isInteger(s)).toBe(true);
      expect(spreadOf(id, 1_000)).toBe(s);
      expect(spreadOf(id, 0)).toBe(0);
    }
  });

  it("divides a burst about evenly over the server's 250 ms timer steps", () => {
    const steps = [0, 0, 0, 0];
    for (const id of ids) steps[Math.floor(spreadOf(id, 1_000) / 250)]!++;
    for (const n of steps) expect(Math.abs(n - ids.length / 4)).toBeLessThan(ids.length * 0.02);
  });
});
