/**
 * `jetsched attempts <id>`: the failed attempts of a task's subtasks, oldest first (each retried
 * attempt, and a subtask's last failure), read from the tasks bucket: per subtask and attempt its
 * time, executor, error and the first lines of its stack; `--json` the subtask records as stored.
 */
import type { Command } from 'commander';
import { decode, type SubtaskRecord } from '@jetsched/protocol';
import { scanBucket, type Topology } from '@jetsched/runtime';
import { action, examples, jsonOption } from '../command.js';
import { withTopology } from '../connect.js';
import { formatDate, formatDuration, printView } from '../output.js';

/** The stack lines a human view shows of each error. */
const STACK_LINES = 3;
/** The characters of an input a human view shows. */
const INPUT_CHARS = 120;

/** Adds `attempts` to `program`. */
export function addAttemptsCommand(program: Command): void {
  const cmd = program
    .command('attempts')
    .summary("a task's failed attempts: error, stack, executor, input")
    .description(
      "The failed attempts of a task's subtasks, per subtask and attempt: when it ran and for how " +
        'long, its executor, the error with the first lines of its stack, its input.',
    )
    .argument('<id>', 'the task id');
  jsonOption(cmd, 'the subtask records').action(
    action<{ json?: boolean }>((o, [id]) =>
      withTopology(o, async (topo) => {
        printView(o.json, await failedAttempts(topo, id), (failed) => formatAttempts(id, failed));
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched attempts <id>', 'jetsched attempts <id> --json | jq ".[].error.stack"');
}

/** The failed subtask records of task `id`, by subtask, then attempt. */
async function failedAttempts(topo: Topology, id: string): Promise<SubtaskRecord[]> {
  const failed: SubtaskRecord[] = [];
  for await (const e of scanBucket(topo.js, topo.names.buckets.tasks, `${id}.>`)) {
    // `<id>.<index>` and `<id>.<index>.<attempt>`: subtask records (the result key is not one)
    if (!/^\d+(\.\d+)?$/.test(e.key.slice(id.length + 1))) continue;
    const rec = decode(e.data) as SubtaskRecord;
    if (!rec.ok) failed.push(rec);
  }
  return failed.sort((a, b) => a.index - b.index || a.attempt - b.attempt);
}

/** Failed attempts as a person reads them: grouped by subtask, an attempt a paragraph. */
export function formatAttempts(id: string, failed: SubtaskRecord[]): string {
  if (failed.length === 0) return `no failed attempt of task ${id}\n`;
  const out = [`task ${id}: ${failed.length} failed attempt${failed.length === 1 ? '' : 's'}`];
  let subtask: number | undefined;
  for (const r of failed) {
    if (r.index !== subtask) out.push('', `subtask ${r.index}`);
    subtask = r.index;
    out.push(
      `  attempt ${r.attempt}  ${formatDate(r.startedAt)}  took ${formatDuration(r.finishedAt - r.startedAt)}` +
        `  executor ${r.executor}${r.delivery > 1 ? `  (delivery ${r.delivery})` : ''}`,
    );
    if (r.error)
      out.push(`    ${r.error.code}: ${r.error.message}`, ...stackHead(r.error.stack, r.error.message));
    if (r.input !== undefined) out.push(`    input ${clip(JSON.stringify(r.input) ?? '', INPUT_CHARS)}`);
  }
  return out.join('\n') + '\n';
}

/** The first lines of a stack, without the line that repeats the message, and how many more. */
function stackHead(stack: string | undefined, message: string): string[] {
  if (!stack) return [];
  const lines = stack.split('\n');
  const frames = lines[0]?.includes(message) ? lines.slice(1) : lines;
  const shown = frames.slice(0, STACK_LINES).map((l) => `      ${l.trim()}`);
  const more = frames.length - shown.length;
  return more > 0 ? [...shown, `      ... ${more} more (--json for all)`] : shown;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
