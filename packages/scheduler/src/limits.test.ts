import { describe, expect, it } from 'vitest';
import { WIRE_VERSION, type GroupSettings } from '@jetsched/protocol';
import { Limits, scopeKey } from './limits.js';

const NOW = 1_800_000_000_000;
const settings = (s: Partial<GroupSettings>): GroupSettings => ({
  v: WIRE_VERSION,
  group: 'g',
  updatedAt: 0,
  ...s,
});
const none = (): number => 0;

describe('limits', () => {
  it('holds everything of a paused group, and a paused type only', () => {
    const l = new Limits();
    expect(l.allow(settings({ paused: true }), { type: 't', fairnessKey: 'a' }, 5, none, NOW)).toEqual({
      n: 0,
      heldBy: 'group "g" is paused',
      reason: 'paused',
    });
    const s = settings({ pausedTypes: ['slow'] });
    expect(l.allow(s, { type: 'slow', fairnessKey: 'a' }, 5, none, NOW).heldBy).toBe('type "slow" is paused');
    expect(l.allow(s, { type: 'fast', fairnessKey: 'a' }, 5, none, NOW).n).toBe(5);
  });

  it('caps by concurrency: what is in flight and what this round took count', () => {
    const s = settings({ limits: [{ id: 'per-key', per: 'key', concurrency: 3 }] });
    const l = new Limits();
    l.beginRound();
    const inFlight = (k: string): number => (k === 'key:a' ? 1 : 0);
    expect(l.allow(s, { type: 't', fairnessKey: 'a' }, 5, inFlight, NOW).n).toBe(2);
    l.took(s, { type: 't', fairnessKey: 'a' }, 2, NOW);
    const held = l.allow(s, { type: 'u', fairnessKey: 'a' }, 5, inFlight, NOW);
    expect(held.n).toBe(0);
    expect(held.heldBy).toMatch(/concurrency limit "per-key" \(3 at once for key "a"\)/);
    // another key has its own count
    expect(l.allow(s, { type: 't', fairnessKey: 'b' }, 5, inFlight, NOW).n).toBe(3);
  });

  it('caps by rate, and a successor goes on from the windows written with the cursor', () => {
    const s = settings({
      limits: [{ id: 'email', per: 'type', only: 'email', rate: { limit: 10, intervalMs: 1000 } }],
    });
    const l = new Limits();
    l.beginRound();
    const q = { type: 'email', fairnessKey: 'a' };
    expect(l.allow(s, q, 25, none, NOW).n).toBe(10);
    l.took(s, q, 10, NOW);
    l.beginRound();
    expect(l.allow(s, q, 1, none, NOW + 500).heldBy).toMatch(
      /rate limit "email" \(10 per 1000 ms for type "email"\)/,
    );
    // other types are not limited by it
    expect(l.allow(s, { type: 'sms', fairnessKey: 'a' }, 25, none, NOW).n).toBe(25);
    const successor = new Limits(JSON.parse(JSON.stringify(l)) as Record<string, [number, number][]>);
    successor.beginRound();
    expect(successor.allow(s, q, 1, none, NOW + 500).n).toBe(0);
    expect(successor.allow(s, q, 5, none, NOW + 1_200).n).toBe(5);
  });

  it('names the scope a limit counts by', () => {
    expect(scopeKey({ id: 'x', per: 'group' }, { type: 't', fairnessKey: 'k' })).toBe('group');
    expect(scopeKey({ id: 'x', per: 'type' }, { type: 't', fairnessKey: 'k' })).toBe('type:t');
    expect(scopeKey({ id: 'x', per: 'type', only: 'u' }, { type: 't', fairnessKey: 'k' })).toBeUndefined();
    expect(scopeKey({ id: 'x', per: 'key', only: 'k' }, { type: 't', fairnessKey: 'k' })).toBe('key:k');
  });
});
