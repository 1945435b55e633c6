/**
 * Dead letters: a message an actor cannot process is recorded with its reason on
 * `<prefix>.dlq.<source>` (kept in the DLQ stream), and the original is terminated so that it is
 * never redelivered and never lost silently. A message is dead-lettered at once when it can never
 * be processed (it does not decode or validate), and on its last delivery when processing kept
 * failing (the consumer's max_deliver).
 */
import type { Msg } from '@nats-io/transport-node';
import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { encode, WIRE_VERSION, type DeadLetter, type ErrorRecord } from '@jetsched/protocol';
import type { Topology } from './topology.js';

function headerRecord(msg: DeadMessage): Record<string, string[]> | undefined {
  const h = msg.headers;
  if (!h) return undefined;
  const out: Record<string, string[]> = {};
  for (const k of h.keys()) out[k] = h.values(k);
  return out;
}

/**
 * What a dead letter keeps of the original: a message, or part of one (some items of a batch, with
 * the deliveries of the message they came in).
 */
export type DeadMessage =
  Msg | JsMsg | { subject: string; data: Uint8Array; headers?: undefined; deliveries?: number };

/** Writes a dead-letter record. Never throws: a failure to dead-letter is logged. */
export async function deadLetter(
  topo: Topology,
  log: Logger,
  source: string,
  actor: string,
  msg: DeadMessage,
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
  if ('info' in msg && typeof msg.info === 'object') rec.deliveries = msg.info.deliveryCount;
  else if ('deliveries' in msg && msg.deliveries !== undefined) rec.deliveries = msg.deliveries;
  const headers = headerRecord(msg);
  if (headers) rec.headers = headers;
  log.warn({ source, subject: msg.subject, reason, deliveries: rec.deliveries }, 'dead-lettered a message');
  const r = await topo.publisher.publish({ subject: topo.names.dlqSubject(source), data: encode(rec) });
  if (!r.ok) log.error({ err: r.error, source, subject: msg.subject }, 'could not write a dead letter');
  else topo.metrics.deadLettered.inc({ source });
}

/**
 * Gives up on a stream message: dead-letters it with the reason, then terminates it so that
 * JetStream does not deliver it again. `then` runs between the two (failing the tasks the message
 * names): whoever sees such a task failed finds its dead letter written already. The message is
 * terminated even when `then` throws (the error is passed on).
 */
export async function rejectMessage(
  topo: Topology,
  log: Logger,
  source: string,
  actor: string,
  msg: JsMsg,
  reason: ErrorRecord,
  then?: () => Promise<void>,
): Promise<void> {
  await deadLetter(topo, log, source, actor, msg, reason);
  try {
    await then?.();
  } finally {
    msg.term(reason.message.slice(0, 200));
  }
}

/** True when this is the last delivery its consumer allows: give the message up now, or never. */
export function isLastDelivery(msg: JsMsg, maxDeliver: number): boolean {
  return msg.info.deliveryCount >= maxDeliver;
}
