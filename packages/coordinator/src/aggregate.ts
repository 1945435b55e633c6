/**
 * Turning recorded subtask outcomes into the task result: collect them in subtask order, fold them
 * with a registered reducer, or discard them. A subtask that failed within its task's fan-in (the
 * task succeeds with partial results) is {@link FAILED} here: `null` when collected, skipped by a
 * reducer.
 */
import {
  decode,
  ErrorCode,
  JetschedError,
  validate,
  type OutcomeItem,
  type Refusal,
  type TaskRecord,
} from '@jetsched/protocol';
import { scanBucket, type Topology } from '@jetsched/runtime';
import type { Reducer } from './options.js';

/** The result of a subtask that failed (partial results). */
export const FAILED: unique symbol = Symbol('failed subtask');

/**
 * Reads every subtask result of a task, in index order, in one pass over the subtask records stored
 * beside its record in the tasks bucket (`<taskId>.<index>`; `<taskId>.result` is skipped).
 */
export async function readResults(topo: Topology, task: TaskRecord): Promise<unknown[]> {
  const total = task.subtasks?.total ?? 0;
  const results: unknown[] = new Array(total);
  let seen = 0;
  for await (const e of scanBucket(topo.js, topo.names.buckets.tasks, `${task.id}.*`)) {
    if (!/^\d+$/.test(e.key.slice(task.id.length + 1))) continue;
    const rec = validate('subtask-record', decode(e.data));
    if (rec.index < total && results[rec.index] === undefined) {
      results[rec.index] = rec.ok ? rec.result : FAILED;
      seen++;
    }
  }
  if (seen !== total) {
    // the records are written before the done bits, so a shortfall means a read from a lagging replica
    throw new JetschedError(ErrorCode.Internal, `found ${seen} of ${total} subtask results for ${task.id}`, {
      retryable: true,
    });
  }
  return results;
}

/**
 * The results of a task whose outcomes all arrive in one batch, by subtask index: only those of the
 * outcomes that counted (`refused[k]` undefined), so that a refused one in the same batch (a stale
 * delivery's, a duplicate) has no say, for the `total` subtasks of the task's record (not what an
 * item claims).
 */
export function inHandResults(
  total: number,
  items: readonly OutcomeItem[],
  refused: readonly (Refusal | undefined)[],
): unknown[] {
  const results = new Array<unknown>(total);
  items.forEach((o, k) => {
    if (refused[k] === undefined && o.index < total) results[o.index] = o.ok ? o.result : FAILED;
  });
  return results;
}

/** Folds results already in hand, in subtask order (collect or reduce). */
export async function aggregateResults(
  task: TaskRecord,
  results: unknown[],
  reducers: Readonly<Record<string, Reducer>>,
): Promise<unknown> {
  switch (task.aggregate.kind) {
    case 'none':
      return null;
    case 'collect':
      return results.map((r) => (r === FAILED ? null : r));
    case 'reduce': {
      const reducer = reducers[task.type];
      if (!reducer) {
        throw new JetschedError(ErrorCode.NoReducer, `no reducer registered for type "${task.type}"`);
      }
      let acc: unknown = undefined;
      try {
        for (let i = 0; i < results.length; i++) {
          if (results[i] !== FAILED) acc = await reducer(acc, results[i], i);
        }
      } catch (err) {
        throw new JetschedError(
          ErrorCode.ReduceFailed,
          `reducer for "${task.type}" threw: ${(err as Error).message}`,
          { cause: err },
        );
      }
      return acc ?? null;
    }
  }
}
