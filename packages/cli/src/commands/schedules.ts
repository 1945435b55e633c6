/**
 * `jetsched schedule ...`: cron and interval schedules (create or replace, ls, show, pause, resume,
 * delete, trigger), over the client SDK. Output is JSON, except `ls` without `--json`.
 */
import { validate, type ScheduleReply } from '@jetsched/protocol';
import { parse } from '../args.js';
import { parseDuration, print, taskFromFlags, taskOptions, withClient } from './tasks.js';

const USAGE = `usage: jetsched schedule create <id> <type> (--cron "SEC MIN HOUR DOM MON DOW" [--tz ZONE] | --every 30s)
                                [task flags as for submit] [--missed once|skip] [--missed-after 60s]
                                [--overlap allow|skip] [--paused]
       jetsched schedule ls [--json] | show <id> | pause <id> | resume <id> | delete <id> | trigger <id>`;

export async function scheduleCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create':
      return create(rest);
    case 'ls':
    case 'list':
      return list(rest);
    case 'show':
    case 'pause':
    case 'resume':
    case 'delete':
    case 'trigger':
      return one(sub, rest);
    case undefined:
    default:
      throw new Error(USAGE);
  }
}

async function create(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...taskOptions,
    cron: { type: 'string' },
    tz: { type: 'string' },
    every: { type: 'string' },
    missed: { type: 'string' },
    'missed-after': { type: 'string' },
    overlap: { type: 'string' },
    paused: { type: 'boolean' },
  });
  const [id, type] = positionals;
  if (!id || !type) throw new Error(USAGE);
  const def: Record<string, unknown> = { id, task: await taskFromFlags(values, type) };
  if (values.cron) def['cron'] = values.cron;
  if (values.tz) def['timezone'] = values.tz;
  if (values.every) def['every'] = values.every;
  if (values.missed) def['missed'] = values.missed;
  if (values['missed-after']) def['missedAfterMs'] = parseDuration(values['missed-after'], 'missed-after');
  if (values.overlap) def['overlap'] = values.overlap;
  if (values.paused) def['paused'] = true;
  const { v: _v, ...checked } = validate('schedule-create-request', def);
  return withClient(values, async (client) => {
    print(withTimes(await client.createSchedule(checked)));
    return 0;
  });
}

async function list(argv: string[]): Promise<number> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  return withClient(values, async (client) => {
    const all = await client.schedules();
    if (values.json) {
      print(all.map(withTimes));
      return 0;
    }
    const rows = all.map(({ schedule: s, nextRunAt }) => [
      s.id,
      s.cron ? `${s.cron}${s.timezone ? ` (${s.timezone})` : ''}` : `every ${s.every ?? ''}`,
      s.task.type,
      s.paused ? 'paused' : nextRunAt === undefined ? '-' : new Date(nextRunAt).toISOString(),
      String(s.runs),
      String(s.skipped),
      s.lastRun ? new Date(s.lastRun.at).toISOString() : '-',
    ]);
    const table = [['ID', 'WHEN', 'TYPE', 'NEXT RUN', 'RUNS', 'SKIPPED', 'LAST RUN'], ...rows];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length)));
    for (const r of table)
      process.stdout.write(
        r
          .map((v, c) => v.padEnd(widths[c] ?? 0))
          .join('  ')
          .trimEnd() + '\n',
      );
    return 0;
  });
}

async function one(op: 'show' | 'pause' | 'resume' | 'delete' | 'trigger', argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const id = positionals[0];
  if (!id) throw new Error(USAGE);
  return withClient(values, async (client) => {
    const call = {
      show: () => client.schedule(id),
      pause: () => client.pauseSchedule(id),
      resume: () => client.resumeSchedule(id),
      delete: () => client.deleteSchedule(id),
      trigger: () => client.triggerSchedule(id),
    }[op];
    print(withTimes(await call()));
    return 0;
  });
}

/** A reply with its times also as ISO strings, for people reading it. */
function withTimes<T extends ScheduleReply>(r: T): T & { nextRun?: string } {
  return r.nextRunAt === undefined ? r : { ...r, nextRun: new Date(r.nextRunAt).toISOString() };
}
