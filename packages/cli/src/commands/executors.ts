/** `jetsched executors [--group G] [--json]`: the live executors, with the types they serve. */
import type { Command } from 'commander';
import type { ExecutorAdvert } from '@jetsched/protocol';
import { action, examples, jsonOption } from '../command.js';
import { withLiveExecutors } from '../connect.js';
import { formatDuration, printView, tableText } from '../output.js';

/** Adds `executors` to `program`. */
export function addExecutorsCommand(program: Command): void {
  const cmd = program
    .command('executors')
    .summary('the live executors and the types they serve')
    .description(
      'Lists the live executors: group, id, handler profile, slots busy, host, how long they have run ' +
        'and the types they serve.',
    )
    .option('-g, --group <group>', 'only the executors of this group');
  jsonOption(cmd, 'their adverts').action(
    action<{ group?: string; json?: boolean }>((o) =>
      withLiveExecutors(o, o.group, (_topo, live) => {
        printView(o.json, live, (adverts) => formatExecutors(adverts, o.group));
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched executors', 'jetsched executors --group images --json');
}

/** Live executors as a table, a line each, with how long each has run. */
export function formatExecutors(live: ExecutorAdvert[], group: string | undefined): string {
  if (live.length === 0) return `no live executor${group ? ` in group ${group}` : ''}\n`;
  const now = Date.now();
  const rows = live.map((a) => [
    a.group,
    a.id,
    a.profile,
    `${a.running}/${a.concurrency}`,
    a.host,
    formatDuration(now - a.startedAt),
    a.types.join(','),
  ]);
  return tableText(['GROUP', 'EXECUTOR', 'PROFILE', 'BUSY', 'HOST', 'UP', 'TYPES'], rows);
}
