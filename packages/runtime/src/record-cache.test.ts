import { describe, expect, it } from 'vitest';
import { RecordCache, type StoredTask } from './task-store.js';

const stored = (id: string, revision = 1): StoredTask =>
  ({ record: { id }, revision }) as unknown as StoredTask;

describe('RecordCache', () => {
  it('keeps at most its size, dropping the oldest first', () => {
    const c = new RecordCache(100);
    for (let i = 0; i < 1_000; i++) c.set(stored(`t${i}`));
    // the newest 90 at least are there, the oldest are gone
    for (let i = 910; i < 1_000; i++) expect(c.get(`t${i}`)?.record.id).toBe(`t${i}`);
    for (let i = 0; i < 800; i++) expect(c.get(`t${i}`)).toBeUndefined();
    let kept = 0;
    for (let i = 0; i < 1_000; i++) if (c.get(`t${i}`)) kept++;
    expect(kept).toBeLessThanOrEqual(100);
    expect(kept).toBeGreaterThanOrEqual(90);
  });

  it('counts a record written again as new', () => {
    const c = new RecordCache(10);
    for (let i = 0; i < 10; i++) c.set(stored(`t${i}`));
    c.set(stored('t0', 2));
    c.set(stored('t10'));
    expect(c.get('t0')?.revision).toBe(2);
    expect(c.get('t1')).toBeUndefined();
  });
});
