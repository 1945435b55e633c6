/**
 * The quick-start demo: a local cluster (embedded nats-server unless one is given; coordinator and
 * scheduler in this process; a group of 3 executor processes), a word-frequency count over a few MB
 * of generated text split into chunks, a progress bar, the aggregated result, timings, and a check
 * of the result against a local count; then urgent tasks overtaking a low priority backlog, and an
 * every-second schedule. Exits 0 only when the cluster's answer is right.
 */
import { fileURLToPath } from 'node:url';
import { connectClient, type Client } from '@jetsched/client';
import { createCoordinator } from '@jetsched/coordinator';
import { createScheduler } from '@jetsched/scheduler';
import { connectNats, createLogger, provision } from '@jetsched/runtime';
import { decode, subtaskKey, validate } from '@jetsched/protocol';
import type { Command } from 'commander';
import { common, nonNegativeInt, type GlobalFlags } from '../args.js';
import { action, examples } from '../command.js';
import { generateCorpus } from '../demo/corpus.js';
import { countWords, reducers, type Counts } from '../demo/wordcount-jobs.js';
import { localNats } from '../local-nats.js';
import { ProgressBar } from '../progress-bar.js';
import { spawnRole, type RoleProcess } from '../role-process.js';

const GROUP = 'demo';

/**
 * A backlog of low priority tasks, then a few urgent ones: the scheduler releases by priority as the
 * executors free up, so the urgent ones start long before the backlog is through.
 */
async function showPriorities(client: Client): Promise<void> {
  const low = Array.from({ length: 60 }, () => ({
    type: 'nap',
    group: GROUP,
    priority: 0,
    payload: { ms: 100 },
  }));
  const lowIds = (await client.submitMany(low)).flatMap((r) => (r.ok ? [r.id] : []));
  const urgent = await Promise.all(
    [0, 1, 2].map(
      async () => (await client.submit({ type: 'nap', group: GROUP, priority: 9, payload: { ms: 100 } })).id,
    ),
  );
  const startOf = async (id: string): Promise<number> =>
    (await client.result<number[]>(id, { timeoutMs: 60_000 }))[0] ?? 0;
  const lowStarts = await Promise.all(lowIds.map(startOf));
  const urgentStarts = await Promise.all(urgent.map(startOf));
  const lastUrgent = Math.max(...urgentStarts);
  const before = lowStarts.filter((t) => t < lastUrgent).length;
  out('');
  out(
    `priorities: 3 tasks at priority 9 submitted behind 60 at priority 0 (6 executor slots, 100 ms each) ` +
      `started after ${before} of the 60; in FIFO order they would have waited for all 60`,
  );
}

/** An every-second schedule: one task per occurrence, then deleted. */
async function showSchedule(client: Client): Promise<void> {
  const id = 'demo-heartbeat';
  await client.createSchedule({ id, every: '1s', task: { type: 'nap', group: GROUP, payload: { ms: 1 } } });
  await new Promise((r) => setTimeout(r, 3_500));
  const { schedule } = await client.deleteSchedule(id);
  out(
    `schedule "${id}" (every 1s, held by the nats-server): ${schedule.runs} tasks in 3.5 s, ` +
      `last ${schedule.lastRun ? new Date(schedule.lastRun.at).toISOString() : 'none'}; deleted`,
  );
}

function out(line = ''): void {
  process.stdout.write(line + '\n');
}

/** Adds `demo` to `program`. */
export function addDemoCommand(program: Command): void {
  const cmd = program
    .command('demo')
    .summary('word count over generated text on a local cluster')
    .description(
      'Counts the words of generated text on a local cluster (its own nats-server unless --server ' +
        'names one), split into chunks; then urgent tasks overtaking a backlog, and a schedule.',
    )
    .option('--mb <n>', 'megabytes of text', nonNegativeInt, 4)
    .option('--chunk <n>', 'lines per subtask', nonNegativeInt, 1000)
    .action(action<{ mb: number; chunk: number }>(runDemo));
  examples(cmd, 'jetsched demo', 'jetsched demo --mb 16 --chunk 500');
}

async function runDemo(o: { mb: number; chunk: number } & GlobalFlags): Promise<number> {
  const c = common(o);
  const log = createLogger({ level: c.logLevel ?? 'warn' });
  const megabytes = o.mb;
  const chunk = o.chunk;
  const nats = await localNats(c, log);
  const servers = (nats.common.connection.servers as string[]).join(',');
  const prefix = `demo${Date.now().toString(36)}`;
  const base = { connection: nats.common.connection, prefix, logger: log };
  const coordinator = createCoordinator({ ...base, reducers });
  const scheduler = createScheduler(base);
  const executors: RoleProcess[] = [];
  try {
    out(
      `jetsched demo: word frequencies over ${megabytes} MB of text, chunks of ${chunk} lines, 3 executors`,
    );
    out(`nats-server: ${nats.embedded ? `embedded at ${servers}` : servers}; prefix ${prefix}`);
    const nc = await connectNats(nats.common.connection);
    await provision(nc, { prefix }).finally(() => nc.close());
    await coordinator.start();
    await scheduler.start();
    const jobs = fileURLToPath(new URL('../demo/wordcount-jobs.js', import.meta.url));
    const args = [
      '--handlers',
      jobs,
      '--group',
      GROUP,
      '--concurrency',
      '2',
      '--server',
      servers,
      '--prefix',
      prefix,
    ];
    for (let i = 0; i < 3; i++) executors.push(spawnRole('executor', args));
    await Promise.all(executors.map((e) => e.ready));

    let t = performance.now();
    const lines = generateCorpus(megabytes * 1024 * 1024);
    const genMs = performance.now() - t;
    out(`generated ${lines.length} lines (${megabytes} MB) in ${genMs.toFixed(0)} ms`);

    const client = await connectClient({ connection: nats.common.connection, prefix });
    t = performance.now();
    const { id } = await client.submit({
      type: 'wordcount',
      group: GROUP,
      payload: lines,
      split: { kind: 'items', chunkSize: chunk },
      aggregate: { kind: 'reduce' },
    });
    const submitMs = performance.now() - t;
    out(`submitted task ${id} in ${submitMs.toFixed(0)} ms (payload claim-checked in the object store)`);

    const bar = new ProgressBar();
    let final = '';
    for await (const e of client.watch(id)) {
      if (e.kind !== 'state') continue;
      final = e.task.state;
      const s = e.task.subtasks;
      if (s) bar.update(s.succeeded + s.failed, s.total);
    }
    bar.end();
    const { task, result } = await client.get(id, { includeResult: true });
    const totalMs = performance.now() - t;
    await client.close();
    if (final !== 'succeeded' || task.state !== 'succeeded') {
      out(`task ended ${task.state}: ${task.error?.message ?? ''}`);
      return 1;
    }
    const counts = result as Counts;
    const top = Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10);
    const totalWords = Object.values(counts).reduce((a, b) => a + b, 0);
    out('');
    out(`top 10 of ${Object.keys(counts).length} distinct words (${totalWords} words in all):`);
    for (const [w, n] of top) out(`  ${w.padEnd(14)} ${String(n).padStart(8)}`);
    out('');
    const subtasks = task.subtasks?.total ?? 0;
    const runMs = (task.finishedAt ?? 0) - task.createdAt;
    // which executor ran which subtask: the subtask records the coordinator kept beside the record
    const perExecutor = new Map<string, number>();
    const kept = coordinator.topology?.kv.tasks;
    for (let i = 0; kept && i < subtasks; i++) {
      const e = await kept.get(subtaskKey(id, i));
      if (e?.operation !== 'PUT') continue;
      const executor = validate('subtask-record', decode(e.value)).executor;
      perExecutor.set(executor, (perExecutor.get(executor) ?? 0) + 1);
    }
    out(`subtasks: ${subtasks}; run per executor: ${[...perExecutor.values()].join(' / ')}`);
    out(
      `timings: submit (with upload) ${submitMs.toFixed(0)} ms, submit -> result ${totalMs.toFixed(0)} ms, ` +
        `recorded -> finished ${runMs} ms (${((subtasks / Math.max(runMs, 1)) * 1000).toFixed(0)} subtasks/s)`,
    );

    t = performance.now();
    const expected = countWords(lines);
    const localMs = performance.now() - t;
    const same =
      Object.keys(expected).length === Object.keys(counts).length &&
      Object.entries(expected).every(([w, n]) => counts[w] === n);
    out(
      `check against a single-process count (${localMs.toFixed(0)} ms): ${same ? 'identical' : 'MISMATCH'}`,
    );
    const client2 = await connectClient({ connection: nats.common.connection, prefix });
    try {
      await showPriorities(client2);
      await showSchedule(client2);
    } finally {
      await client2.close();
    }
    return same ? 0 : 1;
  } finally {
    await Promise.all(executors.map((e) => e.stop('SIGTERM')));
    await scheduler.close();
    await coordinator.close();
    await nats.stop();
  }
}
