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

/**
 * `argv` without its `--config FILE`, and with the file's settings that neither the command line
 * nor the environment gives added as flags (`options`: the command's flags, whose short forms count
 * as their long ones). Throws naming the file and the setting it refuses.
 */
export async function withConfigFile(
  argv: readonly string[],
  options: Readonly<Record<string, { type: string; short?: string }>>,
): Promise<string[]> {
  const longOf = new Map(
    Object.entries(options).flatMap(([long, o]) => (o.short === undefined ? [] : [[o.short, long] as const])),
  );
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
      if (/^-[a-zA-Z]$/.test(a)) return [longOf.get(a.slice(1)) ?? a];
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
