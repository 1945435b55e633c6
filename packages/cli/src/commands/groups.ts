/**
 * Group settings from the command line, thin over the client SDK (the coordinators' group API):
 * `jetsched pause <group> [--type T]`, `jetsched resume <group> [--type T]`, and
 * `jetsched group <group> [--set JSON]`. Each prints the group's settings as they are afterwards.
 */
import type { GroupSetRequest } from '@jetsched/protocol';
import { parse } from '../args.js';
import { print, withClient } from './tasks.js';

/** `jetsched pause <group> [--type T]` and `jetsched resume <group> [--type T]`. */
export async function pauseCommand(verb: 'pause' | 'resume', argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { type: { type: 'string', short: 't' } });
  const group = positionals[0];
  if (!group) throw new Error(`usage: jetsched ${verb} <group> [--type T]`);
  return withClient(values, async (client) => {
    print(
      verb === 'pause' ? await client.pause(group, values.type) : await client.resume(group, values.type),
    );
    return 0;
  });
}

/**
 * `jetsched group <group>` prints the group's settings; with `--set JSON` replaces them first (the
 * JSON is the settings without `group`: `{"paused":false,"limits":[...],"weights":{...}}`; what it
 * leaves out is cleared).
 */
export async function groupCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { set: { type: 'string' } });
  const group = positionals[0];
  if (!group) throw new Error('usage: jetsched group <group> [--set JSON]');
  let change: Omit<GroupSetRequest, 'v'> | undefined;
  if (values.set !== undefined) {
    const parsed = JSON.parse(values.set) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('--set: expected a JSON object such as {"paused":true}');
    const { v: _v, group: named, ...rest } = parsed as Record<string, unknown>;
    if (named !== undefined && named !== group)
      throw new Error(`--set: the JSON names group ${JSON.stringify(named)}, the command "${group}"`);
    change = { ...(rest as Omit<GroupSetRequest, 'v' | 'group'>), group };
  }
  return withClient(values, async (client) => {
    print(change ? await client.setGroupSettings(change) : await client.groupSettings(group));
    return 0;
  });
}
