/**
 * Finds the pinned nats-server and nats CLI binaries that scripts/install-tools.sh builds. The
 * versions come from the repository's tools.env, the one place they are pinned.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PinnedVersions {
  natsServer: string;
  natsCli: string;
}

function findToolsEnv(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const candidate = join(dir, 'tools.env');
    if (existsSync(candidate)) return candidate;
    const parent = resolve(dir, '..');
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

export function pinnedVersions(): PinnedVersions | undefined {
  const file = findToolsEnv();
  if (!file) return undefined;
  const vars = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(\S+)/.exec(line.trim());
    if (m?.[1] && m[2]) vars.set(m[1], m[2]);
  }
  const natsServer = vars.get('NATS_SERVER_VERSION');
  const natsCli = vars.get('NATSCLI_VERSION');
  return natsServer && natsCli ? { natsServer, natsCli } : undefined;
}

function toolsDir(): string {
  return process.env['JETSCHED_TOOLS_DIR'] ?? join(homedir(), '.cache', 'jetsched', 'tools');
}

function missing(what: string, path: string): Error {
  return new Error(
    `${what} not found at ${path}: run scripts/install-tools.sh (it builds the pinned release with go install)`,
  );
}

/** Path of the pinned nats-server; `NATS_SERVER_BIN` overrides it. */
export function natsServerBin(): string {
  const override = process.env['NATS_SERVER_BIN'];
  if (override) return override;
  const v = pinnedVersions();
  if (!v) throw new Error('tools.env not found: set NATS_SERVER_BIN to a nats-server binary');
  const path = join(toolsDir(), `nats-server-${v.natsServer}`, 'nats-server');
  if (!existsSync(path)) throw missing(`nats-server ${v.natsServer}`, path);
  return path;
}

/** Path of the pinned nats CLI; `NATS_CLI_BIN` overrides it. */
export function natsCliBin(): string {
  const override = process.env['NATS_CLI_BIN'];
  if (override) return override;
  const v = pinnedVersions();
  if (!v) throw new Error('tools.env not found: set NATS_CLI_BIN to a nats CLI binary');
  const path = join(toolsDir(), `natscli-${v.natsCli}`, 'nats');
  if (!existsSync(path)) throw missing(`nats CLI ${v.natsCli}`, path);
  return path;
}
