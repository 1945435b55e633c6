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
  encodeJson,
  ErrorCode,
  explain,
  idempotencyKvKey,
  newTaskId,
  isTerminal,
  JetschedError,
  MAX_NESTING,
  names,
  itemsPerMessage,
  packMessages,
  packWithItems,
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

describe('packing', () => {
  it('sends each item alone while executors have free slots for all of them', () => {
    expect(itemsPerMessage(1, 0, 100)).toBe(1);
    expect(itemsPerMessage(50, 100, 100)).toBe(1);
    expect(itemsPerMessage(100, 100, 100)).toBe(1);
  });
  it('packs in proportion to the backlog beyond the free slots, up to what one executor runs', () => {
    expect(itemsPerMessage(1000, 100, 100)).toBe(10);
    expect(itemsPerMessage(20_000, 0, 100)).toBe(100);
    expect(itemsPerMessage(20_000, 0, 8)).toBe(8);
    expect(itemsPerMessage(150, 100, 100)).toBe(2);
  });
  it('fills messages by count, bytes and per-task bound, in order', () => {
    const items = [
      { size: 10, taskId: 'a' },
      { size: 10, taskId: 'a' },
      { size: 10, taskId: 'b' },
      { size: 500, taskId: 'c' },
      { size: 10, taskId: 'd', perTask: 1 },
      { size: 10, taskId: 'd', perTask: 1 },
    ];
    expect(packMessages(items, 3, 1000, 0)).toEqual([[0, 1, 2], [3, 4], [5]]);
    expect(packMessages(items, 10, 100, 0)).toEqual([[0, 1, 2], [3], [4], [5]]);
    expect(packMessages([], 10, 100)).toEqual([]);
    // an oversized item still gets a message of its own
    expect(packMessages([{ size: 5000 }, { size: 1 }], 10, 100, 0)).toEqual([[0], [1]]);
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
  it('reads integers in every msgpack encoding as numbers, and writes big integers as integers', () => {
    const five = [
      [0x05],
      [0xcc, 5],
      [0xcd, 0, 5],
      [0xce, 0, 0, 0, 5],
      [0xcf, 0, 0, 0, 0, 0, 0, 0, 5],
      [0xd0, 5],
      [0xd3, 0, 0, 0, 0, 0, 0, 0, 5],
    ];
    for (const bytes of five) expect(decode(Uint8Array.from(bytes))).toBe(5);
    // 2^40 as uint 64 reads as a number; a time is written as uint 64, never as float 64 (0xcb)
    expect(decode(Uint8Array.from([0xcf, 0, 0, 1, 0, 0, 0, 0, 0]))).toBe(2 ** 40);
    const now = 1_795_000_000_123;
    const bytes = encode(now);
    expect(bytes[0]).toBe(0xcf);
    expect(decode(bytes)).toBe(now);
    expect(encode(-(2 ** 40))[0]).toBe(0xd3);
    expect(decode(encode(-(2 ** 40)))).toBe(-(2 ** 40));
    expect(encode(1.5)[0]).toBe(0xcb);
    // beyond 2^53 an integer stays exact, as a BigInt, and JSON writes it as a plain number
    const huge = decode(Uint8Array.from([0xcf, 0x10, 0, 0, 0, 0, 0, 0, 1]));
    expect(huge).toBe(2n ** 60n + 1n);
    expect(new TextDecoder().decode(encode({ n: huge, s: 'x' }, ContentType.Json))).toBe(
      '{"n":1152921504606846977,"s":"x"}',
    );
  });
  it('builds a message from items encoded one by one', () => {
    const items = [encode({ a: 1 }), encode({ b: 'two' })];
    expect(decode(packWithItems({ v: 2, kind: 'work', skip: undefined }, 'items', items))).toEqual({
      v: 2,
      kind: 'work',
      items: [{ a: 1 }, { b: 'two' }],
    });
    const many = Array.from({ length: 70_000 }, (_, i) => encode(i));
    expect((decode(packWithItems({}, 'items', many)) as { items: number[] }).items[69_999]).toBe(69_999);
  });
  it('names the format in decoding errors', () => {
    expect(() => decode(new Uint8Array([0xc1]))).toThrow(/malformed msgpack: reserved byte/);
    expect(() => decode(new Uint8Array([0x91, 0xc1]))).toThrow(/reserved byte/);
    expect(() => decode(new Uint8Array())).toThrow(/empty/);
    expect(() => decode(new TextEncoder().encode('{'), ContentType.Json)).toThrow(/malformed JSON/);
    expect(() => decode(new Uint8Array([0x01, 0x02]))).toThrow(/one msgpack value/);
  });
  it(`refuses values nested more than ${MAX_NESTING} levels deep, in msgpack and JSON`, () => {
    const nested = (levels: number): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < levels; i++) v = i % 2 ? [v] : { a: v };
      return v;
    };
    const refused = (fn: () => unknown): string | undefined => {
      try {
        fn();
        return undefined;
      } catch (err) {
        return (err as JetschedError).code;
      }
    };
    expect(decode(encode(nested(MAX_NESTING)))).toEqual(nested(MAX_NESTING));
    expect(refused(() => decode(encode(nested(MAX_NESTING + 1))))).toBe(ErrorCode.BadRequest);
    const deepJson = '['.repeat(5_000) + ']'.repeat(5_000);
    expect(refused(() => decode(new TextEncoder().encode(deepJson), ContentType.Json))).toBe(
      ErrorCode.BadRequest,
    );
    expect(decode(encodeJson(nested(MAX_NESTING)), ContentType.Json)).toEqual(nested(MAX_NESTING));
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
  it('requires result on success and error on failure in outcome items', () => {
    const item = { taskId: 'abc', index: 0, total: 1, attempt: 1, delivery: 1, startedAt: 1, finishedAt: 2 };
    const batch = (i: object): object => ({ v: 2, kind: 'outcomes', from: 'e', items: [i] });
    expect(explain('outcome-batch', batch({ ...item, ok: true, result: 5 }))).toBeUndefined();
    expect(explain('outcome-batch', batch({ ...item, ok: true }))).toBeDefined();
    const error = { code: 'X', message: 'm', retryable: false };
    expect(explain('outcome-batch', batch({ ...item, ok: false, error }))).toBeUndefined();
    expect(explain('outcome-batch', batch({ ...item, ok: false }))).toBeDefined();
  });
  it('accepts fields from a newer version in records and messages, and refuses them in requests', () => {
    const work = {
      v: 2,
      kind: 'work',
      items: [{ taskId: 'a', type: 't', index: 0, total: 1, attempt: 1, input: null, lane: 7 }],
      hint: 'x',
    };
    expect(explain('work-batch', work)).toBeUndefined();
    expect(explain('get-request', { id: 'a', fancy: true })).toMatch(/fancy/);
  });
  it('takes an optional v of 1 or 2 on requests, and refuses messages of another version', () => {
    expect(explain('submit-request', { v: 2, type: 'x' })).toBeUndefined();
    expect(explain('submit-request', { v: 1, type: 'x' })).toBeUndefined();
    expect(explain('submit-request', { v: 3, type: 'x' })).toMatch(/v/);
    let code: unknown;
    try {
      validate('work-batch', { v: 3, kind: 'work', items: [] });
    } catch (err) {
      code = (err as JetschedError).code;
    }
    expect(code).toBe('UNSUPPORTED_VERSION');
  });
  it('says when an integer is out of the safe range', () => {
    expect(explain('get-request', { id: 'a', includeResult: true })).toBeUndefined();
    expect(
      explain('submit-request', {
        type: 'x',
        split: { kind: 'range', start: 0, end: 2n ** 60n, chunkSize: 1 },
      }),
    ).toBeDefined();
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
    expect(canTransition('pending', 'running')).toBe(true);
    expect(canTransition('running', 'pending')).toBe(false);
    expect(canTransition('succeeded', 'failed')).toBe(false);
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
    expect(n.workSubject('gpu', 'p1')).toBe('acme-prod.work.gpu.p1');
    expect(n.consumers.executor('gpu', 'p1')).toBe('acme-prod-exec-gpu-p1');
    expect(n.taskRecordSubject('abc')).toBe('$KV.ACME_PROD_tasks.abc');
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
    // an error from another copy of the package is recognised by its shape
    const foreign = Object.assign(new Error('elsewhere'), { code: 'PAYMENT_DECLINED', retryable: false });
    expect(toErrorRecord(foreign)).toEqual({
      code: 'PAYMENT_DECLINED',
      message: 'elsewhere',
      retryable: false,
    });
  });
});
