/**
 * Group settings from the command line, thin over the client SDK (the coordinators' group API):
 * `jetsched pause <group> [--type T]`, `jetsched resume <group> [--type T]`, and
 * `jetsched group <group> [--set JSON]`. Each prints the group's settings as they are afterwards.
 */
import type { GroupSetRequest, GroupSettings } from '@jetsched/protocol';
import { parse } from '../args.js';
import { formatTable } from '../table.js';
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
  const { values, positionals } = parse(argv, { set: { type: 'string' }, json: { type: 'boolean' } });
  const group = positionals[0];
  if (!group) throw new Error('usage: jetsched group <group> [--set JSON] [--json]');
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
    const settings = change ? await client.setGroupSettings(change) : await client.groupSettings(group);
    if (values.json) print(settings);
    else process.stdout.write(formatGroupSettings(settings));
    return 0;
  });
}

/** A group's settings as a person reads them: a line each, the limits as a table. */
export function formatGroupSettings(s: GroupSettings): string {
  const out = [
    `group ${s.group}${s.paused ? ' (paused)' : ''}` +
      (s.pausedTypes?.length ? `; paused types: ${s.pausedTypes.join(', ')}` : ''),
    `weights: ${
      Object.entries(s.weights ?? {})
        .map(([k, w]) => `${k}=${w}`)
        .join(', ') || 'none (every fairness key 1)'
    }`,
    `retry: ${
      Object.entries(s.retry ?? {})
        .map(
          ([type, p]) =>
            `${type}: ${p.maxAttempts} attempts${p.backoff ? ` (${p.backoff.kind} ${p.backoff.delayMs} ms)` : ''}`,
        )
        .join('; ') || 'none (1 attempt unless the task says)'
    }`,
    `updated: ${s.updatedAt ? new Date(s.updatedAt).toISOString() : 'never (defaults)'}`,
  ];
  const limits = (s.limits ?? []).map((l) => [
    l.id,
    l.per + (l.only !== undefined ? ` ${l.only}` : ''),
    l.rate ? `${l.rate.limit} per ${l.rate.intervalMs} ms` : '-',
    l.concurrency !== undefined ? String(l.concurrency) : '-',
  ]);
  if (limits.length === 0) out.push('limits: none');
  else out.push('', ...formatTable(['LIMIT', 'PER', 'RATE', 'CONCURRENCY'], limits));
  return out.join('\n') + '\n';
}
