/** Task commands: submit, status, watch, ls, cancel. */
import { Option, type Command } from 'commander';
import type { Client } from '@jetsched/client';
import {
  ErrorCode,
  TASK_STATES,
  type SubmitRequest,
  type TaskRecord,
  type TaskState,
  validate,
} from '@jetsched/protocol';
import { nonNegativeInt } from '../args.js';
import { action, examples, jsonOption } from '../command.js';
import { withClient } from '../connect.js';
import { formatDate, formatDuration, formatFields, printJson, printView, tableText } from '../output.js';
import { ProgressBar } from '../progress-bar.js';
import { addTaskOptions, parseDuration, parseInstant, taskFromFlags, type TaskFlags } from './task-flags.js';

/** Adds submit, status, watch, ls and cancel to `program`. */
export function addTaskCommands(program: Command): void {
  addSubmit(program);
  addStatus(program);
  addWatch(program);
  addLs(program);
  addCancel(program);
}

interface SubmitFlags extends TaskFlags {
  key?: string;
  delay?: string;
  at?: string;
  requireExecutor?: boolean;
  wait?: boolean;
  timeout?: string;
}

function addSubmit(program: Command): void {
  const cmd = program
    .command('submit')
    .summary('submit a task')
    .description(
      'Submits a task and prints {"id": ...}. With --wait it prints the id first, then waits for the ' +
        'end and prints the state and result (exit 0 when it succeeded); --timeout stops waiting ' +
        '(exit 1), the task goes on.',
    )
    .argument('<type>', 'the task type, as the executors name their handlers');
  addTaskOptions(cmd)
    .option('--key <key>', 'idempotency key: a second submit with it returns the first task')
    .option('--delay <duration>', 'run after this long: 90s, 15m, 2h')
    .option('--at <date>', 'run at this ISO date (or epoch ms)')
    .option('--require-executor', 'refuse the task when no live executor serves its type')
    .option('-w, --wait', 'wait for the end; print the state and result')
    .option('--timeout <duration>', 'with --wait: stop waiting after this long (exit 1)')
    .action(
      action<SubmitFlags>(async (o, [type]) => {
        const req = await submitFromFlags(o, type);
        const task: SubmitRequest = validate('submit-request', req);
        if (o.timeout && !o.wait) throw new Error('--timeout goes with --wait');
        const timeoutMs = o.timeout ? parseDuration(o.timeout, 'timeout') : undefined;
        return withClient(o, async (client) => {
          const r = await client.submit(task);
          // the id first, whatever comes of the wait: the task exists now
          process.stdout.write(JSON.stringify(r) + '\n');
          if (!o.wait) return 0;
          let done: Awaited<ReturnType<typeof client.wait>>;
          try {
            done = await client.wait(r.id, timeoutMs === undefined ? {} : { timeoutMs });
          } catch (err) {
            if ((err as { code?: unknown }).code !== ErrorCode.Timeout) throw err;
            process.stderr.write(
              `task ${r.id} did not end within ${o.timeout}; it goes on (jetsched watch ${r.id})\n`,
            );
            return 1;
          }
          printJson({ id: r.id, state: done.task.state, result: done.result, error: done.task.error });
          return done.task.state === 'succeeded' ? 0 : 1;
        });
      }),
    );
  examples(
    cmd,
    `jetsched submit resize --payload '{"url":"s3://bucket/a.png"}' --wait`,
    'jetsched submit wordcount --payload-file lines.json --split items:1000 --aggregate reduce',
    'jetsched submit report --delay 2h --key report-2026-12-07 --priority 7',
    'jetsched submit resize --attempts 5 --backoff exponential:1s:5m --jitter 0.2',
  );
}

/** The submit request fields of the task flags and submit's own. */
async function submitFromFlags(o: SubmitFlags, type: string): Promise<Record<string, unknown>> {
  const req = await taskFromFlags(o, type);
  if (o.key) req['idempotencyKey'] = o.key;
  if (o.delay) req['delayMs'] = parseDuration(o.delay, 'delay');
  if (o.at) req['runAt'] = parseInstant(o.at);
  if (o.requireExecutor) req['requireExecutor'] = true;
  return req;
}

function addStatus(program: Command): void {
  const cmd = program
    .command('status')
    .summary('show a task')
    .description(
      'Shows a task: type, group, state and how long it took, times as dates, subtasks done, why it ' +
        'waits, its error with the stack, its trace context (and its result with --result). Refuses an ' +
        'unknown id.',
    )
    .argument('<id>', 'the task id')
    .option('-r, --result', 'show the result too');
  jsonOption(cmd, 'the task record (and result)').action(
    action<{ result?: boolean; json?: boolean }>((o, [id]) =>
      withClient(o, async (client) => {
        const r = await client.get(id, { includeResult: o.result ?? false });
        if (o.json) {
          printJson(r);
          if (r.waiting) process.stderr.write(`waiting: ${r.waiting}\n`);
        } else process.stdout.write(formatStatus(r, o.result ?? false));
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched status <id>', 'jetsched status <id> --result --json | jq .result');
}

/** A task as a person reads it: one fact a line, times as dates, durations, the error's stack. */
export function formatStatus(r: Awaited<ReturnType<Client['get']>>, withResult: boolean): string {
  const t = r.task;
  const lines: [string, string][] = [
    ['task', `${t.id}  ${t.type}`],
    ['group', `${t.group}  tenant ${t.tenant}  priority ${t.priority}`],
    [
      'state',
      t.finishedAt === undefined ? t.state : `${t.state} after ${formatDuration(t.finishedAt - t.createdAt)}`,
    ],
    ['created', formatDate(t.createdAt)],
  ];
  if (t.runAt !== undefined) lines.push(['runs at', formatDate(t.runAt)]);
  if (t.finishedAt !== undefined) lines.push(['finished', formatDate(t.finishedAt)]);
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
  const out = formatFields(lines);
  if (t.error?.stack) out.push('', t.error.stack);
  if (withResult) out.push('', 'result:', JSON.stringify(r.result ?? null, null, 2));
  return out.join('\n') + '\n';
}

function addWatch(program: Command): void {
  const cmd = program
    .command('watch')
    .summary("follow a task's states and progress to its end")
    .description(
      'Follows a task: each state change with its time, a progress bar over its subtasks, and its ' +
        "handlers' progress notices; ends at its end (exit 0 when it succeeded). Refuses an unknown id.",
    )
    .argument('<id>', 'the task id')
    .action(action((o, [id]) => withClient(o, (client) => watch(client, id))));
  examples(cmd, 'jetsched watch <id>');
}

async function watch(client: Client, id: string): Promise<number> {
  const bar = new ProgressBar();
  let final: TaskRecord['state'] | undefined;
  let last: string | undefined;
  for await (const e of client.watch(id)) {
    if (e.kind === 'progress') {
      // a handler's own progress notice, as it sent it
      bar.end();
      const p = e.progress;
      process.stdout.write(
        `${formatDate(Date.now())} progress subtask ${p.index}: ${JSON.stringify(p.progress)}\n`,
      );
      continue;
    }
    const t = e.task;
    if (t.state !== last) {
      bar.end();
      process.stdout.write(
        `${formatDate(t.updatedAt)} ${t.state}${t.error ? ` ${t.error.code}: ${t.error.message}` : ''}\n`,
      );
      last = t.state;
    }
    if (t.subtasks && t.subtasks.total > 1)
      bar.update(t.subtasks.succeeded + t.subtasks.failed, t.subtasks.total);
    final = t.state;
  }
  bar.end();
  return final === 'succeeded' ? 0 : 1;
}

interface LsFlags {
  state?: TaskState;
  type?: string;
  tenant?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
}

function addLs(program: Command): void {
  const cmd = program
    .command('ls')
    .summary('list tasks, newest first')
    .description('Lists tasks, newest first, from the list index: state, subtasks done, created, how long.')
    .addOption(new Option('--state <state>', 'only tasks in this state').choices(TASK_STATES))
    .option('--type <type>', 'only tasks of this type')
    .option('--tenant <tenant>', 'only tasks of this tenant')
    .option('-n, --limit <n>', 'at most n tasks', nonNegativeInt, 50)
    .option('--cursor <cursor>', 'the next page, as the last one said');
  jsonOption(cmd, 'the page').action(
    action<LsFlags>((o) =>
      withClient(o, async (client) => {
        const page = await client.list({
          ...(o.state ? { state: o.state } : {}),
          ...(o.type ? { type: o.type } : {}),
          ...(o.tenant ? { tenant: o.tenant } : {}),
          ...(o.cursor ? { cursor: o.cursor } : {}),
          limit: o.limit,
        });
        printView(o.json, page, formatTaskList);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched ls --state failed -n 20', 'jetsched ls --type report --json');
}

/** A page of tasks as a table: times as dates, how long each took. */
export function formatTaskList(page: Awaited<ReturnType<Client['list']>>): string {
  const rows = page.tasks.map((t) => [
    t.id,
    t.type,
    t.state,
    t.tenant,
    t.subtasks ? `${t.subtasks.succeeded + t.subtasks.failed}/${t.subtasks.total}` : '-',
    formatDate(t.createdAt),
    formatDuration(t.finishedAt === undefined ? undefined : t.finishedAt - t.createdAt),
  ]);
  const table = tableText(['ID', 'TYPE', 'STATE', 'TENANT', 'SUBTASKS', 'CREATED', 'TOOK'], rows);
  return page.nextCursor ? `${table}more: --cursor ${page.nextCursor}\n` : table;
}

function addCancel(program: Command): void {
  const cmd = program
    .command('cancel')
    .summary('cancel a task')
    .description(
      'Cancels a task: its running subtasks are aborted, queued ones never start, its retries and ' +
        'deadline are dropped; it ends cancelled. Prints the reply as JSON.',
    )
    .argument('<id>', 'the task id')
    .option('--reason <text>', 'why, kept with the task')
    .action(
      action<{ reason?: string }>((o, [id]) =>
        withClient(o, async (client) => {
          printJson(await client.cancel(id, o.reason));
          return 0;
        }),
      ),
    );
  examples(cmd, 'jetsched cancel <id> --reason "wrong input"');
}
