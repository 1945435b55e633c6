/**
 * A role's config file: `jetsched <role> --config roles.yaml` (or `JETSCHED_CONFIG`), YAML or JSON,
 * holding the role's flags by their long names (schema: docs/schemas/role-config.json). What the
 * command line gives wins over the file, and so do NATS_URL, NATS_CREDS, JETSCHED_PREFIX and
 * LOG_LEVEL over the file's server, creds, prefix and log-level.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { validate } from '@jetsched/protocol';

/** The environment variable that names a config file when `--config` does not. */
export const CONFIG_ENV = 'JETSCHED_CONFIG';

/** Adds `--config FILE` to a role command: before its action runs, the file fills in its flags. */
export function addConfigOption(cmd: Command): Command {
  return cmd
    .addOption(
      new Option(
        '--config <file>',
        'these flags by their long names, YAML or JSON; flags and environment win',
      ).env(CONFIG_ENV),
    )
    .hook('preAction', (_hooked, actioned) => applyConfigFile(actioned));
}

/**
 * Sets the flags of `cmd` (its own and the global ones) that its config file holds and neither the
 * command line nor the environment gave. Throws naming the file and the setting it refuses.
 */
export async function applyConfigFile(cmd: Command): Promise<void> {
  const file = cmd.opts<{ config?: string }>().config;
  if (!file) return;
  const text = await readFile(file, 'utf8');
  try {
    const value: unknown = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
    const settings = validate('role-config', value ?? {});
    for (const [key, setting] of Object.entries(settings)) setFromFile(cmd, key, String(setting));
  } catch (err) {
    throw new Error(`config file ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Sets flag `--<key>` of `cmd` or of a parent of it, unless the command line or environment set it. */
function setFromFile(cmd: Command, key: string, text: string): void {
  for (let c: Command | null = cmd; c; c = c.parent) {
    const option: Option | undefined = c.options.find((o) => o.long === `--${key}`);
    if (!option) continue;
    const name = option.attributeName();
    const source = c.getOptionValueSource(name);
    if (source === 'cli' || source === 'env') return;
    try {
      c.setOptionValueWithSource(name, option.parseArg ? option.parseArg(text, undefined) : text, 'config');
    } catch (err) {
      throw new Error(`${key}: ${(err as Error).message}`, { cause: err });
    }
    return;
  }
}
