/**
 * Wire codecs. msgpack by default; JSON wherever a `Content-Type: application/json` header says so,
 * so a person can type a request into `nats req`. Decoding always yields `unknown`: callers validate
 * against a schema before they trust a value.
 */
import { C1, Packr } from 'msgpackr';
import { ContentType } from './headers.js';
import { ErrorCode, JetschedError } from './errors.js';

// Plain msgpack maps and arrays (no msgpackr records), so Go, Python or any msgpack library can read
// what we write.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function contentTypeOf(value: string | undefined | null): ContentType {
  if (!value) return ContentType.MsgPack;
  const v = value.split(';')[0]?.trim().toLowerCase();
  return v === ContentType.Json ? ContentType.Json : ContentType.MsgPack;
}

export function encode(value: unknown, ct: ContentType = ContentType.MsgPack): Uint8Array {
  if (ct === ContentType.Json) return textEncoder.encode(JSON.stringify(value));
  return packr.pack(value);
}

/** Decodes bytes to an unvalidated value; throws a BAD_ENCODING JetschedError naming the format. */
export function decode(data: Uint8Array, ct: ContentType = ContentType.MsgPack): unknown {
  if (ct === ContentType.Json) {
    let text: string;
    try {
      text = textDecoder.decode(data);
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new JetschedError(ErrorCode.BadEncoding, `malformed JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (data.length === 0) {
    throw new JetschedError(ErrorCode.BadEncoding, 'malformed msgpack: empty message');
  }
  try {
    // multiple values in one buffer are a framing error for us, not a valid message
    const values = packr.unpackMultiple(data) as unknown[];
    if (values.length !== 1) {
      throw new Error(`expected one msgpack value, found ${values.length}`);
    }
    if (containsReserved(values[0])) throw new Error('reserved byte 0xc1');
    return values[0];
  } catch (err) {
    throw new JetschedError(ErrorCode.BadEncoding, `malformed msgpack: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** JSON for stored records meant to be read with `nats kv get`. */
export function encodeJson(value: unknown): Uint8Array {
  return textEncoder.encode(JSON.stringify(value));
}

export function decodeJson(data: Uint8Array): unknown {
  return decode(data, ContentType.Json);
}

/** msgpackr decodes the never-used byte 0xc1 to a marker object instead of failing; we reject it. */
function containsReserved(v: unknown): boolean {
  if (v === C1) return true;
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return false;
  if (Array.isArray(v)) return v.some(containsReserved);
  for (const k in v) if (containsReserved((v as Record<string, unknown>)[k])) return true;
  return false;
}
