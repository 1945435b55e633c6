/**
 * Turning recorded subtask outcomes into the task result: collect them in subtask order, fold them
 * with a registered reducer, or discard them.
 */
import { decode, ErrorCode, JetschedError, validate, type TaskRecord } from '@jetsched/protocol';
import { scanBucket, type Topology } from '@jetsched/runtime';
import type { Reducer } from './options.js';

/** Reads every subtask result of a task, in index order, in one pass over the subtasks bucket. */
export async function readResults(topo: Topology, task: TaskRecord): Promise<unknown[]> {
  const total = task.subtasks?.total ?? 0;
  const results: unknown[] = new Array(total);
  let seen = 0;
  for await (const e of scanBucket(topo.js, topo.names.buckets.subtasks, `${task.id}.*`)) {
    const rec = validate('subtask-record', decode(e.data));
    if (rec.index < total && rec.ok && results[rec.index] === undefined) {
      results[rec.index] = rec.result;
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
      return results;
    case 'reduce': {
      const reducer = reducers[task.type];
      if (!reducer) {
        throw new JetschedError(ErrorCode.NoReducer, `no reducer registered for type "${task.type}"`);
      }
      let acc: unknown = undefined;
      try {
        for (let i = 0; i < results.length; i++) acc = await reducer(acc, results[i], i);
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
