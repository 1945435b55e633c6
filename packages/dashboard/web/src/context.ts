import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Client } from '@jetsched/client';
import type { Names } from '@jetsched/protocol';

/** What every view talks to the cluster with. */
export interface Cluster {
  nc: NatsConnection;
  client: Client;
  names: Names;
}

export const ClusterContext = createContext<Cluster | undefined>(undefined);

export function useCluster(): Cluster {
  const c = useContext(ClusterContext);
  if (!c) throw new Error('no cluster connection');
  return c;
}

/** Where the page is: `#/tasks?state=failed` → `{ path: ['tasks'], query }`. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const [p = '', q = ''] = hash.replace(/^#\/?/, '').split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function href(path: string[], query?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${qs ? `?${qs}` : ''}`;
}
