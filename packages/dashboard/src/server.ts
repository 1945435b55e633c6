/**
 * The dashboard's server: it serves the built page (`dist/web`, made by `vite build`) with its
 * config written into it, and the same as `/config.json`: where the NATS WebSocket listener is and
 * which prefix the cluster uses. It holds no NATS connection and no state: the page talks to the cluster itself,
 * through NATS over WebSocket, with the credentials its user logs in with (when the server asks for
 * any). So the dashboard sees exactly what its NATS identity may see.
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { extname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PREFIX } from '@jetsched/protocol';

/** @defaultValue 8080 */
export const DEFAULT_DASHBOARD_PORT = 8080;

export interface DashboardOptions {
  /** WebSocket URLs of NATS servers (`ws://` or `wss://`) the page connects to. */
  servers: string[];
  /** @defaultValue `jetsched` */
  prefix?: string;
  /** 0: a free port the OS picks. @defaultValue {@link DEFAULT_DASHBOARD_PORT} */
  port?: number;
  /** @defaultValue `127.0.0.1` (pass `0.0.0.0` to serve other machines) */
  host?: string;
  /** Where the built page is. @defaultValue this package's `dist/web` */
  webRoot?: string;
}

/** What `/config.json` answers: everything the page needs to connect. */
export interface DashboardConfig {
  servers: string[];
  prefix: string;
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** The built page, beside both `src/` and `dist/` of this package. */
const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../dist/web/', import.meta.url));

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  if (o.servers.length === 0 || o.servers.some((s) => !/^wss?:\/\//.test(s)))
    throw new Error(
      `the dashboard needs NATS WebSocket URLs (ws:// or wss://), got ${JSON.stringify(o.servers)}`,
    );
  const root = normalize(o.webRoot ?? DEFAULT_WEB_ROOT);
  const config: DashboardConfig = { servers: o.servers, prefix: o.prefix ?? DEFAULT_PREFIX };
  // JSON in a script element: `<` escaped, so that no value can close the element
  const configScript = `<script id="jetsched-config" type="application/json">${JSON.stringify(config).replace(/</g, '\\u003c')}</script>`;
  const server: Server = createServer((req, res) => {
    let path: string;
    try {
      path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
    } catch {
      res.writeHead(400).end(); // a malformed escape
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'], 'cache-control': 'no-store' });
      res.end(JSON.stringify(config));
      return;
    }
    // the page routes by its hash: every other path is a file of the build, or the page itself
    const file = normalize(root + (path === '/' ? 'index.html' : path.slice(1)));
    if (!file.startsWith(root)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file)
      .then((read) => {
        // the page's config rides in the page, so that it can connect without asking for it
        const body = file.endsWith('index.html')
          ? read.toString('utf8').replace('</head>', `${configScript}</head>`)
          : read;
        const hashed = path.startsWith('/assets/');
        res.writeHead(200, {
          'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
          'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' && path === '/') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`the dashboard page is not built (no ${file}): run \`pnpm build\``);
          return;
        }
        res.writeHead(404).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? DEFAULT_DASHBOARD_PORT, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host === undefined || o.host === '0.0.0.0' ? '127.0.0.1' : o.host;
  return {
    url: `http://${host}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
