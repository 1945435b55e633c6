/**
 * What the views read besides the client SDK's API: the roles' metrics (one request, a reply from
 * every actor) and the executors' adverts (the executors bucket). Replies are checked before use.
 */
import { Empty, type NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { decodeJson, isLive, validate, type ExecutorAdvert, type Names } from '@jetsched/protocol';
import type { MetricsReply } from '../../src/series.js';

export async function readMetrics(nc: NatsConnection, n: Names): Promise<MetricsReply[]> {
  const out: MetricsReply[] = [];
  try {
    const replies = await nc.requestMany(n.metricsSubject(), Empty, {
      strategy: 'stall',
      stall: 300,
      maxWait: 2_000,
    });
    for await (const m of replies) {
      const r = parse(m.data);
      if (isMetricsReply(r)) out.push(r);
    }
  } catch (err) {
    // nobody answered: no role runs
    if (!(err instanceof Error && /no responders/i.test(err.message))) throw err;
  }
  return out;
}

/** The JSON of a message, or undefined when it is not JSON. */
function parse(data: Uint8Array): unknown {
  try {
    return decodeJson(data);
  } catch {
    return undefined;
  }
}

function isMetricsReply(x: unknown): x is MetricsReply {
  if (typeof x !== 'object' || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    typeof r['registry'] === 'string' &&
    typeof r['role'] === 'string' &&
    typeof r['at'] === 'number' &&
    Array.isArray(r['metrics'])
  );
}

/** A live executor, with how long ago it last said so. */
export interface LiveExecutor extends ExecutorAdvert {
  heartbeatAgeMs: number;
  stale: boolean;
}

export async function readExecutors(nc: NatsConnection, n: Names): Promise<LiveExecutor[]> {
  const kv = await new Kvm(nc).open(n.buckets.executors);
  const out: LiveExecutor[] = [];
  const now = Date.now();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (e?.operation !== 'PUT') continue;
    let a: ExecutorAdvert;
    try {
      a = validate('executor-advert', decodeJson(e.value));
    } catch {
      continue; // not an advert this page can read
    }
    out.push({ ...a, heartbeatAgeMs: now - a.at, stale: !isLive(a, now) });
  }
  return out.sort((a, b) => a.group.localeCompare(b.group) || a.id.localeCompare(b.id));
}

/** Groups anything knows of: executors' and the release bucket's (a group that had a releaser). */
export async function readGroups(nc: NatsConnection, n: Names, executors: LiveExecutor[]): Promise<string[]> {
  const groups = new Set(executors.map((e) => e.group));
  const kv = await new Kvm(nc).open(n.buckets.release);
  for await (const key of await kv.keys()) groups.add(key);
  return [...groups].sort();
}

/**
 * Delayed tasks of a group by type, counted by the server: the subjects of the delayed stream under
 * the group (`<p>.delayed.<group>.<type>.<id>`, one task each, or `...<firstId>.<count>` for a
 * shared schedule of `count` tasks). A read of the stream's info, nothing created.
 */
export async function readDelayed(nc: NatsConnection, n: Names, group: string): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(n.streams.delayed, {
    subjects_filter: `${n.prefix}.delayed.${group}.>`,
  });
  const byType = new Map<string, number>();
  const base = n.prefix.split('.').length + 2;
  for (const [subject, messages] of Object.entries(info.state.subjects ?? {})) {
    const t = subject.split('.');
    const type = t[base] ?? '';
    const tasks = t.length === base + 3 ? Number(t[base + 2]) || 1 : messages;
    byType.set(type, (byType.get(type) ?? 0) + tasks);
  }
  return byType;
}
