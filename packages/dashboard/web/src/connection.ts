/**
 * The page's NATS connection: over WebSocket, to the servers `/config.json` names, with the
 * credentials the user logged in with when the server asks for any (a shared token, a user and
 * password, or a NATS credentials file). They are kept for the browser tab only (sessionStorage).
 */
import { credsAuthenticator, wsconnect, type NatsConnection } from '@nats-io/nats-core';

export interface DashboardConfig {
  servers: string[];
  prefix: string;
}

export type Login =
  | { kind: 'none' }
  | { kind: 'token'; token: string }
  | { kind: 'user'; user: string; pass: string }
  | { kind: 'creds'; creds: string };

const KEY = 'jetsched.login';

/**
 * The page's config: in the page itself (the server writes it into `index.html`, so connecting
 * need not wait for another request), else from `config.json`.
 */
export async function loadConfig(): Promise<DashboardConfig> {
  const inline = document.getElementById('jetsched-config')?.textContent;
  if (inline) return JSON.parse(inline) as DashboardConfig;
  const r = await fetch('./config.json', { cache: 'no-store' });
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  return (await r.json()) as DashboardConfig;
}

export function savedLogin(): Login {
  try {
    const s = sessionStorage.getItem(KEY);
    return s ? (JSON.parse(s) as Login) : { kind: 'none' };
  } catch {
    return { kind: 'none' };
  }
}

export function saveLogin(l: Login): void {
  if (l.kind === 'none') sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, JSON.stringify(l));
}

export async function connectCluster(cfg: DashboardConfig, login: Login): Promise<NatsConnection> {
  const auth =
    login.kind === 'token'
      ? { token: login.token }
      : login.kind === 'user'
        ? { user: login.user, pass: login.pass }
        : login.kind === 'creds'
          ? { authenticator: credsAuthenticator(new TextEncoder().encode(login.creds)) }
          : {};
  return wsconnect({
    servers: cfg.servers,
    name: 'jetsched-dashboard',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 1_000,
    ...auth,
  });
}

/** The server refused the credentials (or wants some). */
export function isAuthError(err: unknown): boolean {
  return (
    err instanceof Error && /authoriz|authentic|auth(entication)? (violation|required)/i.test(err.message)
  );
}
