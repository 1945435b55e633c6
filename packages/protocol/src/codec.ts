/**
 * Wire codecs. msgpack by default; JSON wherever a `Content-Type: application/json` header says so,
 * so a person can type a request into `nats req` and a program in any language can take part.
 * Decoding always yields `unknown`: callers validate against a schema before they trust a value.
 *
 * Integers: any msgpack integer encoding (fixint through int 64 / uint 64) decodes to a number when
 * it is a safe integer (a larger one stays a BigInt, which no schema accepts as an integer), and
 * jetsched writes every integer as a msgpack integer (msgpackr is patched so that integers beyond
 * 32 bits, times among them, are not written as float 64; see patches/msgpackr@2.1.3.patch).
 */
import { C1, Packr } from 'msgpackr';
import { ContentType } from './headers.js';
import { ErrorCode, JetschedError } from './errors.js';

// Plain msgpack maps and arrays (no msgpackr records or extensions), so Go, Python or any msgpack
// library can read what we write.
// `int64AsType: 'auto'` (a number when safe, else a BigInt) is supported by msgpackr 2.1 but missing
// from its type declarations.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  int64AsType: 'auto' as 'number',
});
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function contentTypeOf(value: string | undefined | null): ContentType {
  if (!value) return ContentType.MsgPack;
  const v = value.split(';')[0]?.trim().toLowerCase();
  return v === ContentType.Json ? ContentType.Json : ContentType.MsgPack;
}

export function encode(value: unknown, ct: ContentType = ContentType.MsgPack): Uint8Array {
  if (ct === ContentType.Json) return encodeJson(value);
  return packr.pack(value);
}

/** Decodes bytes to an unvalidated value; throws a BAD_ENCODING JetschedError naming the format. */
export function decode(data: Uint8Array, ct: ContentType = ContentType.MsgPack): unknown {
  if (ct === ContentType.Json) {
    let value: unknown;
    try {
      value = JSON.parse(textDecoder.decode(data)) as unknown;
    } catch (err) {
      throw new JetschedError(ErrorCode.BadEncoding, `malformed JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    checkNesting(value, 0);
    return value;
  }
  if (data.length === 0) {
    throw new JetschedError(ErrorCode.BadEncoding, 'malformed msgpack: empty message');
  }
  let value: unknown;
  try {
    // multiple values in one buffer are a framing error for us, not a valid message
    const values = packr.unpackMultiple(data) as unknown[];
    if (values.length !== 1) {
      throw new Error(`expected one msgpack value, found ${values.length}`);
    }
    value = values[0];
  } catch (err) {
    throw new JetschedError(ErrorCode.BadEncoding, `malformed msgpack: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (checkNesting(value, 0)) {
    throw new JetschedError(ErrorCode.BadEncoding, 'malformed msgpack: reserved byte 0xc1');
  }
  return value;
}

// BigInts have no JSON form; they are written as plain (arbitrary precision) JSON numbers, which is
// what they are. The marker is a string no JSON text can otherwise contain unescaped.
const BIGINT_MARK = '\u0000bigint:';
const BIGINT_RE = /"\\u0000bigint:(-?\d+)"/g;

/** JSON for people and other languages: records read with `nats kv get`, JSON API replies. */
export function encodeJson(value: unknown): Uint8Array {
  // the common case has no BigInt, and a replacer function makes JSON.stringify several times slower
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    return encodeJsonWithBigInts(value);
  }
  return textEncoder.encode(text);
}

function encodeJsonWithBigInts(value: unknown): Uint8Array {
  let sawBigInt = false;
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    sawBigInt = true;
    return `${BIGINT_MARK}${v.toString()}`;
  });
  return textEncoder.encode(sawBigInt ? text.replace(BIGINT_RE, '$1') : text);
}

export function decodeJson(data: Uint8Array): unknown {
  return decode(data, ContentType.Json);
}

/**
 * A msgpack message built from items encoded one by one: `{ ...head, [key]: [item, item, ...] }`.
 * Packing work and outcome messages this way measures each item once, so a message is filled up
 * to the server's max_payload exactly, without encoding anything twice.
 */
export function packWithItems(
  head: Record<string, unknown>,
  key: string,
  items: readonly Uint8Array[],
): Uint8Array {
  const fields = Object.entries(head).filter(([, v]) => v !== undefined);
  const parts: Uint8Array[] = [mapHeader(fields.length + 1)];
  for (const [k, v] of fields) parts.push(packr.pack(k), packr.pack(v));
  parts.push(packr.pack(key), arrayHeader(items.length), ...items);
  return Buffer.concat(parts);
}

/** A msgpack map built from values encoded already: `{ [key]: value, ... }` without encoding them again. */
export function packMap(entries: readonly (readonly [string, Uint8Array])[]): Uint8Array {
  const parts: Uint8Array[] = [mapHeader(entries.length)];
  for (const [k, v] of entries) parts.push(packr.pack(k), v);
  return Buffer.concat(parts);
}

/** Size of the message {@link packWithItems} builds, less the items themselves. */
export function packedOverhead(head: Record<string, unknown>, key: string, count: number): number {
  let n = mapHeader(Object.keys(head).length + 1).length + packr.pack(key).length + arrayHeader(count).length;
  for (const [k, v] of Object.entries(head))
    if (v !== undefined) n += packr.pack(k).length + packr.pack(v).length;
  return n;
}

function mapHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x80 | n);
  return Uint8Array.of(0xde, n >> 8, n & 0xff);
}

function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(0x90 | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >> 8, n & 0xff);
  return Uint8Array.of(0xdd, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/**
 * Values nested deeper than this (arrays and maps within each other) are refused with `BAD_REQUEST`
 * wherever a message is decoded: nothing downstream has to survive a value 5,000 levels deep.
 */
export const MAX_NESTING = 100;

/**
 * Walks a decoded value: throws `BAD_REQUEST` when it nests deeper than {@link MAX_NESTING}, and
 * returns true when it holds the never-used msgpack byte 0xc1 (msgpackr decodes it to a marker
 * object instead of failing; we reject it).
 */
function checkNesting(v: unknown, depth: number): boolean {
  if (v === C1) return true;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false;
  if (depth >= MAX_NESTING) {
    throw new JetschedError(ErrorCode.BadRequest, `a value is nested more than ${MAX_NESTING} levels deep`);
  }
  if (Array.isArray(v)) return v.some((x) => checkNesting(x, depth + 1));
  for (const k in v) if (checkNesting((v as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}
