/**
 * Group settings from the command line, thin over the client SDK (the coordinators' group API):
 * `jetsched pause <group> [--type T]`, `jetsched resume <group> [--type T]`, and
 * `jetsched group <group> [--set JSON] [--json]`. Each shows the group's settings as they are afterwards.
 */
import type { GroupSetRequest, GroupSettings } from '@jetsched/protocol';
import type { Command } from 'commander';
import { action, examples, jsonOption } from '../command.js';
import { withClient } from '../connect.js';
import { formatDate, formatDuration, formatTable, printJson, printView } from '../output.js';

/** Adds pause, resume and group to `program`. */
export function addGroupCommands(program: Command): void {
  for (const verb of ['pause', 'resume'] as const) {
    const cmd = program
      .command(verb)
      .summary(
        verb === 'pause'
          ? "hold back a group's work (or one type's)"
          : 'release a paused group (or type) again',
      )
      .description(
        verb === 'pause'
          ? 'Nothing of the group (or of its type T) is released until resumed; running work goes on. ' +
              "Prints the group's settings as JSON."
          : "Releases the group's work (or its type T's) again. Prints the group's settings as JSON.",
      )
      .argument('<group>', 'the executor group')
      .option('-t, --type <type>', 'only this task type')
      .action(
        action<{ type?: string }>((o, [group]) =>
          withClient(o, async (client) => {
            printJson(
              verb === 'pause' ? await client.pause(group, o.type) : await client.resume(group, o.type),
            );
            return 0;
          }),
        ),
      );
    examples(cmd, `jetsched ${verb} default`, `jetsched ${verb} default --type report`);
  }
  addGroup(program);
}

/**
 * `jetsched group <group>` shows the group's settings; with `--set JSON` replaces them first (the
 * JSON is the settings without `group`: `{"paused":false,"limits":[...],"weights":{...}}`; what it
 * leaves out is cleared).
 */
function addGroup(program: Command): void {
  const cmd = program
    .command('group')
    .summary("a group's settings; --set replaces them")
    .description(
      "Shows a group's settings (pause, weights, retry policies, limits as a table); --set replaces " +
        'them (weights, rate and concurrency limits, retries by task type, "*": any).',
    )
    .argument('<group>', 'the executor group')
    .option('--set <json>', 'the new settings, as JSON (what it leaves out is cleared)');
  jsonOption(cmd, 'the settings').action(
    action<{ set?: string; json?: boolean }>((o, [group]) => {
      const change = o.set === undefined ? undefined : settingsChange(group, o.set);
      return withClient(o, async (client) => {
        const settings = change ? await client.setGroupSettings(change) : await client.groupSettings(group);
        printView(o.json, settings, formatGroupSettings);
        return 0;
      });
    }),
  );
  examples(
    cmd,
    'jetsched group default',
    `jetsched group default --set '{"limits":[{"id":"c","per":"key","concurrency":2}]}'`,
    `jetsched group default --set '{"retry":{"*":{"maxAttempts":3}}}'`,
  );
}

/** The request of `--set JSON` for `group`. */
function settingsChange(group: string, json: string): Omit<GroupSetRequest, 'v'> {
  const parsed = JSON.parse(json) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error('--set: expected a JSON object such as {"paused":true}');
  const { v: _v, group: named, ...rest } = parsed as Record<string, unknown>;
  if (named !== undefined && named !== group)
    throw new Error(`--set: the JSON names group ${JSON.stringify(named)}, the command "${group}"`);
  return { ...(rest as Omit<GroupSetRequest, 'v' | 'group'>), group };
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
            `${type}: ${p.maxAttempts} attempts${p.backoff ? ` (${p.backoff.kind} ${formatDuration(p.backoff.delayMs)})` : ''}`,
        )
        .join('; ') || 'none (1 attempt unless the task says)'
    }`,
    `updated: ${s.updatedAt ? formatDate(s.updatedAt) : 'never (defaults)'}`,
  ];
  const limits = (s.limits ?? []).map((l) => [
    l.id,
    l.per + (l.only !== undefined ? ` ${l.only}` : ''),
    l.rate ? `${l.rate.limit} per ${formatDuration(l.rate.intervalMs)}` : '-',
    l.concurrency !== undefined ? String(l.concurrency) : '-',
  ]);
  if (limits.length === 0) out.push('limits: none');
  else out.push('', ...formatTable(['LIMIT', 'PER', 'RATE', 'CONCURRENCY'], limits));
  return out.join('\n') + '\n';
}
