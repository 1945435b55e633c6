/**
 * Starts real nats-server processes for tests, demos and local clusters: each with its own
 * temporary store dir, on a port the OS picks, and ready (accepting JetStream API calls) before
 * the promise resolves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { natsServerBin } from './tools.js';

export interface ServerOptions {
  /** Client port; 0 lets the OS pick one. @defaultValue 0 */
  port?: number;
  /** Extra nats-server config text appended to the generated config. */
  extraConfig?: string;
  /** Extra settings inside the `jetstream { }` block, e.g. `sync_interval: always`. */
  jetstreamConfig?: string;
  /** Store directory; a fresh temporary one by default (removed by `stop({ clean: true })`). */
  storeDir?: string;
  serverName?: string;
  /** Cluster block, for {@link startCluster}. */
  cluster?: { name: string; port: number; routes: number[] };
  /** Milliseconds to wait for readiness. @defaultValue 20,000 */
  readyTimeoutMs?: number;
  /** Log file for the server's output; none by default. */
  logFile?: string;
  /** Serve the HTTP monitoring endpoints (`/varz`, `/jsz`) on a port the OS picks. @defaultValue false */
  monitoring?: boolean;
  /**
   * Also accept NATS over WebSocket (what a browser speaks: the dashboard) on a port the OS picks,
   * without TLS, on loopback. @defaultValue false
   */
  websocket?: boolean;
  /** Extra settings inside the `websocket { }` block, e.g. `authorization { token: "s3cret" }`. */
  websocketConfig?: string;
  /**
   * Clients connect with TLS only: the server's certificate and key, and with `caFile` it verifies
   * clients' certificates against that CA (and refuses clients without one).
   */
  tls?: { certFile: string; keyFile: string; caFile?: string };
}

export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  readonly pid: number | undefined;
  /** `http://127.0.0.1:<port>` of the monitoring endpoints, when started with `monitoring`. */
  readonly monitorUrl: string | undefined;
  /** `ws://127.0.0.1:<port>` for NATS over WebSocket, when started with `websocket`. */
  readonly wsUrl: string | undefined;
  /** SIGTERM and wait for exit. `clean` removes the store dir. */
  stop(opts?: { clean?: boolean }): Promise<void>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT, to freeze a server without closing its sockets. */
  pause(): void;
  resume(): void;
  /** Starts again on the same port and store dir (after stop or kill). */
  restart(): Promise<void>;
}

/** A port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function configText(o: ServerOptions & { port: number; storeDir: string }, portsDir: string): string {
  const lines = [
    `listen: "127.0.0.1:${o.port === 0 ? -1 : o.port}"`,
    `ports_file_dir: "${portsDir}"`,
    `jetstream { store_dir: "${o.storeDir}", max_memory_store: 268435456, max_file_store: 10737418240${
      o.jetstreamConfig ? `, ${o.jetstreamConfig}` : ''
    } }`,
  ];
  if (o.serverName) lines.push(`server_name: "${o.serverName}"`);
  if (o.monitoring) lines.push('http: "127.0.0.1:-1"');
  if (o.tls) {
    const verify = o.tls.caFile ? `, ca_file: "${o.tls.caFile}", verify: true` : '';
    lines.push(`tls { cert_file: "${o.tls.certFile}", key_file: "${o.tls.keyFile}"${verify}, timeout: 2 }`);
  }
  if (o.websocket)
    lines.push(
      `websocket { listen: "127.0.0.1:-1", no_tls: true${o.websocketConfig ? `, ${o.websocketConfig}` : ''} }`,
    );
  if (o.cluster) {
    const routes = o.cluster.routes.map((p) => `"nats-route://127.0.0.1:${p}"`).join(', ');
    lines.push(
      `cluster { name: "${o.cluster.name}", listen: "127.0.0.1:${o.cluster.port}", routes: [${routes}] }`,
    );
  }
  if (o.extraConfig) lines.push(o.extraConfig);
  return lines.join('\n') + '\n';
}

async function waitForPortsFile(
  dir: string,
  pid: number,
  deadline: number,
): Promise<{ port: number; monitoring: string | undefined; websocket: string | undefined }> {
  while (Date.now() < deadline) {
    const files = await readdir(dir).catch(() => [] as string[]);
    const f = files.find((n) => n.endsWith(`_${pid}.ports`));
    if (f) {
      const text = await readFile(join(dir, f), 'utf8').catch(() => '');
      if (text) {
        const info = JSON.parse(text) as { nats?: string[]; monitoring?: string[]; websocket?: string[] };
        const url = info.nats?.[0];
        const port = url ? Number(new URL(url).port) : NaN;
        if (Number.isInteger(port) && port > 0)
          return { port, monitoring: info.monitoring?.[0], websocket: info.websocket?.[0] };
      }
    }
    await sleep(25);
  }
  throw new Error('nats-server did not write its ports file in time');
}

async function waitForTcp(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(25);
  }
  throw new Error(`nats-server did not accept connections on ${port} in time`);
}

export async function startServer(opts: ServerOptions = {}): Promise<NatsServer> {
  const bin = natsServerBin();
  const work = await mkdtemp(join(tmpdir(), 'jetsched-nats-'));
  const storeDir = opts.storeDir ?? join(work, 'store');
  let port = opts.port ?? 0;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let monitorUrl: string | undefined;
  let wsUrl: string | undefined;

  const launch = async (): Promise<void> => {
    const portsDir = await mkdtemp(join(work, 'ports-'));
    const conf = join(work, 'nats.conf');
    await writeFile(conf, configText({ ...opts, port, storeDir }, portsDir));
    const args = ['-c', conf];
    if (opts.logFile) args.push('-l', opts.logFile);
    const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
    const failed = exited.then(() => {
      throw new Error(`nats-server exited during start-up: ${stderr.trim() || '(no output)'}`);
    });
    try {
      const ports = await Promise.race([waitForPortsFile(portsDir, proc.pid ?? -1, deadline), failed]);
      port = ports.port;
      monitorUrl = ports.monitoring;
      wsUrl = ports.websocket;
      await Promise.race([waitForTcp(port, deadline), failed]);
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    }
    failed.catch(() => undefined);
  };

  await launch();
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(sig);
      await exited;
    }
  };
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get pid() {
      return child?.pid;
    },
    get monitorUrl() {
      return monitorUrl;
    },
    get wsUrl() {
      return wsUrl;
    },
    async stop(o = {}) {
      await signal('SIGTERM');
      if (o.clean) await rm(work, { recursive: true, force: true });
    },
    kill: () => signal('SIGKILL'),
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    restart: async () => {
      await signal('SIGTERM');
      await launch();
    },
  };
}

export interface NatsCluster {
  readonly servers: NatsServer[];
  /** Comma-separated client URLs of every node. */
  readonly urls: string[];
  stop(opts?: { clean?: boolean }): Promise<void>;
}

/** Starts `size` servers with routes between them (a JetStream cluster for R3 streams). */
export async function startCluster(
  size = 3,
  opts: { name?: string; logDir?: string; websocket?: boolean } = {},
): Promise<NatsCluster> {
  const clusterPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const clientPorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const name = opts.name ?? 'jetsched';
  const servers = await Promise.all(
    clusterPorts.map((cport, i) =>
      startServer({
        port: clientPorts[i] ?? 0,
        serverName: `${name}-n${i + 1}`,
        cluster: { name, port: cport, routes: clusterPorts.filter((p) => p !== cport) },
        ...(opts.logDir ? { logFile: join(opts.logDir, `nats-n${i + 1}.log`) } : {}),
        ...(opts.websocket ? { websocket: true } : {}),
      }),
    ),
  );
  await waitForJetStream(
    servers.map((s) => s.url),
    30_000,
  );
  return {
    servers,
    urls: servers.map((s) => s.url),
    stop: async (o) => {
      await Promise.all(servers.map((s) => s.stop(o)));
    },
  };
}

/** Resolves once the JetStream API answers (a cluster has elected its meta leader). */
export async function waitForJetStream(urls: string[], timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: urls });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      try {
        const m = await nc.request('$JS.API.INFO', undefined, { timeout: 1_000 });
        const info = JSON.parse(new TextDecoder().decode(m.data)) as { error?: unknown };
        if (!info.error) return;
      } catch {
        // not ready yet
      }
      await sleep(200);
    }
    throw new Error(`JetStream not ready on ${urls.join(',')} after ${timeoutMs} ms`);
  } finally {
    await nc.close();
  }
}
