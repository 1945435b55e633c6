/**
 * Pure splitting of a task payload into subtask inputs. Deterministic: the same spec and payload
 * always give the same inputs at the same indexes, so a scheduler that re-dispatches after a crash
 * sends identical subtasks (and JetStream dedupes them by `<taskId>.<index>.<attempt>`).
 */
import { ErrorCode, JetschedError } from './errors.js';
import type { SplitSpec } from './types.js';

/** Default cap on subtasks per task; the scheduler's `maxSubtasks` option overrides it. */
export const DEFAULT_MAX_SUBTASKS = 100_000;

/** Input of one subtask of an `items` split. */
export interface ItemsChunk<T = unknown> {
  items: T[];
  /** Index of `items[0]` in the task's payload array. */
  offset: number;
}

/** Input of one subtask of a `range` split: integers in [start, end). */
export interface RangeChunk {
  start: number;
  end: number;
}

function tooMany(total: number, max: number): JetschedError {
  return new JetschedError(
    ErrorCode.SplitFailed,
    `split gives ${total} subtasks, more than the limit of ${max}: raise chunkSize`,
    { details: { total, max } },
  );
}

/** Number of subtasks a built-in split yields, without materializing them. */
export function countSubtasks(split: SplitSpec, payload: unknown): number {
  switch (split.kind) {
    case 'none':
      return 1;
    case 'items': {
      if (!Array.isArray(payload)) {
        throw new JetschedError(ErrorCode.SplitFailed, 'an items split needs the payload to be an array');
      }
      return Math.max(1, Math.ceil(payload.length / split.chunkSize));
    }
    case 'range': {
      if (split.end < split.start) {
        throw new JetschedError(ErrorCode.SplitFailed, 'a range split needs end >= start');
      }
      return Math.max(1, Math.ceil((split.end - split.start) / split.chunkSize));
    }
    case 'custom':
      throw new JetschedError(ErrorCode.NoSplitter, 'a custom split is done by a registered splitter');
  }
}

/** Materializes the subtask inputs of a built-in split, refusing more than `maxSubtasks`. */
export function splitPayload(
  split: SplitSpec,
  payload: unknown,
  maxSubtasks: number = DEFAULT_MAX_SUBTASKS,
): unknown[] {
  const total = countSubtasks(split, payload);
  if (total > maxSubtasks) throw tooMany(total, maxSubtasks);
  switch (split.kind) {
    case 'none':
      // msgpack has no undefined: a task without a payload gives its one subtask `null`
      return [payload ?? null];
    case 'items': {
      const items = payload as unknown[];
      const out: ItemsChunk[] = [];
      for (let i = 0; i < total; i++) {
        const offset = i * split.chunkSize;
        out.push({ items: items.slice(offset, offset + split.chunkSize), offset });
      }
      return out;
    }
    case 'range': {
      const out: RangeChunk[] = [];
      for (let i = 0; i < total; i++) {
        const start = split.start + i * split.chunkSize;
        out.push({ start, end: Math.min(split.end, start + split.chunkSize) });
      }
      return out;
    }
    case 'custom':
      throw new JetschedError(ErrorCode.NoSplitter, 'a custom split is done by a registered splitter');
  }
}

/** Checks a custom splitter's output: a non-empty array within the subtask limit. */
export function checkSplitterOutput(inputs: unknown, maxSubtasks: number = DEFAULT_MAX_SUBTASKS): unknown[] {
  const arr = Array.isArray(inputs)
    ? inputs
    : inputs != null && typeof inputs === 'object' && Symbol.iterator in inputs
      ? [...(inputs as Iterable<unknown>)]
      : undefined;
  if (!arr)
    throw new JetschedError(
      ErrorCode.SplitFailed,
      'a splitter must return an array or iterable of subtask inputs',
    );
  if (arr.length === 0) throw new JetschedError(ErrorCode.SplitFailed, 'a splitter returned no subtasks');
  if (arr.length > maxSubtasks) throw tooMany(arr.length, maxSubtasks);
  return arr;
}
