/**
 * `dev` and `demo` start their own nats-server (the pinned release, in a temporary directory) unless
 * a server is given with --server or NATS_URL.
 */
import { startServer, type NatsServer } from '@jetsched/testkit';
import type { Logger } from '@jetsched/runtime';
import type { Common } from './args.js';

export interface LocalNats {
  /** Connection options to use: the given server, or the embedded one. */
  common: Common;
  embedded: NatsServer | undefined;
  stop(): Promise<void>;
}

export async function localNats(c: Common, log: Logger): Promise<LocalNats> {
  if (c.connection.servers) return { common: c, embedded: undefined, stop: () => Promise.resolve() };
  // with a WebSocket listener, for the dashboard's page
  const server = await startServer({ websocket: true });
  log.info(
    { url: server.url, store: server.storeDir },
    'started an embedded nats-server (pass --server or NATS_URL to use yours)',
  );
  return {
    common: { ...c, connection: { ...c.connection, servers: [server.url] } },
    embedded: server,
    stop: () => server.stop({ clean: true }),
  };
}
