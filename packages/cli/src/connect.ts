/** Connections a command holds for its run: a client, or the provisioned topology. */
import { connectClient, type Client } from '@jetsched/client';
import type { ExecutorAdvert } from '@jetsched/protocol';
import { bindTopology, connectNats, ExecutorRegistry, silentLogger, type Topology } from '@jetsched/runtime';
import { common, type GlobalFlags } from './args.js';

/** Runs `fn` with a client of the global flags' server and prefix, then closes it. */
export async function withClient<T>(flags: GlobalFlags, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = common(flags);
  const client = await connectClient({ connection: c.connection, prefix: c.prefix });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Runs `fn` on the provisioned topology of the global flags' server and prefix, then closes it. */
export async function withTopology<T>(
  flags: GlobalFlags,
  fn: (topo: Topology) => T | Promise<T>,
): Promise<T> {
  const c = common(flags);
  const nc = await connectNats({ ...c.connection, name: 'jetsched-cli' });
  try {
    const topo = await bindTopology(nc, c.prefix);
    try {
      return await fn(topo);
    } finally {
      topo.publisher.close();
    }
  } finally {
    await nc.close();
  }
}

/**
 * Runs `fn` with a topology bound on a fresh connection and the executors live now (of `group`, or
 * every group), then closes both.
 */
export async function withLiveExecutors<T>(
  flags: GlobalFlags,
  group: string | undefined,
  fn: (topo: Topology, live: ExecutorAdvert[]) => T | Promise<T>,
): Promise<T> {
  return withTopology(flags, async (topo) => {
    const registry = await ExecutorRegistry.watch(topo, silentLogger());
    const live = registry.live(group);
    registry.close();
    return fn(topo, live);
  });
}
