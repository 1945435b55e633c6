/**
 * `jetsched dlq ls|show|retry|purge`: dead letters (subtasks that failed their last attempt, and
 * messages an actor gave up on), through the coordinators' DLQ API.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { DlqGetReply, DlqListReply, DlqSelectRequest } from '@jetsched/protocol';
import { nonNegativeInt } from '../args.js';
import { action, examples, jsonOption } from '../command.js';
import { withClient } from '../connect.js';
import { formatDate, formatFields, printJson, printView, tableText } from '../output.js';

interface Filters {
  source?: string;
  type?: string;
  task?: string;
}

function addFilters(cmd: Command): Command {
  return cmd
    .option('--source <source>', 'only dead letters of this source (subtask, outcomes, work, ...)')
    .option('--type <type>', 'only dead subtasks of this task type')
    .option('--task <id>', 'only dead subtasks of this task');
}

/** A dead letter's sequence number, an argument of `show`, `retry` and `purge`. */
function seqArg(text: string): number {
  const seq = Number(text);
  if (!Number.isInteger(seq) || seq < 1)
    throw new InvalidArgumentError("expected a dead letter's sequence number");
  return seq;
}

/** Adds `dlq` and its subcommands to `program`. */
export function addDlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .summary('dead letters: list, show, run again, purge')
    .description(
      'Dead letters: subtasks that failed their last attempt, and messages a role gave up on. retry ' +
        'runs a dead subtask again as a new task.',
    );
  examples(
    dlq,
    'jetsched dlq ls --type resize',
    'jetsched dlq show 12',
    'jetsched dlq retry --all --type resize',
  );
  addList(dlq);
  addShow(dlq);
  addSelect(dlq, 'retry');
  addSelect(dlq, 'purge');
}

interface ListFlags extends Filters {
  limit: number;
  after?: number;
  json?: boolean;
}

function addList(dlq: Command): void {
  const cmd = addFilters(
    dlq
      .command('ls')
      .alias('list')
      .summary('list dead letters, oldest first')
      .description('Lists dead letters, oldest first: when, source, task and subtask, tries, reason.'),
  )
    .option('-n, --limit <n>', 'at most n dead letters', nonNegativeInt, 100)
    .option('--after <seq>', 'the next page: dead letters after this sequence number', nonNegativeInt);
  jsonOption(cmd, 'the page').action(
    action<ListFlags>((o) =>
      withClient(o, async (client) => {
        const r = await client.deadLetters({
          ...(o.source ? { source: o.source } : {}),
          ...(o.type ? { type: o.type } : {}),
          ...(o.task ? { taskId: o.task } : {}),
          limit: o.limit,
          ...(o.after !== undefined ? { after: o.after } : {}),
        });
        printView(o.json, r, formatDeadLetters);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched dlq ls --source subtask --type resize', 'jetsched dlq ls --task <id> --json');
}

/** A page of dead letters as a table, a line each. */
export function formatDeadLetters(page: DlqListReply): string {
  const rows = page.items.map((e) => [
    String(e.seq),
    formatDate(e.at),
    e.source,
    e.task ? `${e.task.id}.${e.task.index}` : e.subject,
    e.task?.type ?? '',
    String(e.deliveries ?? ''),
    `${e.reason.code}: ${e.reason.message}`.slice(0, 80),
  ]);
  const table = tableText(['SEQ', 'AT', 'SOURCE', 'TASK.SUBTASK / SUBJECT', 'TYPE', 'TRIES', 'REASON'], rows);
  return page.next === undefined ? table : `${table}more: jetsched dlq ls --after ${page.next}\n`;
}

function addShow(dlq: Command): void {
  const cmd = dlq
    .command('show')
    .summary('one dead letter: its reason and message')
    .description(
      'Shows one dead letter: when, source, actor, its task and subtask, the reason with its stack, and the message it held.',
    )
    .argument('<seq>', "the dead letter's sequence number", seqArg);
  jsonOption(cmd, 'the dead letter').action(
    action<{ json?: boolean }, [number]>((o, [seq]) =>
      withClient(o, async (client) => {
        printView(o.json, await client.deadLetter(seq), formatDeadLetter);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched dlq show 12', 'jetsched dlq show 12 --json | jq .message');
}

/** A dead letter as a person reads it: a fact a line, the reason's stack, then the message. */
export function formatDeadLetter(e: DlqGetReply['entry']): string {
  const fields: [string, string][] = [
    ['dead letter', `${e.seq}  ${e.source}`],
    ['at', formatDate(e.at)],
    ['subject', e.subject],
    ['actor', e.actor],
  ];
  if (e.task) {
    const t = e.task;
    fields.push(['task', `${t.id}  subtask ${t.index}  attempt ${t.attempt}  ${t.type} in group ${t.group}`]);
  }
  if (e.deliveries !== undefined) fields.push(['deliveries', String(e.deliveries)]);
  fields.push(['reason', `${e.reason.code}: ${e.reason.message}`]);
  const out = formatFields(fields);
  if (e.reason.stack) out.push('', e.reason.stack);
  out.push('', 'message:', JSON.stringify(e.message, null, 2));
  return out.join('\n') + '\n';
}

function addSelect(dlq: Command, op: 'retry' | 'purge'): void {
  const cmd = addFilters(
    dlq
      .command(op)
      .summary(op === 'retry' ? 'run dead subtasks again, each as a new task' : 'remove dead letters')
      .description(
        op === 'retry'
          ? 'Runs a dead subtask again as a new task with its input: one by <seq>, or --all that match.'
          : 'Removes dead letters: one by <seq>, or --all that match. Prints the reply as JSON.',
      )
      .argument('[seq]', "a dead letter's sequence number", seqArg),
  )
    .option('--all', 'every dead letter that matches the filters')
    .action(
      action<Filters & { all?: boolean }, [number?]>((o, [seq], cmd) => {
        const req: Omit<DlqSelectRequest, 'v'> = {};
        if (seq !== undefined) req.seq = seq;
        else if (o.all) {
          req.all = true;
          if (o.source) req.source = o.source;
          if (o.type) req.type = o.type;
          if (o.task) req.taskId = o.task;
        } else cmd.error(`error: jetsched dlq ${op}: give a <seq>, or --all (with filters)`);
        return withClient(o, async (client) => {
          printJson(op === 'retry' ? await client.retryDeadLetters(req) : await client.purgeDeadLetters(req));
          return 0;
        });
      }),
    );
  examples(cmd, `jetsched dlq ${op} 12`, `jetsched dlq ${op} --all --type resize`);
}
