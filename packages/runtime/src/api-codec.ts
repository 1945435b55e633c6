/**
 * Request/reply framing shared by the coordinator (server side) and the client SDK: the reply uses
 * the request's content type, so a JSON request from `nats req` gets a JSON reply.
 */
import { headers, type Msg, type MsgHdrs } from '@nats-io/nats-core';
import {
  contentTypeOf,
  type ContentType,
  decode,
  encode,
  Header,
  toErrorRecord,
  ErrorCode,
  type ApiReply,
  type ErrorRecord,
} from '@jetsched/protocol';

export function contentHeaders(ct: ContentType, extra: Record<string, string> = {}): MsgHdrs {
  const h = headers();
  h.set(Header.ContentType, ct);
  for (const [k, v] of Object.entries(extra)) h.set(k, v);
  return h;
}

/** Content type of a message from its header (msgpack when absent). */
export function msgContentType(msg: { headers?: MsgHdrs | undefined }): ContentType {
  return contentTypeOf(msg.headers?.get(Header.ContentType));
}

/** Decodes a message body by its content type; throws BAD_ENCODING. */
export function decodeMsg(msg: { data: Uint8Array; headers?: MsgHdrs | undefined }): unknown {
  return decode(msg.data, msgContentType(msg));
}

export function replyOk<T extends object>(msg: Msg, body: T, ct: ContentType): void {
  msg.respond(encode({ ok: true, ...body }, ct), { headers: contentHeaders(ct) });
}

export function replyError(msg: Msg, error: unknown, ct: ContentType): void {
  const rec = isErrorRecord(error) ? error : toErrorRecord(error, ErrorCode.Internal);
  const reply: ApiReply<object> = { ok: false, error: rec };
  msg.respond(encode(reply, ct), { headers: contentHeaders(ct) });
}

function isErrorRecord(v: unknown): v is ErrorRecord {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ErrorRecord).code === 'string' &&
    typeof (v as ErrorRecord).message === 'string' &&
    typeof (v as ErrorRecord).retryable === 'boolean' &&
    !(v instanceof Error)
  );
}
