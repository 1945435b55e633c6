/** Client commands: submit, status, watch, ls, cancel. Output is JSON where a script may read it. */
import { readFile } from 'node:fs/promises';
import { connectClient, type Client } from '@jetsched/client';
import {
  decode,
  ErrorCode,
  isTaskState,
  type SubtaskRecord,
  type Backoff,
  type ExecutorAdvert,
  type RetryPolicy,
  validate,
  type SplitSpec,
  type SubmitRequest,
  type TaskRecord,
} from '@jetsched/protocol';
import { common, int, parse } from '../args.js';
import { ProgressBar } from '../progress-bar.js';
import {
  bindTopology,
  connectNats,
  ExecutorRegistry,
  scanBucket,
  silentLogger,
  type Topology,
} from '@jetsched/runtime';
import { formatTable } from '../table.js';

export function print(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export async function withClient<T>(
  values: Record<string, unknown>,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const c = common(values);
  const client = await connectClient({ connection: c.connection, prefix: c.prefix });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** `items:10`, `range:0:1000:100`, `custom` or `none`. */
export function parseSplit(text: string): SplitSpec {
  const [kind, ...rest] = text.split(':');
  const nums = rest.map(Number);
  if (kind === 'none' || kind === 'custom') return { kind };
  if (kind === 'items' && nums.length === 1) return { kind, chunkSize: nums[0] ?? 0 };
  if (kind === 'range' && nums.length === 3) {
    const [start = 0, end = 0, chunkSize = 0] = nums;
    return { kind, start, end, chunkSize };
  }
  throw new Error(
    `--split: expected items:<chunk>, range:<start>:<end>:<chunk>, custom or none, got "${text}"`,
  );
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--delay 90s`, `--delay 15m`, `--delay 1500` (ms): a whole number with an optional unit. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`--${flag}: expected a duration such as 500ms, 90s, 15m, 2h or 1d, got "${text}"`);
  return Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
}

/**
 * `--backoff fixed:2s`, `--backoff exponential:500ms`, `--backoff exponential:1s:5m` (at most 5 min
 * between attempts), with `--jitter 0.2` taking up to that share off each wait.
 */
export function parseBackoff(text: string, jitter: string | undefined): Backoff {
  const [kind, delay, max, ...rest] = text.split(':');
  if ((kind !== 'fixed' && kind !== 'exponential') || !delay || rest.length > 0) {
    throw new Error(`--backoff: expected fixed:<delay> or exponential:<delay>[:<max delay>], got "${text}"`);
  }
  const b: Backoff = { kind, delayMs: parseDuration(delay, 'backoff') };
  if (max) b.maxDelayMs = parseDuration(max, 'backoff');
  if (jitter !== undefined) {
    const j = Number(jitter);
    if (!(j >= 0 && j <= 1)) throw new Error(`--jitter: expected a share between 0 and 1, got "${jitter}"`);
    b.jitter = j;
  }
  return b;
}

/** `--at 2026-12-01T09:00:00Z` (any date Date.parse reads) or epoch milliseconds. */
export function parseInstant(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new Error(`--at: expected an ISO date or epoch milliseconds, got "${text}"`);
  return ms;
}

/** Flags that describe a task, shared by `submit` and `schedule create`. */
export const taskOptions = {
  payload: { type: 'string', short: 'p' },
  'payload-file': { type: 'string' },
  split: { type: 'string' },
  aggregate: { type: 'string' },
  group: { type: 'string', short: 'g' },
  tenant: { type: 'string' },
  priority: { type: 'string' },
  'timeout-ms': { type: 'string' },
  'per-message': { type: 'string' },
  attempts: { type: 'string' },
  backoff: { type: 'string' },
  jitter: { type: 'string' },
  deadline: { type: 'string' },
  'max-failures': { type: 'string' },
  'max-failure-ratio': { type: 'string' },
} as const;

/** The request fields of a task of `type` from {@link taskOptions}. */
export async function taskFromFlags(
  values: { [K in keyof typeof taskOptions]?: string },
  type: string,
): Promise<Record<string, unknown>> {
  const req: Record<string, unknown> = { type };
  const payloadText = values['payload-file']
    ? await readFile(values['payload-file'], 'utf8')
    : values.payload;
  if (payloadText !== undefined) req['payload'] = JSON.parse(payloadText) as unknown;
  if (values.split) req['split'] = parseSplit(values.split);
  if (values.aggregate) req['aggregate'] = { kind: values.aggregate };
  if (values.group) req['group'] = values.group;
  if (values.tenant) req['tenant'] = values.tenant;
  if (values.priority) req['priority'] = int(values.priority, 'priority', 5);
  if (values['timeout-ms']) req['timeoutMs'] = int(values['timeout-ms'], 'timeout-ms', 0);
  if (values['per-message']) req['subtasksPerMessage'] = int(values['per-message'], 'per-message', 1);
  if (values.deadline) req['deadlineMs'] = parseDuration(values.deadline, 'deadline');
  if (values['max-failures'] || values['max-failure-ratio']) {
    const fanIn: Record<string, number> = {};
    if (values['max-failures']) fanIn['maxFailures'] = int(values['max-failures'], 'max-failures', 0);
    if (values['max-failure-ratio']) fanIn['maxFailureRatio'] = Number(values['max-failure-ratio']);
    req['fanIn'] = fanIn;
  }
  if (values.attempts || values.backoff) {
    if (!values.attempts) throw new Error('--backoff needs --attempts (how many attempts in all)');
    const retry: RetryPolicy = { maxAttempts: int(values.attempts, 'attempts', 1) };
    if (values.backoff) retry.backoff = parseBackoff(values.backoff, values.jitter);
    req['retry'] = retry;
  } else if (values.jitter) throw new Error('--jitter goes with --backoff');
  return req;
}

export async function submitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...taskOptions,
    key: { type: 'string' },
    delay: { type: 'string' },
    at: { type: 'string' },
    'require-executor': { type: 'boolean' },
    wait: { type: 'boolean', short: 'w' },
    timeout: { type: 'string' },
  });
  const type = positionals[0];
  if (!type) throw new Error('usage: jetsched submit <type> [--payload JSON] [--split items:10] [--wait]');
  const req = await taskFromFlags(values, type);
  if (values.key) req['idempotencyKey'] = values.key;
  if (values.delay) req['delayMs'] = parseDuration(values.delay, 'delay');
  if (values.at) req['runAt'] = parseInstant(values.at);
  if (values['require-executor']) req['requireExecutor'] = true;
  const task: SubmitRequest = validate('submit-request', req);
  if (values.timeout && !values.wait) throw new Error('--timeout goes with --wait');
  const timeoutMs = values.timeout ? parseDuration(values.timeout, 'timeout') : undefined;
  return withClient(values, async (client) => {
    const r = await client.submit(task);
    // the id first, whatever comes of the wait: the task exists now
    process.stdout.write(JSON.stringify(r) + '\n');
    if (!values.wait) return 0;
    let done: Awaited<ReturnType<typeof client.wait>>;
    try {
      done = await client.wait(r.id, timeoutMs === undefined ? {} : { timeoutMs });
    } catch (err) {
      if ((err as { code?: unknown }).code !== ErrorCode.Timeout) throw err;
      process.stderr.write(
        `task ${r.id} did not end within ${values.timeout}; it goes on (jetsched watch ${r.id})\n`,
      );
      return 1;
    }
    print({ id: r.id, state: done.task.state, result: done.result, error: done.task.error });
    return done.task.state === 'succeeded' ? 0 : 1;
  });
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    result: { type: 'boolean', short: 'r' },
    json: { type: 'boolean' },
  });
  const id = positionals[0];
  if (!id) throw new Error('usage: jetsched status <task-id> [--result] [--json]');
  return withClient(values, async (client) => {
    const r = await client.get(id, { includeResult: values.result ?? false });
    if (values.json) {
      print(r);
      if (r.waiting) process.stderr.write(`waiting: ${r.waiting}\n`);
      return 0;
    }
    process.stdout.write(formatStatus(r, values.result ?? false));
    return 0;
  });
}

/** A task as a person reads it: one fact a line, times as dates, durations, the error's stack. */
export function formatStatus(r: Awaited<ReturnType<Client['get']>>, withResult: boolean): string {
  const t = r.task;
  const at = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
  const lines: [string, string][] = [
    ['task', `${t.id}  ${t.type}`],
    ['group', `${t.group}  tenant ${t.tenant}  priority ${t.priority}`],
    [
      'state',
      t.finishedAt === undefined ? t.state : `${t.state} after ${seconds(t.finishedAt - t.createdAt)}`,
    ],
    ['created', at(t.createdAt)],
  ];
  if (t.runAt !== undefined) lines.push(['runs at', at(t.runAt)]);
  if (t.finishedAt !== undefined) lines.push(['finished', at(t.finishedAt)]);
  if (t.subtasks) {
    const s = t.subtasks;
    lines.push([
      'subtasks',
      `${s.succeeded + s.failed}/${s.total} done (${s.succeeded} succeeded, ${s.failed} failed)`,
    ]);
  }
  if (r.waiting) lines.push(['waiting', r.waiting]);
  if (t.error) lines.push(['error', `${t.error.code}: ${t.error.message}`]);
  if (t.trace) lines.push(['trace', t.trace]);
  const out = formatTable(['', ''], lines).slice(1); // no header row
  if (t.error?.stack) out.push('', t.error.stack);
  if (withResult) out.push('', 'result:', JSON.stringify(r.result ?? null, null, 2));
  return out.join('\n') + '\n';
}

function seconds(ms: number): string {
  return ms < 1_000 ? `${ms} ms` : `${(ms / 1_000).toFixed(1)} s`;
}

export async function watchCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const id = positionals[0];
  if (!id) throw new Error('usage: jetsched watch <task-id>');
  return withClient(values, async (client) => {
    const bar = new ProgressBar();
    let final: TaskRecord['state'] | undefined;
    let last: string | undefined;
    for await (const e of client.watch(id)) {
      if (e.kind === 'progress') {
        // a handler's own progress notice, as it sent it
        bar.end();
        const p = e.progress;
        process.stdout.write(
          `${new Date().toISOString()} progress subtask ${p.index}: ${JSON.stringify(p.progress)}\n`,
        );
        continue;
      }
      const t = e.task;
      if (t.state !== last) {
        bar.end();
        process.stdout.write(
          `${new Date(t.updatedAt).toISOString()} ${t.state}${t.error ? ` ${t.error.code}: ${t.error.message}` : ''}\n`,
        );
        last = t.state;
      }
      if (t.subtasks && t.subtasks.total > 1)
        bar.update(t.subtasks.succeeded + t.subtasks.failed, t.subtasks.total);
      final = t.state;
    }
    bar.end();
    return final === 'succeeded' ? 0 : 1;
  });
}

export async function lsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    state: { type: 'string' },
    type: { type: 'string' },
    tenant: { type: 'string' },
    limit: { type: 'string', short: 'n' },
    cursor: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.state !== undefined && !isTaskState(values.state))
    throw new Error(`--state: unknown state ${values.state}`);
  return withClient(values, async (client) => {
    const page = await client.list({
      ...(values.state && isTaskState(values.state) ? { state: values.state } : {}),
      ...(values.type ? { type: values.type } : {}),
      ...(values.tenant ? { tenant: values.tenant } : {}),
      ...(values.cursor ? { cursor: values.cursor } : {}),
      limit: int(values.limit, 'limit', 50),
    });
    if (values.json) {
      print(page);
      return 0;
    }
    const rows = page.tasks.map((t) => [
      t.id,
      t.type,
      t.state,
      t.tenant,
      t.subtasks ? `${t.subtasks.succeeded + t.subtasks.failed}/${t.subtasks.total}` : '-',
      new Date(t.createdAt).toISOString(),
    ]);
    const header = ['ID', 'TYPE', 'STATE', 'TENANT', 'SUBTASKS', 'CREATED'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [header, ...rows])
      process.stdout.write(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ') + '\n');
    if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
    return 0;
  });
}

export async function cancelCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { reason: { type: 'string' } });
  const id = positionals[0];
  if (!id) throw new Error('usage: jetsched cancel <task-id> [--reason TEXT]');
  return withClient(values, async (client) => {
    print(await client.cancel(id, values.reason));
    return 0;
  });
}

/**
 * Runs `fn` with a topology bound on a fresh connection and the executors live now (of `group`, or
 * every group), then closes both.
 */
export async function withLiveExecutors<T>(
  values: Record<string, unknown>,
  group: string | undefined,
  fn: (topo: Topology, live: ExecutorAdvert[]) => T | Promise<T>,
): Promise<T> {
  return withTopology(values, async (topo) => {
    const registry = await ExecutorRegistry.watch(topo, silentLogger());
    const live = registry.live(group);
    registry.close();
    return fn(topo, live);
  });
}

/** Runs `fn` on the provisioned topology of the common flags' server and prefix, then closes it. */
export async function withTopology<T>(
  values: Record<string, unknown>,
  fn: (topo: Topology) => T | Promise<T>,
): Promise<T> {
  const c = common(values);
  const nc = await connectNats({ ...c.connection, name: 'jetsched-cli' });
  try {
    const topo = await bindTopology(nc, c.prefix);
    try {
      return await fn(topo);
    } finally {
      topo.publisher.close();
    }
  } finally {
    await nc.close();
  }
}

/** `jetsched executors`: the live executors of every group, with the types they serve. */
export async function executorsCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { group: { type: 'string', short: 'g' }, json: { type: 'boolean' } });
  return withLiveExecutors(values, values.group, (_topo, live) => {
    if (values.json) {
      print(live);
      return 0;
    }
    const rows = live.map((a) => [
      a.group,
      a.id,
      a.profile,
      `${a.running}/${a.concurrency}`,
      a.host,
      a.types.join(','),
    ]);
    const header = ['GROUP', 'EXECUTOR', 'PROFILE', 'BUSY', 'HOST', 'TYPES'];
    for (const line of formatTable(header, rows)) process.stdout.write(line + '\n');
    if (live.length === 0)
      process.stdout.write(`no live executor${values.group ? ` in group ${values.group}` : ''}\n`);
    return 0;
  });
}

/**
 * `jetsched attempts <id>`: the failed attempts of a task's subtasks, oldest first (each retried
 * attempt, and a subtask's last failure), with error, stack and input, read from the tasks bucket.
 */
export async function attemptsCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const id = positionals[0];
  if (!id) throw new Error('usage: jetsched attempts <task-id>');
  return withLiveExecutors(values, undefined, async (topo) => {
    const failed: SubtaskRecord[] = [];
    for await (const e of scanBucket(topo.js, topo.names.buckets.tasks, `${id}.>`)) {
      // `<id>.<index>` and `<id>.<index>.<attempt>`: subtask records (the result key is not one)
      if (!/^\d+(\.\d+)?$/.test(e.key.slice(id.length + 1))) continue;
      const rec = decode(e.data) as SubtaskRecord;
      if (!rec.ok) failed.push(rec);
    }
    failed.sort((a, b) => a.index - b.index || a.attempt - b.attempt);
    print(failed);
    return 0;
  });
}
