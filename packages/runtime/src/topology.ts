/**
 * Binding a role to a provisioned layout: read the manifest `provision` wrote, check every stream,
 * bucket and shared consumer against it, and return handles on them. A role never creates or
 * changes any of them (./provision.ts does); it refuses to start, naming what is wrong, when the
 * layout is missing, of another version, or differs.
 */
import {
  JetStreamApiError,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  DEFAULT_PREFIX,
  decodeJson,
  ErrorCode,
  JetschedError,
  names,
  validate,
  type Names,
  type TopologyManifest,
} from '@jetsched/protocol';
import { MANIFEST_KEY } from './provision.js';
import { metricsOf, type Metrics } from './metrics.js';
import { Publisher } from './publisher.js';
import { decodeKeys, Signer, SIGNING_KEYS_KEY } from './signing.js';
import { retryTransient } from './transient.js';
import { consumerDifferences, consumerSpecs, streamSpecs, TOPOLOGY_LAYOUT } from './topology-spec.js';

/** Handles on every resource of a provisioned layout, for one connection. */
export interface Topology {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly manifest: TopologyManifest;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly kv: {
    /** Task records, and beside them subtask records and results (see Names.buckets.tasks). */
    readonly tasks: KV;
    readonly idempotency: KV;
    readonly executors: KV;
    readonly config: KV;
    /** Each group's release state (ADR 0018). */
    readonly release: KV;
  };
  /** Windowed publishes with acks, shared by everything the role writes. */
  readonly publisher: Publisher;
  /** Signs and verifies hand-offs with the cluster's keys. */
  readonly signer: Signer;
  /** The claim-check object store for large payloads and results, opened on first use. */
  payloads(): Promise<ObjectStore>;
  /** The role's Prometheus metrics (./metrics.ts). */
  readonly metrics: Metrics;
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

/** What to run `provision` with, in an error message. */
function hint(prefix: string): string {
  return prefix === DEFAULT_PREFIX
    ? 'run `jetsched provision`'
    : `run \`jetsched provision --prefix ${prefix}\``;
}

/** Reads the manifest of `prefix`, or throws NOT_PROVISIONED saying what to run. */
export async function readManifest(nc: NatsConnection, prefix: string): Promise<TopologyManifest> {
  const n = names(prefix);
  const jsm = await retryTransient(() => jetstreamManager(nc), 20);
  let entry;
  try {
    await retryTransient(() => jsm.streams.info(`KV_${n.buckets.config}`), 20);
    const kv = await new Kvm(nc).open(n.buckets.config);
    entry = await retryTransient(() => kv.get(MANIFEST_KEY), 20);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)) throw err;
  }
  if (!entry || entry.operation !== 'PUT') {
    throw new JetschedError(
      ErrorCode.NotProvisioned,
      `jetsched is not provisioned under prefix "${prefix}" on this NATS server: ${hint(prefix)} first`,
    );
  }
  const raw = decodeJson(entry.value) as { layout?: unknown };
  if (raw.layout !== TOPOLOGY_LAYOUT) {
    throw new JetschedError(
      ErrorCode.NotProvisioned,
      `prefix "${prefix}" is provisioned with layout ${String(raw.layout)}; this jetsched needs layout ${TOPOLOGY_LAYOUT}: ${hint(prefix)}`,
    );
  }
  return validate('topology-manifest', raw);
}

/**
 * Checks the layout of `prefix` against its manifest and returns handles on it. Throws
 * NOT_PROVISIONED listing every stream or consumer that is missing or differs.
 */
export async function bindTopology(
  nc: NatsConnection,
  prefix: string = DEFAULT_PREFIX,
  metrics: Metrics = metricsOf(),
): Promise<Topology> {
  const manifest = await readManifest(nc, prefix);
  const n = names(prefix);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const problems: string[] = [];
  await Promise.all(
    streamSpecs(n, manifest).map(async (spec) => {
      try {
        const { config } = await retryTransient(() => jsm.streams.info(spec.name), 20);
        if (spec.retention !== undefined && config.retention !== spec.retention) {
          problems.push(`stream ${spec.name} has retention ${config.retention}, expected ${spec.retention}`);
        }
        const missing = spec.subjects.filter((s) => !config.subjects.includes(s));
        if (missing.length > 0) problems.push(`stream ${spec.name} lacks subjects ${missing.join(', ')}`);
        if (
          spec.republish &&
          (config.republish?.dest !== spec.republish.dest || config.republish.src !== spec.republish.src)
        ) {
          problems.push(
            `stream ${spec.name} does not republish ${spec.republish.src} to ${spec.republish.dest}`,
          );
        }
      } catch (err) {
        if (err instanceof JetStreamApiError && err.code === STREAM_NOT_FOUND)
          problems.push(`stream ${spec.name} is missing`);
        else throw err;
      }
    }),
  );
  await Promise.all(
    consumerSpecs(n, manifest).map(async ({ stream, config }) => {
      try {
        const info = await retryTransient(() => jsm.consumers.info(stream, config.durable_name), 20);
        // the last-delivery paths count on max_deliver being what the manifest says
        const differs = consumerDifferences(info.config, config);
        if (differs.length > 0)
          problems.push(`consumer ${config.durable_name} on ${stream} differs in ${differs.join(', ')}`);
      } catch (err) {
        if (
          err instanceof JetStreamApiError &&
          (err.code === CONSUMER_NOT_FOUND || err.code === STREAM_NOT_FOUND)
        ) {
          problems.push(`consumer ${config.durable_name} on ${stream} is missing`);
        } else throw err;
      }
    }),
  );
  if (problems.length > 0) {
    throw new JetschedError(
      ErrorCode.NotProvisioned,
      `the layout of prefix "${prefix}" differs from its manifest (${problems.join('; ')}): ${hint(prefix)}`,
      { details: { problems } },
    );
  }
  const kvm = new Kvm(js);
  const open = (b: string): Promise<KV> => kvm.open(b);
  const [tasks, idempotency, executors, config, release] = await Promise.all([
    open(n.buckets.tasks),
    open(n.buckets.idempotency),
    open(n.buckets.executors),
    open(n.buckets.config),
    open(n.buckets.release),
  ]);
  const keys = await retryTransient(() => config.get(SIGNING_KEYS_KEY), 20);
  if (!keys || keys.operation !== 'PUT') {
    throw new JetschedError(
      ErrorCode.NotProvisioned,
      `prefix "${prefix}" has no signing key: ${hint(prefix)}`,
    );
  }
  const signer = new Signer(decodeKeys(keys.value));
  let payloads: Promise<ObjectStore> | undefined;
  return {
    nc,
    names: n,
    manifest,
    js,
    jsm,
    kv: { tasks, idempotency, executors, config, release },
    publisher: new Publisher(nc),
    signer,
    payloads: () => (payloads ??= new Objm(js).open(n.buckets.payloads)),
    metrics,
  };
}
