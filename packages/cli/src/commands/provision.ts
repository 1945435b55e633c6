/**
 * `jetsched provision`: creates or updates every stream, bucket and shared consumer of a prefix and
 * writes the topology manifest the roles check at start. Run it once per cluster and again after an
 * upgrade; it is safe to repeat and never lowers a stream's replicas.
 */
import type { Command } from 'commander';
import { connectNats, provision, type TopologyOptions } from '@jetsched/runtime';
import type { ConsumerRole } from '@jetsched/protocol';
import { common, nonNegativeInt } from '../args.js';
import { action, examples } from '../command.js';

/** The layout flags of `provision` (and `cluster`), as commander stores them. */
export type ProvisionFlags = Partial<Record<ProvisionSetting, number>> & { rotateKey?: boolean };

type ProvisionSetting =
  | 'replicas'
  | 'taskRetentionMs'
  | 'stopRetentionMs'
  | 'dlqRetentionMs'
  | `${ConsumerRole}AckWaitMs`
  | `${ConsumerRole}MaxDeliver`
  | `${ConsumerRole}MaxAckPending`;

/** Adds the layout flags to `cmd`: settings not given keep what was provisioned before. */
export function addProvisionOptions(cmd: Command): Command {
  cmd
    .optionsGroup('Layout options (settings not given keep what was provisioned before):')
    .option(
      '--replicas <n>',
      'stream and bucket replicas: 3 on a cluster; never lowered (first: 1)',
      nonNegativeInt,
    )
    .option(
      '--task-retention-ms <ms>',
      'keep task records, results, idempotency keys, the list index this long (first: 7 days)',
      nonNegativeInt,
    )
    .option('--stop-retention-ms <ms>', 'keep stop notices this long (first: 1 day)', nonNegativeInt)
    .option('--dlq-retention-ms <ms>', 'keep dead letters this long (first: 7 days)', nonNegativeInt);
  for (const role of ['work', 'outcomes', 'due'] as const) {
    cmd
      .option(`--${role}-ack-wait-ms <ms>`, `ack wait of the ${role} consumers`, nonNegativeInt)
      .option(
        `--${role}-max-deliver <n>`,
        `deliveries of a ${role} message; the last one gives it up`,
        nonNegativeInt,
      )
      .option(
        `--${role}-max-ack-pending <n>`,
        `${role} messages in flight per consumer at most`,
        nonNegativeInt,
      );
  }
  return cmd.optionsGroup('Options:');
}

/** The topology options from the layout flags. */
export function topologyFromFlags(f: ProvisionFlags, prefix: string): TopologyOptions {
  const opts: TopologyOptions = { prefix };
  if (f.replicas !== undefined) opts.replicas = f.replicas;
  if (f.taskRetentionMs !== undefined) opts.taskRetentionMs = f.taskRetentionMs;
  if (f.stopRetentionMs !== undefined) opts.stopRetentionMs = f.stopRetentionMs;
  if (f.dlqRetentionMs !== undefined) opts.dlqRetentionMs = f.dlqRetentionMs;
  const consumers: NonNullable<TopologyOptions['consumers']> = {};
  for (const role of ['work', 'outcomes', 'due'] as const) {
    const c: { ackWaitMs?: number; maxDeliver?: number; maxAckPending?: number } = {};
    const wait = f[`${role}AckWaitMs`];
    const deliver = f[`${role}MaxDeliver`];
    const pending = f[`${role}MaxAckPending`];
    if (wait !== undefined) c.ackWaitMs = wait;
    if (deliver !== undefined) c.maxDeliver = deliver;
    if (pending !== undefined) c.maxAckPending = pending;
    if (Object.keys(c).length > 0) consumers[role] = c;
  }
  if (Object.keys(consumers).length > 0) opts.consumers = consumers;
  return opts;
}

/** Adds `provision` to `program`. */
export function addProvisionCommand(program: Command): void {
  const cmd = program
    .command('provision')
    .summary('create or update streams, buckets and consumers (once per cluster, and after an upgrade)')
    .description(
      'Creates or updates every stream, bucket and consumer of the prefix and writes the manifest the ' +
        'roles check at start (they refuse to start without it). Settings not given keep what was ' +
        'provisioned before. Run once per cluster, and after an upgrade. Prints what it did as JSON.',
    );
  addProvisionOptions(cmd)
    .option(
      '--rotate-key',
      'add a new hand-off signing key (the previous one still verifies until the next rotation)',
    )
    .action(
      action<ProvisionFlags>(async (o) => {
        const c = common(o);
        const nc = await connectNats({ ...c.connection, name: 'jetsched-provision' });
        try {
          const { manifest, changes } = await provision(nc, {
            ...topologyFromFlags(o, c.prefix),
            ...(o.rotateKey ? { rotateKey: true } : {}),
          });
          for (const line of changes) process.stderr.write(`${line}\n`);
          process.stdout.write(
            JSON.stringify({ provisioned: manifest.prefix, changes: changes.length, manifest }) + '\n',
          );
          return 0;
        } finally {
          await nc.close();
        }
      }),
    );
  examples(
    cmd,
    'jetsched provision --replicas 3',
    'jetsched provision --work-ack-wait-ms 60000 --prefix staging',
  );
}
