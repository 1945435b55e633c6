/** Reads every dead letter of a prefix from its DLQ stream. */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { decode, names, type DeadLetter } from '@jetsched/protocol';

export async function deadLetters(nc: NatsConnection, prefix: string): Promise<DeadLetter[]> {
  const n = names(prefix);
  const info = await (await jetstreamManager(nc)).streams.info(n.streams.dlq);
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(n.streams.dlq, { deliver_policy: DeliverPolicy.All });
  const out: DeadLetter[] = [];
  const msgs = await consumer.consume();
  for await (const m of msgs) {
    out.push(decode(m.data) as DeadLetter);
    if (m.info.pending === 0) break;
  }
  msgs.stop();
  return out;
}
