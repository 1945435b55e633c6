/**
 * `jetsched dlq ls|show|retry|purge`: dead letters (subtasks that failed their last attempt, and
 * messages an actor gave up on), through the coordinators' DLQ API.
 */
import type { DlqSelectRequest } from '@jetsched/protocol';
import { int, parse } from '../args.js';
import { formatTable } from '../table.js';
import { print, withClient } from './tasks.js';

const filters = {
  source: { type: 'string' },
  type: { type: 'string' },
  task: { type: 'string' },
} as const;

const USAGE =
  'usage: jetsched dlq ls [--source S] [--type T] [--task ID] [-n N] [--after SEQ] [--json]\n' +
  '       jetsched dlq show <seq>\n' +
  '       jetsched dlq retry <seq> | --all [--type T] [--task ID]\n' +
  '       jetsched dlq purge <seq> | --all [--source S] [--type T] [--task ID]\n';

export async function dlqCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'ls':
    case 'list':
      return list(rest);
    case 'show':
      return show(rest);
    case 'retry':
    case 'purge':
      return select(sub, rest);
    case undefined:
    default:
      process.stderr.write(USAGE);
      return 2;
  }
}

async function list(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    ...filters,
    n: { type: 'string', short: 'n' },
    after: { type: 'string' },
    json: { type: 'boolean' },
  });
  return withClient(values, async (client) => {
    const r = await client.deadLetters({
      ...(values.source ? { source: values.source } : {}),
      ...(values.type ? { type: values.type } : {}),
      ...(values.task ? { taskId: values.task } : {}),
      limit: int(values.n, 'n', 100),
      ...(values.after ? { after: int(values.after, 'after', 0) } : {}),
    });
    if (values.json) {
      print(r);
      return 0;
    }
    const rows = r.items.map((e) => [
      String(e.seq),
      new Date(e.at).toISOString(),
      e.source,
      e.task ? `${e.task.id}.${e.task.index}` : e.subject,
      e.task?.type ?? '',
      String(e.deliveries ?? ''),
      `${e.reason.code}: ${e.reason.message}`.slice(0, 80),
    ]);
    const header = ['SEQ', 'AT', 'SOURCE', 'TASK.SUBTASK / SUBJECT', 'TYPE', 'TRIES', 'REASON'];
    for (const line of formatTable(header, rows)) process.stdout.write(line + '\n');
    if (r.next !== undefined) process.stderr.write(`more: jetsched dlq ls --after ${r.next}\n`);
    return 0;
  });
}

async function show(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {});
  const seq = Number(positionals[0]);
  if (!Number.isInteger(seq) || seq < 1) throw new Error('usage: jetsched dlq show <seq>');
  return withClient(values, async (client) => {
    print(await client.deadLetter(seq));
    return 0;
  });
}

async function select(op: 'retry' | 'purge', argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...filters, all: { type: 'boolean' } });
  const req: Omit<DlqSelectRequest, 'v'> = {};
  if (positionals[0] !== undefined) {
    req.seq = Number(positionals[0]);
    if (!Number.isInteger(req.seq) || req.seq < 1)
      throw new Error(`--seq: not a sequence: ${positionals[0]}`);
  } else if (values.all) {
    req.all = true;
    if (values.source) req.source = values.source;
    if (values.type) req.type = values.type;
    if (values.task) req.taskId = values.task;
  } else throw new Error(`jetsched dlq ${op}: give a <seq>, or --all (with filters)`);
  return withClient(values, async (client) => {
    print(op === 'retry' ? await client.retryDeadLetters(req) : await client.purgeDeadLetters(req));
    return 0;
  });
}
