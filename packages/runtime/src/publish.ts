/**
 * JetStream publishes that carry a dedupe id (`Nats-Msg-Id`) may be retried freely: a copy the
 * server already stored is dropped. A publish issued while the connection is down (a server
 * restart, a failover) times out even though the next one succeeds at once, so retrying here saves
 * a redelivery after a whole ack wait.
 */
import type { JetStreamClient, JetStreamPublishOptions, PubAck } from '@nats-io/jetstream';
import { headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { Header } from '@jetsched/protocol';
import { setTimeout as sleep } from 'node:timers/promises';

/** Room kept free in a message for its headers and envelope fields. */
export const MESSAGE_OVERHEAD_BYTES = 4096;

/** Most bytes a message body may take on this connection's server (its max_payload, less overhead). */
export function maxBodyBytes(nc: NatsConnection): number {
  return (nc.info?.max_payload ?? 1024 * 1024) - MESSAGE_OVERHEAD_BYTES;
}

/** The headers of a work or outcome message: task, type, (first) subtask index and attempt. */
export function subtaskHeaders(taskId: string, type: string, index: number, attempt: number): MsgHdrs {
  const h = headers();
  h.set(Header.TaskId, taskId);
  h.set(Header.TaskType, type);
  h.set(Header.Subtask, String(index));
  h.set(Header.Attempt, String(attempt));
  return h;
}

/** Attempts of a deduped publish. @defaultValue 5 (about 7 s with the backoff below) */
export const DEFAULT_PUBLISH_ATTEMPTS = 5;

export async function publishDeduped(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  opts: Partial<JetStreamPublishOptions> & { msgID: string },
  attempts = DEFAULT_PUBLISH_ATTEMPTS,
): Promise<PubAck> {
  for (let i = 1; ; i++) {
    try {
      return await js.publish(subject, data, { timeout: 2_000, ...opts });
    } catch (err) {
      if (i >= attempts) throw err;
      await sleep(Math.min(2_000, 100 * 2 ** i));
    }
  }
}
