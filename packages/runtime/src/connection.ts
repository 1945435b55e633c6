/**
 * Connecting an actor or client to NATS: one place that applies credentials, names the connection
 * and refuses a server older than MIN_SERVER_VERSION with a message saying what to do.
 */
import { readFile } from 'node:fs/promises';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { compareVersions, ErrorCode, JetschedError, MIN_SERVER_VERSION } from '@jetsched/protocol';

/** Default server URL when neither an option nor NATS_URL gives one. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface ConnectOptions {
  /** Server URL(s). @defaultValue `NATS_URL` from the environment, else {@link DEFAULT_NATS_URL} */
  servers?: string | string[];
  /** A NATS credentials file (JWT + nkey seed). @defaultValue `NATS_CREDS` from the environment */
  credsFile?: string;
  /** A file holding a user's nkey seed (`SU...`). @defaultValue `NATS_NKEY` from the environment */
  nkeyFile?: string;
  /**
   * TLS: the CA that signed the server's certificate, and this client's certificate and key when the
   * server verifies clients. Any of them (or a `tls://` URL) makes the connection TLS-only.
   * @defaultValue `NATS_CA`, `NATS_CERT`, `NATS_KEY` from the environment
   */
  tls?: TlsFiles;
  /** Connection name shown by `nats server report connections`. */
  name?: string;
  /** Oldest accepted server version. @defaultValue {@link MIN_SERVER_VERSION} */
  minServerVersion?: string;
  /**
   * Capture a stack trace at every request for richer timeout errors. It costs a stack capture per
   * request (about a third of a coordinator's CPU under load), so it is off unless debugging.
   * @defaultValue `JETSCHED_ASYNC_TRACES=1` in the environment, else false
   */
  asyncTraces?: boolean;
}

export interface TlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export async function connectNats(opts: ConnectOptions = {}): Promise<NatsConnection> {
  const servers = opts.servers ?? process.env['NATS_URL'] ?? DEFAULT_NATS_URL;
  const credsFile = opts.credsFile ?? process.env['NATS_CREDS'];
  const nkeyFile = opts.nkeyFile ?? process.env['NATS_NKEY'];
  const authenticator = credsFile
    ? credsAuthenticator(await readFile(credsFile))
    : nkeyFile
      ? nkeyAuthenticator(new TextEncoder().encode((await readFile(nkeyFile, 'utf8')).trim()))
      : undefined;
  const tls = tlsOf(opts.tls, servers);
  const nc = await connect({
    servers,
    ...(opts.name ? { name: opts.name } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(tls ? { tls } : {}),
    maxReconnectAttempts: -1,
    noAsyncTraces: !(opts.asyncTraces ?? process.env['JETSCHED_ASYNC_TRACES'] === '1'),
  });
  try {
    assertServerVersion(nc, opts.minServerVersion ?? MIN_SERVER_VERSION);
  } catch (err) {
    await nc.close();
    throw err;
  }
  return nc;
}

/** The TLS settings of a connection: given, else from the environment; `{}` for a `tls://` URL alone. */
function tlsOf(given: TlsFiles | undefined, servers: string | string[]): TlsFiles | undefined {
  const env = process.env;
  const files: TlsFiles = {};
  const ca = given?.caFile ?? env['NATS_CA'];
  const cert = given?.certFile ?? env['NATS_CERT'];
  const key = given?.keyFile ?? env['NATS_KEY'];
  if (ca) files.caFile = ca;
  if (cert) files.certFile = cert;
  if (key) files.keyFile = key;
  const tlsUrl = [servers].flat().some((s) => s.startsWith('tls://'));
  return Object.keys(files).length > 0 || tlsUrl ? files : undefined;
}

export function assertServerVersion(nc: NatsConnection, min: string = MIN_SERVER_VERSION): void {
  const version = nc.info?.version;
  if (!version) {
    throw new JetschedError(ErrorCode.ServerTooOld, 'the NATS server did not report its version');
  }
  if (compareVersions(version, min) < 0) {
    throw new JetschedError(
      ErrorCode.ServerTooOld,
      `nats-server ${version} at ${nc.getServer()} is older than the minimum supported ${min}; ` +
        'run scripts/install-tools.sh to build the pinned release, or point NATS_URL at a newer server',
      { details: { version, min } },
    );
  }
  if (!nc.info?.jetstream) {
    throw new JetschedError(
      ErrorCode.ServerTooOld,
      `nats-server ${version} at ${nc.getServer()} has JetStream disabled; start it with -js`,
    );
  }
}

/**
 * The connection an actor runs on: the one it was given, or its own, opened here and closed by the
 * actor's lifecycle.
 */
export async function actorConnection(
  given: NatsConnection | undefined,
  opts: ConnectOptions,
  onClose: (name: string, fn: () => Promise<unknown>) => void,
): Promise<NatsConnection> {
  if (given) return given;
  const nc = await connectNats(opts);
  onClose('connection', () => nc.drain());
  return nc;
}

/**
 * Follows a connection's status: says when it is lost and when it is back (at warn; a role that
 * lost its server is not doing its work), and tells `onChange`. Ends when the connection closes.
 */
export function watchConnection(
  nc: NatsConnection,
  log: Logger,
  onChange: (connected: boolean) => void,
): void {
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        onChange(false);
        log.warn({ server: s.server }, 'lost the connection to the NATS server; reconnecting');
      } else if (s.type === 'reconnect') {
        onChange(true);
        log.warn({ server: s.server }, 'reconnected to the NATS server');
      }
    }
    onChange(false);
  })().catch(() => onChange(false));
}
