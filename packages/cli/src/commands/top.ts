/**
 * `jetsched top [--group G] [--interval 2s] [--once]`: a live view of the cluster, redrawn in place
 * every interval until Ctrl-C: each group's executors (slots busy of all) and its queues (what is
 * ready, delayed, how long the oldest waited, what holds it back), as `jetsched queue` reports them.
 * `--once` prints one frame and exits (for scripts and tests).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutorAdvert } from '@jetsched/protocol';
import { ExecutorRegistry, isLive, silentLogger, type Topology } from '@jetsched/runtime';
import { parse } from '../args.js';
import { formatTable } from '../table.js';
import { formatQueueReport, queueReport } from './queue.js';
import { parseDuration, withTopology } from './tasks.js';

const CLEAR = '\x1b[2J\x1b[H';

export async function topCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    group: { type: 'string', short: 'g' },
    interval: { type: 'string' },
    once: { type: 'boolean' },
  });
  const intervalMs = values.interval ? parseDuration(values.interval, 'interval') : 2_000;
  return withTopology(values, async (topo) => {
    const registry = await ExecutorRegistry.watch(topo, silentLogger());
    try {
      for (;;) {
        const frame = await render(topo, registry.live(values.group), values.group);
        process.stdout.write(values.once ? frame : CLEAR + frame);
        if (values.once) return 0;
        await sleep(intervalMs);
      }
    } finally {
      registry.close();
    }
  });
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
    `jetsched top  ${new Date(now).toISOString()}  prefix ${topo.names.prefix}\n` +
    `executors ${adverts.length}  slots ${busy}/${slots} busy  ready ${ready}  delayed ${delayed}\n\n`;
  const rows = adverts
    .slice()
    .sort((a, b) => a.group.localeCompare(b.group) || a.id.localeCompare(b.id))
    .map((a) => [
      a.group,
      a.id,
      `${a.running}/${a.concurrency}`,
      a.host,
      `${((now - a.at) / 1000).toFixed(1)}s${isLive(a, now) ? '' : ' (lapsed)'}`,
      a.types.join(','),
    ]);
  const executors =
    rows.length > 0
      ? formatTable(['GROUP', 'EXECUTOR', 'BUSY', 'HOST', 'HEARTBEAT', 'TYPES'], rows).join('\n') + '\n\n'
      : 'no live executor\n\n';
  return head + executors + formatQueueReport(report);
}
