/**
 * The fault-injection suite's books: what was submitted (acknowledged ids, and what each should end
 * as), what ran (the execution ledger the process fixture appends to, one line per handler run), and
 * the checker that compares them with the task records after a scenario, as the table's row.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminal, type TaskRecord } from '@jetsched/protocol';
import type { ProcessCluster } from '../helpers/processes.js';

/** `FAULTS=full` (`pnpm test:faults`) runs every scenario at full size; CI runs a sample. */
export const FULL = process.env['FAULTS'] === 'full';

/** A task the scenario submitted and was acknowledged: how it should end, and its result. */
export interface Submitted {
  id: string;
  /** How it must end; `failed` and `cancelled` count as "failed as expected". */
  expect: 'succeeded' | 'failed' | 'cancelled';
  /** The result it must have when it succeeds (a duplicate counted would change it). */
  result?: unknown;
}

export interface Row {
  scenario: string;
  submitted: number;
  completed: number;
  failedAsExpected: number;
  lost: number;
  duplicatedOutcomes: number;
  extraExecutions: number;
  stuck: number;
  /** From the fault to the first task that ended after it (ms); NaN when none was injected. */
  recoveryMs: number;
}

/** Rows of every scenario run, printed as the suite's table at the end. */
export const rows: Row[] = [];

/**
 * Waits until every submitted task has ended (or `timeoutMs` passed), then counts: ended as expected,
 * lost (no record), outcomes counted twice (counts above the total, or a result other than the one
 * expected), extra handler runs (beyond one per subtask and attempt, of those that returned), stuck
 * (not ended).
 */
export async function check(
  c: ProcessCluster,
  scenario: string,
  submitted: readonly Submitted[],
  opts: { timeoutMs?: number; faultAt?: number | undefined } = {},
): Promise<Row> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const records = new Map<string, TaskRecord | undefined>();
  const endedAt = new Map<string, number>();
  let pending = [...submitted];
  while (pending.length > 0 && Date.now() < deadline) {
    const next: Submitted[] = [];
    for (const s of pending) {
      const rec = await c.client.get(s.id).then(
        (r) => r.task,
        (err: unknown) => ((err as { code?: string }).code === 'NOT_FOUND' ? undefined : null),
      );
      if (rec === null)
        next.push(s); // no answer right now (a coordinator restarting): ask again
      else {
        records.set(s.id, rec);
        if (rec && isTerminal(rec.state)) endedAt.set(s.id, rec.finishedAt ?? Date.now());
        else if (rec) next.push(s);
      }
    }
    pending = next;
    if (pending.length > 0) await sleep(200);
  }
  const runs = new Map<string, number>();
  // a run is `<taskId> <index> <attempt> <executor>`, written when the handler returns: a retry is
  // an attempt of its own, so only a second run of the same attempt is an extra execution
  for (const line of c.ledger()) {
    const [taskId, index, attempt] = line.split(' ');
    if (!taskId || !/^\d+$/.test(index ?? '') || !/^\d+$/.test(attempt ?? '')) continue;
    const key = `${taskId}.${index}.${attempt}`;
    runs.set(key, (runs.get(key) ?? 0) + 1);
  }
  const ids = new Set(submitted.map((s) => s.id));
  const row: Row = {
    scenario,
    submitted: submitted.length,
    completed: 0,
    failedAsExpected: 0,
    lost: 0,
    duplicatedOutcomes: 0,
    extraExecutions: 0,
    stuck: 0,
    recoveryMs: NaN,
  };
  const stuck: string[] = [];
  for (const s of submitted) {
    const rec = records.get(s.id);
    if (!records.has(s.id)) {
      row.stuck++;
      stuck.push(`${s.id} (no answer)`);
      continue;
    }
    if (rec === undefined) {
      row.lost++;
      continue;
    }
    if (!isTerminal(rec.state)) {
      row.stuck++;
      stuck.push(`${s.id} ${rec.state} ${JSON.stringify(rec.subtasks ?? {})}`);
    } else if (rec.state === 'succeeded' && s.expect === 'succeeded') row.completed++;
    else if (rec.state === s.expect) row.failedAsExpected++;
    const counts = rec.subtasks;
    if (counts && counts.succeeded + counts.failed > counts.total) row.duplicatedOutcomes++;
    else if (rec.state === 'succeeded' && s.result !== undefined) {
      const got = await c.client.result(s.id, { timeoutMs: 10_000 }).catch(() => undefined);
      if (JSON.stringify(got) !== JSON.stringify(s.result)) row.duplicatedOutcomes++;
    }
  }
  for (const [key, n] of runs) if (ids.has(key.split('.')[0] ?? '') && n > 1) row.extraExecutions += n - 1;
  if (opts.faultAt !== undefined) {
    const after = [...endedAt.values()].filter((t) => t >= opts.faultAt!).sort((a, b) => a - b);
    row.recoveryMs = after.length > 0 ? (after[0] as number) - opts.faultAt : NaN;
  }
  // what a failing scenario needs first: which tasks, in what state
  if (stuck.length > 0) {
    const status = await c.client.queueStatus('default').catch((err: unknown) => String(err));
    process.stdout.write(
      `${scenario}: stuck\n  ${stuck.slice(0, 10).join('\n  ')}\n  release status of default: ${JSON.stringify(status)}\n`,
    );
  }
  rows.push(row);
  return row;
}

/** The table of every row, as markdown. */
export function table(): string {
  const head = [
    'scenario',
    'submitted',
    'completed',
    'failed as expected',
    'lost',
    'duplicated outcomes',
    'extra executions',
    'stuck',
    'recovery',
  ];
  const lines = [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`];
  for (const r of rows) {
    lines.push(
      `| ${[
        r.scenario,
        r.submitted,
        r.completed,
        r.failedAsExpected,
        r.lost,
        r.duplicatedOutcomes,
        r.extraExecutions,
        r.stuck,
        Number.isNaN(r.recoveryMs) ? '-' : `${(r.recoveryMs / 1000).toFixed(1)} s`,
      ].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** The sum of squares of `items`: the result of a `squares` task reducing them. */
export function sumOfSquares(items: readonly number[]): number {
  return items.reduce((s, x) => s + x * x, 0);
}
