/**
 * `jetsched provision`: the one step that creates and updates streams, buckets and shared consumers,
 * and writes the topology manifest the roles read. Roles never change the layout; they check it at
 * start and refuse to run when it is missing or differs (./topology.ts).
 *
 * Running it again is safe: what exists is updated in place where JetStream allows, never deleted,
 * and a stream's replicas are never lowered.
 */
import {
  JetStreamApiError,
  jetstreamManager,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  decodeJson,
  DEFAULT_PREFIX,
  encodeJson,
  names,
  validate,
  type ConsumerRole,
  type Names,
  type TopologyManifest,
} from '@jetsched/protocol';
import { decodeKeys, encodeKeys, newSigningKey, SIGNING_KEYS_KEY } from './signing.js';
import { retryTransient } from './transient.js';
import {
  consumerSettings,
  consumerSpecs,
  manifestFor,
  streamSpecs,
  type ConsumerSpec,
  type StreamSpec,
  type TopologyOptions,
} from './topology-spec.js';

/** Key of the manifest in the config bucket. */
export const MANIFEST_KEY = 'topology';

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

export interface ProvisionResult {
  manifest: TopologyManifest;
  /** What was created or changed, one line each (empty when everything was in place). */
  changes: string[];
}

/**
 * Creates or updates the whole layout of `opts.prefix` and writes its manifest. A setting not given
 * keeps what the layout was provisioned with before (defaults only for a new layout), so running it
 * again with one flag changes that one setting.
 */
export async function provision(
  nc: NatsConnection,
  opts: TopologyOptions & { rotateKey?: boolean } = {},
): Promise<ProvisionResult> {
  const jsm = await retryTransient(() => jetstreamManager(nc), 20);
  const prior = await priorManifest(jsm, names(opts.prefix ?? DEFAULT_PREFIX));
  let manifest = manifestFor(
    prior ? { ...optionsOf(prior), ...opts, consumers: mergeConsumers(prior, opts) } : opts,
  );
  const n = names(manifest.prefix);
  const changes: string[] = [];
  const specs = streamSpecs(n, manifest);
  // never lower replicas: a layout provisioned at R3 stays R3 when provisioned again without --replicas
  for (const spec of specs) {
    const cur = await streamInfo(jsm, spec.name);
    if (cur && cur.num_replicas > manifest.replicas) manifest = { ...manifest, replicas: cur.num_replicas };
  }
  for (const spec of streamSpecs(n, manifest)) await ensureStream(jsm, spec, changes);
  for (const c of consumerSpecs(n, manifest)) await ensureConsumer(jsm, c.stream, c.config, changes);
  await updateExecutorConsumers(jsm, n, manifest, changes);
  const kv = await new Kvm(nc).open(n.buckets.config);
  // the signing key is made once; provisioning again keeps it (unless asked to rotate)
  const keys = await kv.get(SIGNING_KEYS_KEY);
  if (!keys || keys.operation !== 'PUT') {
    await kv.put(SIGNING_KEYS_KEY, encodeKeys({ v: 2, keys: [newSigningKey()] }));
    changes.push('created the signing key');
  } else if (opts.rotateKey) {
    const current = decodeKeys(keys.value);
    await kv.put(
      SIGNING_KEYS_KEY,
      encodeKeys({ v: 2, keys: [newSigningKey(), ...current.keys].slice(0, 2) }),
    );
    changes.push('rotated the signing key (the previous one still verifies until the next rotation)');
  }
  await kv.put(MANIFEST_KEY, encodeJson(manifest));
  return { manifest, changes };
}

/** The manifest this prefix was provisioned with, if any (an unreadable one counts as none). */
async function priorManifest(jsm: JetStreamManager, n: Names): Promise<TopologyManifest | undefined> {
  try {
    const m = await retryTransient(
      () =>
        jsm.streams.getMessage(`KV_${n.buckets.config}`, {
          last_by_subj: `$KV.${n.buckets.config}.${MANIFEST_KEY}`,
        }),
      20,
    );
    return m && m.data.length > 0 ? validate('topology-manifest', decodeJson(m.data)) : undefined;
  } catch {
    return undefined;
  }
}

/** The options a manifest was made from. */
function optionsOf(m: TopologyManifest): TopologyOptions {
  return {
    prefix: m.prefix,
    replicas: m.replicas,
    taskRetentionMs: m.taskRetentionMs,
    stopRetentionMs: m.stopRetentionMs,
    dlqRetentionMs: m.dlqRetentionMs,
  };
}

/** Each consumer's settings: what is given now over what was provisioned before. */
function mergeConsumers(
  prior: TopologyManifest,
  opts: TopologyOptions,
): NonNullable<TopologyOptions['consumers']> {
  const out: NonNullable<TopologyOptions['consumers']> = {};
  for (const role of Object.keys(prior.consumers) as ConsumerRole[]) {
    out[role] = { ...prior.consumers[role], ...(opts.consumers?.[role] ?? {}) };
  }
  return { ...(opts.consumers ?? {}), ...out };
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await retryTransient(() => jsm.streams.info(name), 20)).config;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND) return undefined;
    throw err;
  }
}

async function ensureStream(jsm: JetStreamManager, spec: StreamSpec, changes: string[]): Promise<void> {
  const cur = await streamInfo(jsm, spec.name);
  if (!cur) {
    await retryTransient(() => jsm.streams.add(spec), 20);
    changes.push(`created stream ${spec.name}`);
    return;
  }
  if (spec.retention !== undefined && cur.retention !== spec.retention) {
    throw new Error(
      `stream ${spec.name} has retention ${cur.retention}, the layout needs ${spec.retention}; ` +
        'JetStream cannot change it in place: move the data off and delete the stream first',
    );
  }
  const differs = Object.entries(spec).filter(
    ([k, v]) =>
      k !== 'name' &&
      JSON.stringify(normalize(k, (cur as unknown as Record<string, unknown>)[k])) !==
        JSON.stringify(normalize(k, v)),
  );
  if (differs.length === 0) return;
  await retryTransient(() => jsm.streams.update(spec.name, { ...cur, ...spec }), 20);
  changes.push(`updated stream ${spec.name}: ${differs.map(([k]) => k).join(', ')}`);
}

/** A setting as compared: subject lists in order, and objects without the fields the server leaves out when false. */
function normalize(key: string, v: unknown): unknown {
  if (key === 'subjects' && Array.isArray(v)) return [...(v as string[])].sort();
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== false && x !== undefined && x !== null)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  }
  return v ?? null;
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  spec: ConsumerSpec,
  changes: string[],
): Promise<void> {
  let cur: ConsumerInfo | undefined;
  try {
    cur = await retryTransient(() => jsm.consumers.info(stream, spec.durable_name), 20);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
  }
  if (!cur) {
    await retryTransient(() => jsm.consumers.add(stream, spec), 20);
    changes.push(`created consumer ${stream} ${spec.durable_name}`);
    return;
  }
  const differs = Object.entries(spec).filter(
    ([k, v]) =>
      JSON.stringify((cur.config as unknown as Record<string, unknown>)[k] ?? null) !==
      JSON.stringify(v ?? null),
  );
  if (differs.length === 0) return;
  await retryTransient(() => jsm.consumers.update(stream, spec.durable_name, spec), 20);
  changes.push(`updated consumer ${stream} ${spec.durable_name}: ${differs.map(([k]) => k).join(', ')}`);
}

/** Executors create their profile's consumer; a new provisioning brings existing ones in line. */
async function updateExecutorConsumers(
  jsm: JetStreamManager,
  n: Names,
  m: TopologyManifest,
  changes: string[],
): Promise<void> {
  const settings = consumerSettings(m, 'work');
  for await (const info of jsm.consumers.list(n.streams.work)) {
    const name = info.config.durable_name ?? info.name;
    if (!name.startsWith(`${n.prefix}-exec-`)) continue;
    await ensureConsumer(jsm, n.streams.work, { ...settings, durable_name: name }, changes);
  }
}
