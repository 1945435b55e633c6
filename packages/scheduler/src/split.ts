/**
 * A task's input, and its subtask inputs: the payload inline or from the claim check, split by the
 * built-in splits or a splitter registered for the task type (bounded by `splitTimeoutMs`).
 */
import {
  checkSplitterOutput,
  decode,
  ErrorCode,
  isJetschedErrorLike,
  JetschedError,
  splitPayload,
  type SchedTask,
  type TaskRecord,
} from '@jetsched/protocol';
import type { Topology } from '@jetsched/runtime';
import type { SchedulerConfig } from './options.js';

/** Loads the payload, inline or claim-checked in the payloads object store. */
export async function loadPayload(topo: Topology, task: SchedTask): Promise<unknown> {
  if (!task.payloadRef) return task.payload;
  const store = await topo.payloads();
  const bytes = await store.getBlob(task.payloadRef.name);
  if (!bytes) {
    throw new JetschedError(
      ErrorCode.NotFound,
      `payload ${task.payloadRef.name} not found in the payloads store`,
    );
  }
  return decode(bytes);
}

export async function splitTask(
  cfg: SchedulerConfig,
  task: TaskRecord,
  payload: unknown,
): Promise<unknown[]> {
  if (task.split.kind !== 'custom') return splitPayload(task.split, payload, cfg.maxSubtasks);
  const splitter = cfg.splitters[task.type];
  if (!splitter) {
    throw new JetschedError(
      ErrorCode.NoSplitter,
      `no splitter registered for type "${task.type}" in the scheduler`,
    );
  }
  let out: unknown;
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new JetschedError(
        ErrorCode.SplitFailed,
        `splitter for "${task.type}" did not finish within ${cfg.splitTimeoutMs} ms`,
        { retryable: false },
      );
      controller.abort(err);
      reject(err);
    }, cfg.splitTimeoutMs);
  });
  try {
    out = await Promise.race([
      Promise.resolve(splitter(payload, { signal: controller.signal, taskId: task.id })),
      timedOut,
    ]);
  } catch (err) {
    if (err instanceof JetschedError && err.code === ErrorCode.SplitFailed) throw err;
    // a splitter that says "not now" (a retryable error) is tried again, up to the hand-off's deliveries
    const retryable = isJetschedErrorLike(err) && err.retryable;
    throw new JetschedError(
      ErrorCode.SplitFailed,
      `splitter for "${task.type}" threw: ${(err as Error).message}`,
      {
        cause: err,
        retryable,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  return checkSplitterOutput(out, cfg.maxSubtasks);
}
