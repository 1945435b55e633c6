import { describe, expect, it } from 'vitest';
import {
  Bitmap,
  canTransition,
  checkSplitterOutput,
  compareVersions,
  ContentType,
  countSubtasks,
  decode,
  emptyBitmap,
  encode,
  explain,
  idempotencyKvKey,
  newTaskId,
  isTerminal,
  JetschedError,
  names,
  planWorkMessages,
  splitPayload,
  toErrorRecord,
  validate,
  NonRetryableError,
} from './index.js';

describe('split', () => {
  it('chunks items and keeps offsets', () => {
    const parts = splitPayload({ kind: 'items', chunkSize: 4 }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(parts).toEqual([
      { items: [1, 2, 3, 4], offset: 0 },
      { items: [5, 6, 7, 8], offset: 4 },
      { items: [9, 10], offset: 8 },
    ]);
  });
  it('gives one empty chunk for an empty items array', () => {
    expect(splitPayload({ kind: 'items', chunkSize: 3 }, [])).toEqual([{ items: [], offset: 0 }]);
  });
  it('covers a range exactly once with a short last chunk', () => {
    const parts = splitPayload({ kind: 'range', start: 5, end: 26, chunkSize: 10 }, undefined);
    expect(parts).toEqual([
      { start: 5, end: 15 },
      { start: 15, end: 25 },
      { start: 25, end: 26 },
    ]);
  });
  it('passes the payload through for no split, null when there is none', () => {
    expect(splitPayload({ kind: 'none' }, { a: 1 })).toEqual([{ a: 1 }]);
    expect(splitPayload({ kind: 'none' }, undefined)).toEqual([null]);
  });
  it('refuses more subtasks than the limit, and bad inputs', () => {
    expect(() => splitPayload({ kind: 'range', start: 0, end: 1000, chunkSize: 1 }, null, 999)).toThrow(
      /1000 subtasks/,
    );
    expect(() => countSubtasks({ kind: 'items', chunkSize: 2 }, { not: 'array' })).toThrow(/array/);
    expect(() => countSubtasks({ kind: 'range', start: 5, end: 1, chunkSize: 2 }, null)).toThrow(
      /end >= start/,
    );
  });
  it('checks custom splitter output', () => {
    expect(checkSplitterOutput(new Set([1, 2]))).toEqual([1, 2]);
    expect(() => checkSplitterOutput([])).toThrow(/no subtasks/);
    expect(() => checkSplitterOutput(42)).toThrow(/array or iterable/);
  });
});

describe('work message plan', () => {
  it('groups subtasks in fixed runs and keeps one per message by default', () => {
    expect(planWorkMessages(3, 1).map((p) => p.indexes)).toEqual([[0], [1], [2]]);
    const plans = planWorkMessages(10, 4);
    expect(plans.map((p) => [p.first, p.last])).toEqual([
      [0, 3],
      [4, 7],
      [8, 9],
    ]);
    expect(plans.flatMap((p) => p.indexes)).toEqual([...Array(10).keys()]);
  });

  it('leaves out done subtasks but keeps the runs, so a re-dispatch reuses dedupe ids', () => {
    const done = new Set([0, 1, 2, 3, 5]);
    const plans = planWorkMessages(10, 4, (i) => done.has(i));
    expect(plans).toEqual([
      { first: 4, last: 7, indexes: [4, 6, 7] },
      { first: 8, last: 9, indexes: [8, 9] },
    ]);
  });
});

describe('bitmap', () => {
  it('sets each bit once and counts', () => {
    const b = Bitmap.decode(emptyBitmap(20));
    expect(b.set(0)).toBe(true);
    expect(b.set(19)).toBe(true);
    expect(b.set(19)).toBe(false);
    expect(b.has(19)).toBe(true);
    expect(b.has(18)).toBe(false);
    expect(b.count()).toBe(2);
    const round = Bitmap.decode(b.encode());
    expect(round.count()).toBe(2);
    expect(round.has(0)).toBe(true);
    expect(() => b.set(24)).toThrow(RangeError);
  });
});

describe('codec', () => {
  it('round-trips msgpack and JSON', () => {
    const v = { type: 'x', payload: [1, 'two', { three: 3 }], n: null };
    expect(decode(encode(v))).toEqual(v);
    expect(decode(encode(v, ContentType.Json), ContentType.Json)).toEqual(v);
  });
  it('keeps binary in msgpack', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const out = decode(encode({ bytes })) as { bytes: Uint8Array };
    expect(out.bytes).toBeInstanceOf(Uint8Array);
    expect([...out.bytes]).toEqual([1, 2, 3]);
  });
  it('names the format in decoding errors', () => {
    expect(() => decode(new Uint8Array([0xc1]))).toThrow(/malformed msgpack: reserved byte/);
    expect(() => decode(new Uint8Array([0x91, 0xc1]))).toThrow(/reserved byte/);
    expect(() => decode(new Uint8Array())).toThrow(/empty/);
    expect(() => decode(new TextEncoder().encode('{'), ContentType.Json)).toThrow(/malformed JSON/);
    expect(() => decode(new Uint8Array([0x01, 0x02]))).toThrow(/one msgpack value/);
  });
});

describe('validation', () => {
  it('accepts a full submission and rejects unknown fields', () => {
    expect(
      validate('submit-request', {
        type: 'wordcount',
        payload: ['a'],
        group: 'gpu',
        priority: 9,
        tenant: 'acme',
        idempotencyKey: 'k',
        split: { kind: 'items', chunkSize: 10 },
        aggregate: { kind: 'reduce' },
        timeoutMs: 1000,
        metadata: { a: 'b' },
      }).type,
    ).toBe('wordcount');
    expect(explain('submit-request', { type: 'x', bogus: 1 })).toMatch(/bogus/);
    expect(explain('submit-request', { type: 'has space' })).toMatch(/type/);
    expect(
      explain('submit-request', { type: 'x', payload: 1, payloadRef: { bucket: 'b', name: 'n' } }),
    ).toBeDefined();
  });
  it('requires result on success and error on failure in outcomes', () => {
    const base = {
      v: 1,
      kind: 'outcome',
      taskId: 'abc',
      index: 0,
      attempt: 1,
      executor: 'e',
      startedAt: 1,
      finishedAt: 2,
    };
    expect(explain('outcome-message', { ...base, ok: true, result: 5 })).toBeUndefined();
    expect(explain('outcome-message', { ...base, ok: true })).toBeDefined();
    expect(
      explain('outcome-message', {
        ...base,
        ok: false,
        error: { code: 'X', message: 'm', retryable: false },
      }),
    ).toBeUndefined();
    expect(explain('outcome-message', { ...base, ok: false })).toBeDefined();
  });
  it('throws BAD_REQUEST with the path', () => {
    try {
      validate('get-request', { id: 5 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(JetschedError);
      expect((err as JetschedError).code).toBe('BAD_REQUEST');
      expect((err as Error).message).toMatch(/^invalid get-request: id:/);
    }
  });
});

describe('state machine', () => {
  it('allows only forward moves and freezes terminal states', () => {
    expect(canTransition('pending', 'scheduled')).toBe(true);
    expect(canTransition('scheduled', 'pending')).toBe(false);
    expect(canTransition('succeeded', 'failed')).toBe(false);
    expect(canTransition('pending', 'running')).toBe(false);
    expect(isTerminal('cancelled')).toBe(true);
    expect(isTerminal('running')).toBe(false);
  });
});

describe('names, ids, versions, errors', () => {
  it('derives subject and stream names from the prefix', () => {
    const n = names('acme-prod');
    expect(n.api.submit).toBe('acme-prod.api.task.submit');
    expect(n.streams.work).toBe('ACME_PROD_WORK');
    expect(n.buckets.tasks).toBe('ACME_PROD_tasks');
    expect(n.workSubject('gpu')).toBe('acme-prod.work.gpu');
    expect(n.consumers.executor('gpu')).toBe('acme-prod-exec-gpu');
    expect(() => names('bad.prefix')).toThrow(/invalid prefix/);
  });
  it('makes task ids an operator can paste into a CLI: alphanumeric, 21 characters', () => {
    const ids = Array.from({ length: 2000 }, () => newTaskId());
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
  it('hashes idempotency keys into safe, tenant-scoped KV keys', () => {
    const k = idempotencyKvKey('acme', 'order 42 / é');
    expect(k).toMatch(/^acme\.[A-Za-z0-9_-]+$/);
    expect(idempotencyKvKey('other', 'order 42 / é')).not.toBe(k);
  });
  it('compares server versions', () => {
    expect(compareVersions('2.9.10', '2.11.0')).toBeLessThan(0);
    expect(compareVersions('v2.15.2', '2.11.0')).toBeGreaterThan(0);
    expect(compareVersions('2.11.0-RC.1', '2.11.0')).toBe(0);
  });
  it('serializes errors with code and retryability', () => {
    expect(toErrorRecord(new NonRetryableError('nope'))).toEqual({
      code: 'HANDLER_ERROR',
      message: 'nope',
      retryable: false,
    });
    expect(toErrorRecord(new Error('boom'))).toEqual({
      code: 'HANDLER_ERROR',
      message: 'boom',
      retryable: true,
    });
    expect(toErrorRecord('str', 'X')).toEqual({ code: 'X', message: 'str', retryable: true });
  });
});
