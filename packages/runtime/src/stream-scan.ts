/**
 * One-pass reads of the latest value of every key under a filter, with an ordered consumer on a
 * KV bucket's stream (deliver last-per-subject). Used for listings and for gathering a task's
 * subtask results in one round of messages instead of a get per key.
 */
import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';

export interface ScannedEntry {
  /** The subject's part after the prefix, i.e. the KV key. */
  key: string;
  data: Uint8Array;
}

/**
 * Yields the last stored value for each KV key in `bucket` matching `keyFilter` (deletes and purges
 * are skipped). Ends when the consumer has no more pending messages.
 */
export async function* scanBucket(
  js: JetStreamClient,
  bucket: string,
  keyFilter = '>',
): AsyncGenerator<ScannedEntry> {
  const stream = `KV_${bucket}`;
  const subjectPrefix = `$KV.${bucket}.`;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: `${subjectPrefix}${keyFilter}`,
    deliver_policy: DeliverPolicy.LastPerSubject,
  });
  const info = await consumer.info(true);
  if (info.num_pending === 0) return;
  const messages = await consumer.consume({ max_messages: 1000 });
  try {
    for await (const m of messages) {
      const op = m.headers?.get('KV-Operation');
      if (!op && m.data.length > 0) yield { key: m.subject.slice(subjectPrefix.length), data: m.data };
      if (m.info.pending === 0) break;
    }
  } finally {
    messages.stop();
  }
}
