/**
 * `jetsched provision`: creates or updates every stream, bucket and shared consumer of a prefix and
 * writes the topology manifest the roles check at start. Run it once per cluster and again after an
 * upgrade; it is safe to repeat and never lowers a stream's replicas.
 */
import { connectNats, provision, type TopologyOptions } from '@jetsched/runtime';
import type { ConsumerRole } from '@jetsched/protocol';
import { common, int, parse } from '../args.js';

export const provisionOptions = {
  replicas: { type: 'string' },
  'task-retention-ms': { type: 'string' },
  'stop-retention-ms': { type: 'string' },
  'dlq-retention-ms': { type: 'string' },
  'work-ack-wait-ms': { type: 'string' },
  'outcomes-ack-wait-ms': { type: 'string' },
  'work-max-deliver': { type: 'string' },
  'outcomes-max-deliver': { type: 'string' },
  'work-max-ack-pending': { type: 'string' },
  'due-ack-wait-ms': { type: 'string' },
  'due-max-deliver': { type: 'string' },
  'due-max-ack-pending': { type: 'string' },
  'rotate-key': { type: 'boolean' },
} as const;

/** The topology options from provision's flags. */
export function topologyFromFlags(
  values: Record<string, string | boolean | undefined>,
  prefix: string,
): TopologyOptions {
  const num = (flag: string): number | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? int(v, flag, 0) : undefined;
  };
  const opts: TopologyOptions = { prefix };
  const set = <K extends keyof TopologyOptions>(k: K, v: TopologyOptions[K] | undefined): void => {
    if (v !== undefined) opts[k] = v;
  };
  set('replicas', num('replicas'));
  set('taskRetentionMs', num('task-retention-ms'));
  set('stopRetentionMs', num('stop-retention-ms'));
  set('dlqRetentionMs', num('dlq-retention-ms'));
  const consumers: NonNullable<TopologyOptions['consumers']> = {};
  for (const role of ['work', 'outcomes', 'due'] as ConsumerRole[]) {
    const c: { ackWaitMs?: number; maxDeliver?: number; maxAckPending?: number } = {};
    const wait = num(`${role}-ack-wait-ms`);
    const deliver = num(`${role}-max-deliver`);
    const pending = num(`${role}-max-ack-pending`);
    if (wait !== undefined) c.ackWaitMs = wait;
    if (deliver !== undefined) c.maxDeliver = deliver;
    if (pending !== undefined) c.maxAckPending = pending;
    if (Object.keys(c).length > 0) consumers[role] = c;
  }
  if (Object.keys(consumers).length > 0) opts.consumers = consumers;
  return opts;
}

export async function provisionCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, provisionOptions);
  const c = common(values);
  const nc = await connectNats({ ...c.connection, name: 'jetsched-provision' });
  try {
    const { manifest, changes } = await provision(nc, {
      ...topologyFromFlags(values, c.prefix),
      ...(values['rotate-key'] ? { rotateKey: true } : {}),
    });
    for (const line of changes) process.stderr.write(`${line}\n`);
    process.stdout.write(
      JSON.stringify({ provisioned: manifest.prefix, changes: changes.length, manifest }) + '\n',
    );
    return 0;
  } finally {
    await nc.close();
  }
}
