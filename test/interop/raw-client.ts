/**
 * A jetsched participant written from docs/protocol.md alone, as a program in another language
 * would be: a plain NATS client and a standard msgpack library (@msgpack/msgpack, which writes
 * BigInts as int 64 / uint 64), JSON where a person or a script would use it. It imports nothing
 * from jetsched: this file is the conformance check that the protocol document is enough.
 */
import { decode, encode } from '@msgpack/msgpack';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';

/** Names per docs/protocol.md, for a prefix. */
export function protocolNames(prefix: string) {
  const P = prefix.toUpperCase().replace(/-/g, '_');
  return {
    submit: `${prefix}.api.task.submit`,
    wait: `${prefix}.api.task.wait`,
    claim: `${prefix}.api.subtask.claim`,
    work: `${P}_WORK`,
    workSubject: (group: string, profile: string) => `${prefix}.work.${group}.${profile}`,
    consumer: (group: string, profile: string) => `${prefix}-exec-${group}-${profile}`,
    outcomes: (group: string) => `${prefix}.outcomes.${group}`,
    advert: (group: string, id: string) => `$KV.${P}_executors.${group}.${id}`,
    config: `${P}_config`,
    /** Task records (`<taskId>`), subtask records (`<taskId>.<index>`) and results (`<taskId>.result`). */
    tasks: `${P}_tasks`,
    dlq: `${P}_DLQ`,
  };
}

/** msgpack with every integer as a 64-bit integer (the way many libraries write them). */
export function packInt64(value: unknown): Uint8Array {
  return encode(toBigInts(value), { useBigInt64: true });
}

function toBigInts(v: unknown): unknown {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(toBigInts);
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toBigInts(x)]));
  }
  return v;
}

/** msgpack read back with 64-bit integers as BigInts: a float 64 stays a number, so types tell. */
export function unpack(data: Uint8Array): unknown {
  return decode(data, { useBigInt64: true });
}

export function jsonHeaders() {
  const h = headers();
  h.set('Content-Type', 'application/json');
  return h;
}

export async function requestJson(
  nc: NatsConnection,
  subject: string,
  body: unknown,
): Promise<{ text: string; value: Record<string, unknown> }> {
  const m = await nc.request(subject, JSON.stringify(body), { timeout: 10_000, headers: jsonHeaders() });
  return { text: m.string(), value: JSON.parse(m.string()) as Record<string, unknown> };
}

interface WorkItem {
  taskId: string;
  type: string;
  index: number;
  total: number;
  attempt: number;
  input: unknown;
  /** The attempt's token, which the outcome carries back. */
  token?: string;
}

/**
 * An executor per docs/protocol.md ("Serving as an executor from another language"): advertise,
 * bind the profile's consumer, pull, run, publish outcomes (`asJson` picks the encoding per item),
 * ack. Returns the items it ran.
 */
export async function runRawExecutor(
  nc: NatsConnection,
  prefix: string,
  opts: {
    group: string;
    profile: string;
    types: string[];
    run: (input: unknown) => unknown;
    asJson: (index: number) => boolean;
    count: number;
  },
): Promise<WorkItem[]> {
  const n = protocolNames(prefix);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const id = 'raw-exec-1';
  // the work settings of the consumer come from the topology manifest
  const manifest = JSON.parse(
    (await jsm.streams.getMessage(`KV_${n.config}`, { last_by_subj: `$KV.${n.config}.topology` }))!.string(),
  ) as {
    consumers: { work: { ackWaitMs: number; maxDeliver: number; maxAckPending: number } };
  };
  const w = manifest.consumers.work;
  await jsm.consumers.add(n.work, {
    durable_name: n.consumer(opts.group, opts.profile),
    filter_subject: n.workSubject(opts.group, opts.profile),
    ack_policy: AckPolicy.Explicit,
    ack_wait: w.ackWaitMs * 1_000_000,
    max_deliver: w.maxDeliver,
    max_ack_pending: w.maxAckPending,
  });
  const advert = {
    v: 2,
    id,
    group: opts.group,
    profile: opts.profile,
    types: opts.types,
    concurrency: 4,
    running: 0,
    heartbeatMs: 2000,
    host: 'raw',
    pid: 1,
    startedAt: Date.now(),
    at: Date.now(),
  };
  const beat = setInterval(
    () => void js.publish(n.advert(opts.group, id), JSON.stringify({ ...advert, at: Date.now() })),
    1_000,
  );
  await js.publish(n.advert(opts.group, id), JSON.stringify(advert));
  const ran: WorkItem[] = [];
  try {
    const consumer = await js.consumers.get(n.work, n.consumer(opts.group, opts.profile));
    while (ran.length < opts.count) {
      const batch = await consumer.fetch({ max_messages: 4, expires: 2_000 });
      for await (const m of batch) {
        const work = unpack(m.data) as { v: bigint | number; kind: string; items: WorkItem[] };
        if (Number(work.v) !== 2 || work.kind !== 'work')
          throw new Error(`unexpected work message ${JSON.stringify(work.kind)}`);
        for (const it of work.items) {
          const startedAt = Date.now();
          const outcome = {
            taskId: it.taskId,
            index: Number(it.index),
            total: Number(it.total),
            attempt: Number(it.attempt),
            delivery: m.info.deliveryCount,
            ok: true,
            result: opts.run(it.input),
            startedAt,
            finishedAt: Date.now(),
            // the work item's attempt token, back as it came
            token: it.token,
          };
          const body = { v: 2, kind: 'outcomes', from: id, items: [outcome] };
          if (opts.asJson(outcome.index)) {
            await js.publish(n.outcomes(opts.group), JSON.stringify(body), { headers: jsonHeaders() });
          } else {
            await js.publish(n.outcomes(opts.group), packInt64(body));
          }
          ran.push(it);
        }
        m.ack();
      }
    }
  } finally {
    clearInterval(beat);
  }
  return ran;
}
