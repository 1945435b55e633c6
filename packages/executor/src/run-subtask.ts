/**
 * Running subtasks: a handler call with an AbortSignal (cancel, timeout, hard stop) turned into an
 * outcome, and the outcome published (and acked by the stream) before the work message is acked.
 * A work message carries one subtask ({@link runSubtask}) or several of one task ({@link runBatch},
 * answered by one outcome message).
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  encode,
  ErrorCode,
  Header,
  isValidToken,
  JetschedError,
  subtaskBatchMsgId,
  subtaskMsgId,
  toErrorRecord,
  WIRE_VERSION,
  type ErrorRecord,
  type OutcomeBatchMessage,
  type OutcomeItem,
  type OutcomeMessage,
  type ProgressMessage,
  type WorkBatchMessage,
  type WorkMessage,
} from '@jetsched/protocol';
import {
  maxBodyBytes,
  MESSAGE_OVERHEAD_BYTES,
  publishDeduped,
  subtaskHeaders,
  type Topology,
} from '@jetsched/runtime';
import type { ExecutorConfig, HandlerContext } from './options.js';

/**
 * The abort reason when the executor stops before a handler finishes. Such a subtask was not run to
 * an outcome: it goes back to the group (nak) instead of being reported as failed.
 */
export class ExecutorShutdown extends JetschedError {
  override readonly name = 'ExecutorShutdown';
  constructor() {
    super(ErrorCode.Cancelled, 'executor is shutting down', { retryable: true });
  }
}

/**
 * The abort reason of a subtask whose sibling in the same work message failed: the task fails with
 * the sibling's error, so the rest of the message need not run, and is not reported.
 */
class SiblingFailed extends JetschedError {
  override readonly name = 'SiblingFailed';
  constructor() {
    super(ErrorCode.Cancelled, 'another subtask of the same work message failed');
  }
}

/** Bounds how many handlers run at once across every message an executor holds. */
export interface Slots {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/** What one handler call needs: a subtask of either message kind. */
interface SubtaskRun {
  taskId: string;
  type: string;
  index: number;
  total: number;
  attempt: number;
  input: unknown;
  timeoutMs?: number;
}

/** One work message (single) to its outcome, published before the ack. */
export async function runSubtask(
  topo: Topology,
  cfg: ExecutorConfig,
  msg: JsMsg,
  work: WorkMessage,
  controller: AbortController,
): Promise<void> {
  const item = await runHandler(topo, cfg, work, controller, true);
  if (controller.signal.reason instanceof ExecutorShutdown) {
    msg.nak(); // another member of the group runs it now, not after the ack wait
    return;
  }
  const outcome: OutcomeMessage = {
    v: WIRE_VERSION,
    kind: 'outcome',
    taskId: work.taskId,
    attempt: work.attempt,
    executor: cfg.id,
    ...fitToMessage(topo, item),
  };
  await publishOutcome(topo, work.type, outcome);
  msg.ack();
}

/**
 * A work message carrying several subtasks of one task: each runs in a slot of its own, and their
 * outcomes go out in one outcome message (several when they do not fit one). The first failure
 * aborts the subtasks not yet finished, since it fails the task.
 */
export async function runBatch(
  topo: Topology,
  cfg: ExecutorConfig,
  msg: JsMsg,
  batch: WorkBatchMessage,
  controllers: AbortController[],
  slots: Slots,
): Promise<void> {
  const runs = batch.items.map((item, i) =>
    slots.run(async (): Promise<OutcomeItem | undefined> => {
      const controller = controllers[i];
      if (!controller || controller.signal.aborted) return undefined; // stopped before it started
      const work: SubtaskRun = { ...batch, index: item.index, input: item.input };
      const out = await runHandler(topo, cfg, work, controller, i === 0);
      const stopped: unknown = controller.signal.reason;
      if (stopped instanceof SiblingFailed) return undefined;
      if (!out.ok && !(stopped instanceof ExecutorShutdown)) {
        for (const c of controllers) if (c !== controller) c.abort(new SiblingFailed());
      }
      return out;
    }),
  );
  const items = (await Promise.all(runs)).filter((o): o is OutcomeItem => o !== undefined);
  if (controllers.some((c) => c.signal.reason instanceof ExecutorShutdown)) {
    msg.nak(); // the whole message goes back to the group; outcomes recorded twice count once
    return;
  }
  if (items.length > 0)
    await publishOutcomeBatch(
      topo,
      cfg,
      batch,
      items.map((o) => fitToMessage(topo, o)),
    );
  msg.ack();
}

/** Calls the handler for one subtask; resolves with its outcome whatever happens. */
async function runHandler(
  topo: Topology,
  cfg: ExecutorConfig,
  work: SubtaskRun,
  controller: AbortController,
  announce: boolean,
): Promise<OutcomeItem> {
  const startedAt = Date.now();
  if (announce) {
    const started: ProgressMessage = {
      v: WIRE_VERSION,
      kind: 'started',
      taskId: work.taskId,
      index: work.index,
      attempt: work.attempt,
      executor: cfg.id,
    };
    topo.nc.publish(topo.names.progressSubject(work.taskId), encode(started));
  }
  const timeout =
    work.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () =>
            controller.abort(
              new JetschedError(ErrorCode.Timeout, `subtask timed out after ${work.timeoutMs} ms`, {
                retryable: true,
              }),
            ),
          work.timeoutMs,
        );
  try {
    const handler = cfg.handlers[work.type];
    if (!handler) {
      throw new JetschedError(
        ErrorCode.NoHandler,
        `no handler for type "${work.type}" in group "${cfg.group}"`,
      );
    }
    const ctx: HandlerContext = {
      signal: controller.signal,
      taskId: work.taskId,
      type: work.type,
      index: work.index,
      total: work.total,
      attempt: work.attempt,
      executor: cfg.id,
      log: cfg.log.child({ taskId: work.taskId, subtask: work.index }),
      progress: (value) => {
        const p: ProgressMessage = {
          v: WIRE_VERSION,
          kind: 'handler',
          taskId: work.taskId,
          index: work.index,
          progress: value,
        };
        topo.nc.publish(topo.names.progressSubject(work.taskId), encode(p));
      },
    };
    const result = await abortable(Promise.resolve(handler(work.input, ctx)), controller.signal);
    return {
      index: work.index,
      ok: true,
      result: result === undefined ? null : result,
      startedAt,
      finishedAt: Date.now(),
    };
  } catch (err) {
    return { index: work.index, ok: false, error: toErrorRecord(err), startedAt, finishedAt: Date.now() };
  } finally {
    if (timeout) clearTimeout(timeout);
  }
}

/**
 * An outcome that cannot be published would be retried forever; a result too large for a message
 * becomes a non-retryable failure that says so.
 */
function fitToMessage(topo: Topology, item: OutcomeItem): OutcomeItem {
  if (!item.ok) return item;
  const max = maxBodyBytes(topo.nc);
  const size = encode(item.result).length;
  if (size <= max) return item;
  const { result: _dropped, ...rest } = item;
  return {
    ...rest,
    ok: false,
    error: {
      code: ErrorCode.ResultTooLarge,
      message: `subtask result is ${size} bytes, more than fits the server's max_payload of ${max + MESSAGE_OVERHEAD_BYTES}: return less, or store it yourself and return a reference`,
      retryable: false,
      details: { size, max: max + MESSAGE_OVERHEAD_BYTES },
    },
  };
}

/** Publishes an outcome and waits for the stream's ack (deduped by `<taskId>.<index>.<attempt>`). */
async function publishOutcome(topo: Topology, type: string, outcome: OutcomeMessage): Promise<void> {
  await publishDeduped(topo.js, topo.names.outcomeSubject(outcome.taskId), encode(outcome), {
    msgID: subtaskMsgId(outcome.taskId, outcome.index, outcome.attempt),
    headers: subtaskHeaders(outcome.taskId, type, outcome.index, outcome.attempt),
  });
}

/**
 * Publishes the outcomes of a batch in one message, or in halves while a message would exceed the
 * server's max_payload (deduped by `<taskId>.<first>-<last>.<attempt>` of the indexes inside).
 */
async function publishOutcomeBatch(
  topo: Topology,
  cfg: ExecutorConfig,
  batch: WorkBatchMessage,
  items: OutcomeItem[],
): Promise<void> {
  const out: OutcomeBatchMessage = {
    v: WIRE_VERSION,
    kind: 'outcomes',
    taskId: batch.taskId,
    attempt: batch.attempt,
    executor: cfg.id,
    items,
  };
  const data = encode(out);
  if (data.length > maxBodyBytes(topo.nc) && items.length > 1) {
    const mid = Math.ceil(items.length / 2);
    await publishOutcomeBatch(topo, cfg, batch, items.slice(0, mid));
    await publishOutcomeBatch(topo, cfg, batch, items.slice(mid));
    return;
  }
  const first = items[0]?.index ?? 0;
  const last = items[items.length - 1]?.index ?? first;
  const h = subtaskHeaders(batch.taskId, batch.type, first, batch.attempt);
  h.set(Header.Subtasks, String(items.length));
  await publishDeduped(topo.js, topo.names.outcomeSubject(batch.taskId), data, {
    msgID: subtaskBatchMsgId(batch.taskId, first, last, batch.attempt),
    headers: h,
  });
}

/**
 * A work message that cannot be run (its body does not validate) is dead-lettered by the caller;
 * when its headers still name the task, subtask and attempt, the task is told with a failed outcome,
 * so it fails instead of waiting forever for a subtask that will never report.
 */
export async function reportUnrunnable(
  topo: Topology,
  cfg: ExecutorConfig,
  msg: JsMsg,
  error: ErrorRecord,
): Promise<void> {
  const taskId = msg.headers?.get(Header.TaskId) ?? '';
  const index = Number(msg.headers?.get(Header.Subtask));
  const attempt = Number(msg.headers?.get(Header.Attempt));
  if (
    !isValidToken(taskId) ||
    !Number.isInteger(index) ||
    index < 0 ||
    !Number.isInteger(attempt) ||
    attempt < 1
  ) {
    return;
  }
  const now = Date.now();
  const outcome: OutcomeMessage = {
    v: WIRE_VERSION,
    kind: 'outcome',
    taskId,
    index,
    attempt,
    executor: cfg.id,
    startedAt: now,
    finishedAt: now,
    ok: false,
    error,
  };
  await publishOutcome(topo, msg.headers?.get(Header.TaskType) || 'unknown', outcome);
}

/** Settles with the signal's reason as soon as it aborts, even if the handler ignores the signal. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : new JetschedError(ErrorCode.Cancelled, 'subtask aborted');
}
