/**
 * Running one subtask: handler call with an AbortSignal (cancel, timeout, hard stop), in-progress
 * heartbeats to JetStream while it runs, and the outcome published (and acked by the stream)
 * before the work message is acked.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import {
  encode,
  ErrorCode,
  Header,
  isValidToken,
  JetschedError,
  subtaskMsgId,
  toErrorRecord,
  WIRE_VERSION,
  type ErrorRecord,
  type OutcomeMessage,
  type ProgressMessage,
  type WorkMessage,
} from '@jetsched/protocol';
import { publishDeduped, type Topology } from '@jetsched/runtime';
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

export async function runSubtask(
  topo: Topology,
  cfg: ExecutorConfig,
  msg: JsMsg,
  work: WorkMessage,
  controller: AbortController,
): Promise<void> {
  const startedAt = Date.now();
  const started: ProgressMessage = {
    v: WIRE_VERSION,
    kind: 'started',
    taskId: work.taskId,
    index: work.index,
    attempt: work.attempt,
    executor: cfg.id,
  };
  topo.nc.publish(topo.names.progressSubject(work.taskId), encode(started));

  const heartbeat = setInterval(() => msg.working(), Math.max(1000, cfg.ackWaitMs / 3));
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
  let outcome: OutcomeMessage;
  const base = {
    v: WIRE_VERSION,
    kind: 'outcome' as const,
    taskId: work.taskId,
    index: work.index,
    attempt: work.attempt,
    executor: cfg.id,
    startedAt,
  };
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
    outcome = { ...base, ok: true, result: result === undefined ? null : result, finishedAt: Date.now() };
  } catch (err) {
    outcome = { ...base, ok: false, error: toErrorRecord(err), finishedAt: Date.now() };
  } finally {
    clearInterval(heartbeat);
    if (timeout) clearTimeout(timeout);
  }
  if (controller.signal.reason instanceof ExecutorShutdown) {
    msg.nak(); // another member of the group runs it now, not after the ack wait
    return;
  }
  await publishOutcome(topo, work.type, fitToMessage(topo, outcome));
  msg.ack();
}

/** Room left in a message for headers and the outcome's own fields. */
const OUTCOME_OVERHEAD_BYTES = 4096;

/**
 * An outcome that cannot be published would be retried forever; a result too large for a message
 * becomes a non-retryable failure that says so.
 */
function fitToMessage(topo: Topology, outcome: OutcomeMessage): OutcomeMessage {
  if (!outcome.ok) return outcome;
  const max = topo.nc.info?.max_payload ?? 1024 * 1024;
  const size = encode(outcome.result).length;
  if (size + OUTCOME_OVERHEAD_BYTES <= max) return outcome;
  const { result: _dropped, ...rest } = outcome;
  return {
    ...rest,
    ok: false,
    error: {
      code: ErrorCode.ResultTooLarge,
      message: `subtask result is ${size} bytes, more than fits the server's max_payload of ${max}: return less, or store it yourself and return a reference`,
      retryable: false,
      details: { size, max },
    },
  };
}

/** Publishes an outcome and waits for the stream's ack (deduped by `<taskId>.<index>.<attempt>`). */
async function publishOutcome(topo: Topology, type: string, outcome: OutcomeMessage): Promise<void> {
  const h = headers();
  h.set(Header.TaskId, outcome.taskId);
  h.set(Header.TaskType, type);
  h.set(Header.Subtask, String(outcome.index));
  h.set(Header.Attempt, String(outcome.attempt));
  await publishDeduped(topo.js, topo.names.outcomeSubject(outcome.taskId), encode(outcome), {
    msgID: subtaskMsgId(outcome.taskId, outcome.index, outcome.attempt),
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
