import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectivePriority,
  FairShare,
  type Allowance,
  type ReadyQueue,
  type ReleasePolicy,
} from './release-policy.js';

const NOW = 1_800_000_000_000;
const policy = (weights: Record<string, number> = {}, agingMs = 10_000): ReleasePolicy => ({
  agingMs,
  weight: (k) => weights[k] ?? 1,
});
const all: Allowance = (_q, want) => ({ n: want });

function q(
  id: string,
  priority: number,
  fairnessKey: string,
  waiting: number,
  age = 0,
  type = 't',
): ReadyQueue {
  return { id, priority, fairnessKey, type, waiting, headSince: NOW - age };
}

/** Runs rounds of `credit` until nothing waits or `rounds` ran; returns items taken per queue id. */
function drain(
  share: FairShare,
  queues: ReadyQueue[],
  credit: number,
  p: ReleasePolicy,
  rounds: number,
  allow: Allowance = all,
): Map<string, number> {
  const taken = new Map<string, number>();
  let current = queues;
  for (let r = 0; r < rounds; r++) {
    const d = share.decide(current, credit, p, allow, NOW);
    for (const t of d.takes) taken.set(t.queue.id, (taken.get(t.queue.id) ?? 0) + t.n);
    current = current.map((x) => ({
      ...x,
      waiting: x.waiting - (d.takes.find((t) => t.queue.id === x.id)?.n ?? 0),
    }));
    if (current.every((x) => x.waiting === 0)) break;
  }
  return taken;
}

describe('release policy', () => {
  it('releases priority 9 before priority 0', () => {
    const d = new FairShare().decide([q('low', 0, 'a', 100), q('high', 9, 'a', 3)], 5, policy(), all, NOW);
    expect(d.takes.map((t) => [t.queue.id, t.n])).toEqual([
      ['high', 3],
      ['low', 2],
    ]);
  });

  it('ages low priority work: a head that waited long enough outranks fresh priority 9', () => {
    const old = q('old', 0, 'a', 10, 100_000);
    expect(effectivePriority(old, NOW, 10_000)).toBe(10);
    const d = new FairShare().decide([q('fresh', 9, 'b', 10), old], 4, policy(), all, NOW);
    expect(d.takes.map((t) => t.queue.id)).toEqual(['old']);
    // without aging, priority alone decides
    expect(
      new FairShare().decide([q('fresh', 9, 'b', 10), old], 4, policy({}, 0), all, NOW).takes[0]?.queue.id,
    ).toBe('fresh');
  });

  it("shares a round evenly between keys: a burst of one key does not hold another's few back", () => {
    const d = new FairShare().decide(
      [q('A', 5, 'tenant-a', 100_000), q('B', 5, 'tenant-b', 200)],
      10,
      policy(),
      all,
      NOW,
    );
    expect(Object.fromEntries(d.takes.map((t) => [t.queue.id, t.n]))).toEqual({ A: 5, B: 5 });
  });

  it('alternates keys across rounds of one item', () => {
    const share = new FairShare();
    const order: string[] = [];
    let queues = [q('A', 5, 'a', 10), q('B', 5, 'b', 10), q('C', 5, 'c', 10)];
    for (let i = 0; i < 6; i++) {
      const d = share.decide(queues, 1, policy(), all, NOW);
      const id = d.takes[0]?.queue.id ?? '';
      order.push(id);
      queues = queues.map((x) => (x.id === id ? { ...x, waiting: x.waiting - 1 } : x));
    }
    expect(order).toEqual(['A', 'B', 'C', 'A', 'B', 'C']);
  });

  it('gives weights 3:1 about 3:1 of the releases while both have work', () => {
    const taken = drain(
      new FairShare(),
      [q('A', 5, 'a', 10_000), q('B', 5, 'b', 10_000)],
      4,
      policy({ a: 3 }),
      100,
    );
    expect(taken.get('A')).toBe(300);
    expect(taken.get('B')).toBe(100);
  });

  it('keeps weights 3:1 when each round has less credit than a turn', () => {
    const taken = drain(
      new FairShare(),
      [q('A', 5, 'a', 10_000), q('B', 5, 'b', 10_000)],
      3,
      policy({ a: 3 }),
      100,
    );
    expect(taken.get('A')).toBe(225);
    expect(taken.get('B')).toBe(75);
  });

  it('passes over a queue a limit holds, says why, and spends the credit elsewhere', () => {
    const allow: Allowance = (x, want) =>
      x.type === 'slow' ? { n: 0, heldBy: 'rate limit of type slow' } : { n: want };
    const d = new FairShare().decide(
      [q('S', 9, 'a', 10, 0, 'slow'), q('F', 1, 'a', 10, 0, 'fast')],
      3,
      policy(),
      allow,
      NOW,
    );
    expect(d.takes.map((t) => [t.queue.id, t.n])).toEqual([['F', 3]]);
    expect(d.held.map((h) => [h.queue.id, h.heldBy])).toEqual([['S', 'rate limit of type slow']]);
  });

  it('never takes more than the credit, more than waits, or from a lower level while a higher one had room', () => {
    const queueArb = fc.record({
      priority: fc.integer({ min: 0, max: 9 }),
      key: fc.constantFrom('a', 'b', 'c', 'd'),
      waiting: fc.integer({ min: 0, max: 50 }),
      age: fc.integer({ min: 0, max: 200_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(queueArb, { maxLength: 12 }),
        fc.integer({ min: 0, max: 200 }),
        (specs, credit) => {
          const queues = specs.map((s, i) => q(`q${i}`, s.priority, s.key, s.waiting, s.age));
          const d = new FairShare().decide(queues, credit, policy({ a: 2 }), all, NOW);
          const total = d.takes.reduce((s, t) => s + t.n, 0);
          const waiting = queues.reduce((s, x) => s + x.waiting, 0);
          expect(total).toBe(Math.min(credit, waiting));
          for (const t of d.takes) expect(t.n).toBeLessThanOrEqual(t.queue.waiting);
          // a queue left with work means no queue of a lower effective priority got anything
          const level = (x: ReadyQueue): number => effectivePriority(x, NOW, 10_000);
          const leftover = queues.filter((x) => x.waiting > (d.takes.find((t) => t.queue === x)?.n ?? 0));
          for (const t of d.takes) {
            for (const l of leftover) expect(level(t.queue)).toBeGreaterThanOrEqual(level(l));
          }
        },
      ),
    );
  });
});
