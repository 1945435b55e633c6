/** Connecting by TCP (Node): a browser makes its own WebSocket connection and calls `createClient`. */
import { connectNats } from '@jetsched/runtime';
import { createClient, ownedClient, type Client, type ClientOptions } from './client.js';

export async function connectClient(opts: ClientOptions = {}): Promise<Client> {
  if (opts.nc) return createClient(opts.nc, opts);
  return ownedClient(await connectNats({ name: 'jetsched-client', ...(opts.connection ?? {}) }), opts);
}
