/**
 * Dead letters: a message an actor cannot process is recorded with its reason on
 * `<prefix>.dlq.<source>` (kept in the DLQ stream) and then terminated, so it is never redelivered
 * and never lost silently.
 */
import type { Msg } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode, WIRE_VERSION, type DeadLetter, type ErrorRecord } from '@jetsched/protocol';
import type { Topology } from './topology.js';

function headerRecord(msg: Msg | JsMsg): Record<string, string[]> | undefined {
  const h = msg.headers;
  if (!h) return undefined;
  const out: Record<string, string[]> = {};
  for (const k of h.keys()) out[k] = h.values(k);
  return out;
}

/** Writes a dead-letter record. Never throws: a failure to dead-letter is logged. */
export async function deadLetter(
  topo: Topology,
  log: Logger,
  source: string,
  actor: string,
  msg: Msg | JsMsg,
  reason: ErrorRecord,
): Promise<void> {
  const rec: DeadLetter = {
    v: WIRE_VERSION,
    kind: 'dead-letter',
    source,
    subject: msg.subject,
    reason,
    actor,
    at: Date.now(),
    data: msg.data,
  };
  const headers = headerRecord(msg);
  if (headers) rec.headers = headers;
  log.warn({ source, subject: msg.subject, reason }, 'dead-lettered a message');
  try {
    await topo.js.publish(topo.names.dlqSubject(source), encode(rec));
  } catch (err) {
    log.error({ err, source, subject: msg.subject }, 'could not write a dead letter');
  }
}

/**
 * Gives up on a stream message that can never be processed: dead-letters it with the reason, then
 * terminates it so JetStream does not redeliver it.
 */
export async function rejectMessage(
  topo: Topology,
  log: Logger,
  source: string,
  actor: string,
  msg: JsMsg,
  reason: ErrorRecord,
): Promise<void> {
  await deadLetter(topo, log, source, actor, msg, reason);
  msg.term(reason.message);
}
