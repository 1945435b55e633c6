/**
 * `jetsched top [--group G] [--interval 2s] [--once]`: a live view of the cluster, redrawn in place
 * every interval until Ctrl-C: each group's executors (slots busy of all) and its queues (what is
 * ready, delayed, how long the oldest waited, what holds it back), as `jetsched queue` reports them.
 * `--once` prints one frame and exits (for scripts and tests).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutorAdvert } from '@jetsched/protocol';
import { ExecutorRegistry, isLive, silentLogger, type Topology } from '@jetsched/runtime';
import type { Command } from 'commander';
import { action, examples } from '../command.js';
import { withTopology } from '../connect.js';
import { formatDate, formatDuration, tableText } from '../output.js';
import { formatQueueReport, queueReport } from './queue.js';
import { parseDuration } from './task-flags.js';

const CLEAR = '\x1b[2J\x1b[H';

/** Adds `top` to `program`. */
export function addTopCommand(program: Command): void {
  const cmd = program
    .command('top')
    .summary('live view: executors and their slots, queues, what holds work back')
    .description(
      'A live view, redrawn every interval until Ctrl-C: the executors of each group with their slots ' +
        "busy and heartbeat age, and each group's queues (ready, delayed, the oldest wait, what holds " +
        'work back, as jetsched queue reports them). --once prints one frame and exits; for JSON, see ' +
        'jetsched queue --json and jetsched executors --json.',
    )
    .option('-g, --group <group>', 'only this group')
    .option('--interval <duration>', 'redraw every this long', '2s')
    .option('--once', 'print one frame and exit')
    .action(
      action<{ group?: string; interval: string; once?: boolean }>((o) => {
        const intervalMs = parseDuration(o.interval, 'interval');
        return withTopology(o, async (topo) => {
          const registry = await ExecutorRegistry.watch(topo, silentLogger());
          try {
            for (;;) {
              const frame = await render(topo, registry.live(o.group), o.group);
              process.stdout.write(o.once ? frame : CLEAR + frame);
              if (o.once) return 0;
              await sleep(intervalMs);
            }
          } finally {
            registry.close();
          }
        });
      }),
    );
  examples(cmd, 'jetsched top', 'jetsched top --group images --interval 1s', 'jetsched top --once');
}

/** One frame: a header, the executors per group, then the queue report. */
async function render(topo: Topology, adverts: ExecutorAdvert[], group: string | undefined): Promise<string> {
  const now = Date.now();
  const report = await queueReport(topo, { adverts, ...(group === undefined ? {} : { group }) });
  const busy = adverts.reduce((n, a) => n + a.running, 0);
  const slots = adverts.reduce((n, a) => n + a.concurrency, 0);
  const ready = report.groups.reduce((n, g) => n + (g.ready ?? 0), 0);
  const delayed = report.groups.reduce((n, g) => n + g.delayed, 0);
  const head =
    `jetsched top  ${formatDate(now)}  prefix ${topo.names.prefix}\n` +
    `executors ${adverts.length}  slots ${busy}/${slots} busy  ready ${ready}  delayed ${delayed}\n\n`;
  const rows = adverts
    .slice()
    .sort((a, b) => a.group.localeCompare(b.group) || a.id.localeCompare(b.id))
    .map((a) => [
      a.group,
      a.id,
      `${a.running}/${a.concurrency}`,
      a.host,
      `${formatDuration(now - a.at)}${isLive(a, now) ? '' : ' (lapsed)'}`,
      a.types.join(','),
    ]);
  const executors =
    rows.length > 0
      ? tableText(['GROUP', 'EXECUTOR', 'BUSY', 'HOST', 'HEARTBEAT', 'TYPES'], rows) + '\n'
      : 'no live executor\n\n';
  return head + executors + formatQueueReport(report);
}
