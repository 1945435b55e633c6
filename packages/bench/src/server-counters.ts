/**
 * What the nats-server did, from its own counters: messages received and sent (`/varz`), and
 * messages stored in each stream of the account (the last sequence of every stream, KV buckets and
 * object stores included). Differences between two readings are what a scenario cost the server.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsServer } from '@jetsched/testkit';

export interface ServerCounters {
  inMsgs: number;
  outMsgs: number;
  /** Messages ever stored, summed over streams. */
  stored: number;
  byStream: Map<string, number>;
}

export async function serverCounters(server: NatsServer, nc: NatsConnection): Promise<ServerCounters> {
  if (!server.monitorUrl) throw new Error('the bench server runs without monitoring');
  const varz = (await (await fetch(`${server.monitorUrl}/varz`)).json()) as {
    in_msgs: number;
    out_msgs: number;
  };
  const jsm = await jetstreamManager(nc);
  const byStream = new Map<string, number>();
  for await (const s of jsm.streams.list()) byStream.set(s.config.name, s.state.last_seq);
  return {
    inMsgs: varz.in_msgs,
    outMsgs: varz.out_msgs,
    stored: [...byStream.values()].reduce((a, b) => a + b, 0),
    byStream,
  };
}
