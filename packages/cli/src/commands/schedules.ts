/**
 * `jetsched schedule ...`: cron and interval schedules (create or replace, ls, show, pause, resume,
 * delete, trigger), over the client SDK. `ls` and `show` show a view for people (`--json`: the
 * replies); the others print the reply as JSON.
 */
import { Option, type Command } from 'commander';
import { validate, type ScheduleReply } from '@jetsched/protocol';
import { action, examples, jsonOption } from '../command.js';
import { withClient } from '../connect.js';
import { formatDate, formatDuration, formatFields, printJson, printView, tableText } from '../output.js';
import { addTaskOptions, parseDuration, taskFromFlags, type TaskFlags } from './task-flags.js';

/** Adds `schedule` (alias `schedules`) and its subcommands to `program`. */
export function addScheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .alias('schedules')
    .summary('cron and interval schedules, each occurrence one task')
    .description(
      'Cron (6 fields, seconds first, with a time zone) and interval schedules, each occurrence ' +
        'creating one task from the template; exactly one task per occurrence with many coordinators.',
    );
  examples(
    schedule,
    'jetsched schedule create nightly report --cron "0 0 3 * * *" --tz Europe/Paris',
    'jetsched schedule ls',
    'jetsched schedule trigger nightly',
  );
  addCreate(schedule);
  addList(schedule);
  addShow(schedule);
  addOne(schedule, 'pause', 'pause a schedule: no occurrence runs until resumed');
  addOne(schedule, 'resume', 'resume a paused schedule');
  addOne(schedule, 'delete', 'delete a schedule');
  addOne(schedule, 'trigger', "run a schedule's task now, besides its occurrences");
}

interface CreateFlags extends TaskFlags {
  cron?: string;
  tz?: string;
  every?: string;
  missed?: string;
  missedAfter?: string;
  overlap?: string;
  paused?: boolean;
}

function addCreate(schedule: Command): void {
  const cmd = schedule
    .command('create')
    .summary('create a schedule, or replace the definition of <id>')
    .description(
      'Creates a schedule, or replaces the definition of <id>: --cron or --every, and the task each ' +
        'occurrence creates. Prints the reply as JSON.',
    )
    .argument('<id>', 'the schedule id')
    .argument('<type>', 'the task type')
    .option('--cron <expr>', 'cron expression, 6 fields, seconds first: "0 */5 * * * *"')
    .option('--tz <zone>', 'time zone of --cron, e.g. Europe/Paris (default: UTC)')
    .option('--every <duration>', 'a fixed interval instead: 30s, 5m')
    .addOption(
      new Option('--missed <policy>', 'occurrences missed while down: run once, or skip').choices([
        'once',
        'skip',
      ]),
    )
    .option('--missed-after <duration>', 'an occurrence this late counts as missed (default: 60s)')
    .addOption(
      new Option('--overlap <policy>', 'an occurrence whose last task runs still').choices(['allow', 'skip']),
    )
    .option('--paused', 'create it paused');
  addTaskOptions(cmd).action(
    action<CreateFlags, [string, string]>(async (o, [id, type]) => {
      const def: Record<string, unknown> = { id, task: await taskFromFlags(o, type) };
      if (o.cron) def['cron'] = o.cron;
      if (o.tz) def['timezone'] = o.tz;
      if (o.every) def['every'] = o.every;
      if (o.missed) def['missed'] = o.missed;
      if (o.missedAfter) def['missedAfterMs'] = parseDuration(o.missedAfter, 'missed-after');
      if (o.overlap) def['overlap'] = o.overlap;
      if (o.paused) def['paused'] = true;
      const { v: _v, ...checked } = validate('schedule-create-request', def);
      return withClient(o, async (client) => {
        printJson(withTimes(await client.createSchedule(checked)));
        return 0;
      });
    }),
  );
  examples(
    cmd,
    `jetsched schedule create nightly report --cron "0 30 2 * * *" --tz Europe/Paris --payload '{"kind":"daily"}'`,
    'jetsched schedule create heartbeat ping --every 30s --missed skip --overlap skip',
  );
}

function addList(schedule: Command): void {
  const cmd = schedule
    .command('ls')
    .alias('list')
    .summary('list the schedules: when, next run, runs')
    .description('Lists the schedules: id, when, task type, next run, runs, skipped occurrences, last run.');
  jsonOption(cmd, 'the schedules').action(
    action<{ json?: boolean }>((o) =>
      withClient(o, async (client) => {
        printView(o.json, (await client.schedules()).map(withTimes), formatSchedules);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched schedule ls', 'jetsched schedule ls --json');
}

/** The schedules as a table, a line each. */
export function formatSchedules(all: ScheduleReply[]): string {
  const rows = all.map(({ schedule: s, nextRunAt }) => [
    s.id,
    when(s),
    s.task.type,
    s.paused ? 'paused' : formatDate(nextRunAt),
    String(s.runs),
    String(s.skipped),
    formatDate(s.lastRun?.at),
  ]);
  return tableText(['ID', 'WHEN', 'TYPE', 'NEXT RUN', 'RUNS', 'SKIPPED', 'LAST RUN'], rows);
}

function addShow(schedule: Command): void {
  const cmd = schedule
    .command('show')
    .summary('show a schedule')
    .description(
      'Shows a schedule: when it runs, its task, whether paused, its next run, runs and skipped ' +
        'occurrences, its last run, times as dates.',
    )
    .argument('<id>', 'the schedule id');
  jsonOption(cmd, 'the schedule').action(
    action<{ json?: boolean }>((o, [id]) =>
      withClient(o, async (client) => {
        printView(o.json, withTimes(await client.schedule(id)), formatSchedule);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched schedule show nightly', 'jetsched schedule show nightly --json');
}

/** A schedule as a person reads it: a fact a line, times as dates. */
export function formatSchedule({ schedule: s, nextRunAt }: ScheduleReply): string {
  const t = s.task;
  const fields: [string, string][] = [
    ['schedule', `${s.id}${s.paused ? ' (paused)' : ''}`],
    ['when', when(s)],
    [
      'task',
      `${t.type}  group ${t.group ?? 'default'}${t.priority === undefined ? '' : `  priority ${t.priority}`}`,
    ],
    [
      'next run',
      s.paused
        ? '- (paused)'
        : nextRunAt === undefined
          ? '-'
          : `${formatDate(nextRunAt)} (in ${formatDuration(Math.max(0, nextRunAt - Date.now()))})`,
    ],
    ['runs', `${s.runs}  skipped ${s.skipped}`],
    ['last run', s.lastRun ? `${formatDate(s.lastRun.at)}  task ${s.lastRun.taskId}` : '-'],
    ['missed', `${s.missed} (after ${formatDuration(s.missedAfterMs)})  overlap ${s.overlap}`],
    ['created', formatDate(s.createdAt)],
    ['updated', formatDate(s.updatedAt)],
  ];
  return formatFields(fields).join('\n') + '\n';
}

/** When a schedule runs: its cron (and zone), or its interval. */
function when(s: ScheduleReply['schedule']): string {
  return s.cron ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : `every ${s.every ?? ''}`;
}

function addOne(schedule: Command, op: 'pause' | 'resume' | 'delete' | 'trigger', summary: string): void {
  const cmd = schedule
    .command(op)
    .summary(summary)
    .description(`${summary[0]?.toUpperCase()}${summary.slice(1)}. Prints the reply as JSON.`)
    .argument('<id>', 'the schedule id')
    .action(
      action((o, [id]) =>
        withClient(o, async (client) => {
          const call = {
            pause: () => client.pauseSchedule(id),
            resume: () => client.resumeSchedule(id),
            delete: () => client.deleteSchedule(id),
            trigger: () => client.triggerSchedule(id),
          }[op];
          printJson(withTimes(await call()));
          return 0;
        }),
      ),
    );
  examples(cmd, `jetsched schedule ${op} nightly`);
}

/** A reply with its times also as ISO strings, for people reading it. */
function withTimes<T extends ScheduleReply>(r: T): T & { nextRun?: string } {
  return r.nextRunAt === undefined ? r : { ...r, nextRun: new Date(r.nextRunAt).toISOString() };
}
