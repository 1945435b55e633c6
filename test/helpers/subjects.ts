/**
 * What is published on a subject, as it happens: a core subscription also sees every message
 * published to a stream's subjects, so a test can look at hand-offs, hand-backs and work messages
 * without consuming them.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { ContentType, decode } from '@jetsched/protocol';

export interface Seen {
  subject: string;
  body: unknown;
}

export interface Watch {
  /** Every message seen so far, decoded (msgpack, or JSON by its content type). */
  readonly seen: Seen[];
  stop(): void;
}

export async function watchSubject(nc: NatsConnection, subject: string): Promise<Watch> {
  const seen: Seen[] = [];
  const sub = nc.subscribe(subject, {
    callback: (err, m) => {
      if (err) return;
      const json = m.headers?.get('Content-Type') === ContentType.Json;
      seen.push({ subject: m.subject, body: decode(m.data, json ? ContentType.Json : ContentType.MsgPack) });
    },
  });
  await nc.flush();
  return { seen, stop: () => sub.unsubscribe() };
}
