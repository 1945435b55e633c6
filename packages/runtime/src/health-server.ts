/**
 * The HTTP side of a role process (`--metrics-port`): `GET /metrics` (Prometheus text, every actor
 * of the process and Node's own process metrics), `GET /healthz` (liveness: 200 while no actor of the
 * process has stopped) and `GET /readyz` (readiness: 200 once every actor runs and is connected to
 * NATS; 503 while one starts, drains or has lost its connection). Both health answers carry each
 * actor's {@link Health} as JSON.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Health } from './service.js';

export interface HealthServerOptions {
  /** 0: a free port the OS picks (the server says which). */
  port: number;
  /** @defaultValue `0.0.0.0` (scraped from other machines) */
  host?: string;
  registry: Registry;
  /** The health of every actor of the process. */
  health: () => Health[];
  log: Logger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(o: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      o.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(text))
        .catch((err: unknown) => {
          o.log.warn({ err }, 'could not collect metrics');
          res.writeHead(500).end();
        });
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const actors = o.health();
      const ok =
        path === '/healthz' ? actors.every((a) => a.state !== 'stopped') : actors.every((a) => a.ready);
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', actors }));
      return;
    }
    res
      .writeHead(404, { 'content-type': 'text/plain' })
      .end('not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  o.log.info({ port, paths: ['/metrics', '/healthz', '/readyz'] }, 'serving metrics and health');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
