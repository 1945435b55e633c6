/**
 * A role's config file: `jetsched <role> --config roles.yaml` (or `JETSCHED_CONFIG`), YAML or JSON,
 * holding the role's flags by their long names (schema: docs/schemas/role-config.json). What the
 * command line gives wins over the file, and so do NATS_URL, NATS_CREDS, JETSCHED_PREFIX and
 * LOG_LEVEL over the file's server, creds, prefix and log-level.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { validate } from '@jetsched/protocol';

/** The environment variable that names a config file when `--config` does not. */
export const CONFIG_ENV = 'JETSCHED_CONFIG';

/** The file's keys an environment variable overrides. */
const ENV_OF: Readonly<Record<string, string>> = {
  server: 'NATS_URL',
  creds: 'NATS_CREDS',
  prefix: 'JETSCHED_PREFIX',
  'log-level': 'LOG_LEVEL',
};

/** Short flags of the role commands, by long name (a short flag given counts as the long one). */
const SHORT: Readonly<Record<string, string>> = { s: 'server', g: 'group', c: 'concurrency' };

/**
 * `argv` without its `--config FILE`, and with the file's settings that neither the command line
 * nor the environment gives added as flags. Throws naming the file and the setting it refuses.
 */
export async function withConfigFile(argv: readonly string[]): Promise<string[]> {
  const rest: string[] = [];
  let file = process.env[CONFIG_ENV];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--config') file = argv[++i];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else rest.push(a);
  }
  if (!file) return rest;
  const text = await readFile(file, 'utf8');
  let settings: Record<string, string | number>;
  try {
    const value: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    settings = validate('role-config', value ?? {});
  } catch (err) {
    throw new Error(`config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const given = new Set(
    rest.flatMap((a) => {
      if (a.startsWith('--')) return [a.slice(2).split('=')[0] as string];
      if (/^-[a-z]$/.test(a)) return [SHORT[a.slice(1)] ?? a];
      return [];
    }),
  );
  const added = Object.entries(settings).flatMap(([key, v]) => {
    const env = ENV_OF[key];
    if (given.has(key) || (env !== undefined && process.env[env] !== undefined)) return [];
    return [`--${key}`, String(v)];
  });
  return [...added, ...rest];
}
