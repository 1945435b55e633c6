/**
 * One handler call: the handler gets its input and a context with an AbortSignal (the task is
 * stopped, the subtask timed out, the executor stops hard), and whatever happens becomes an outcome
 * item, encoded here once. A result that cannot be encoded, or is larger than a message carries,
 * fails the subtask with a clear error instead of being retried for ever.
 */
import {
  ContentType,
  encode,
  encodeJson,
  ErrorCode,
  JetschedError,
  toErrorRecord,
  WIRE_VERSION,
  type OutcomeItem,
  type ErrorRecord,
  type ProgressMessage,
  type WorkItem,
} from '@jetsched/protocol';
import { contentHeaders, type Logger, type Topology } from '@jetsched/runtime';
import { context, trace } from '@opentelemetry/api';
import type { ExecutorConfig, HandlerContext } from './options.js';
import { endRunSpan, startRunSpan } from './tracing.js';

/**
 * The abort reason when the executor stops before a handler finishes. Such a subtask was not run to
 * an outcome: its message goes back to the group (nak) instead of being reported as failed.
 */
export class ExecutorShutdown extends JetschedError {
  override readonly name = 'ExecutorShutdown';
  constructor() {
    super(ErrorCode.Cancelled, 'executor is shutting down', { retryable: true });
  }
}

/** The abort reason of a subtask whose task was cancelled or failed elsewhere: not reported. */
export class TaskStopped extends JetschedError {
  override readonly name = 'TaskStopped';
  constructor(reason: string) {
    super(ErrorCode.Cancelled, reason);
  }
}

export interface Ran {
  item: OutcomeItem;
  /** The item msgpack-encoded, ready to go in an outcome message. */
  bytes: Uint8Array;
  /**
   * A handler that ignores its signal runs on after the abort that decided its outcome (a timeout,
   * a stop): this settles when it really ends, and its slot stays taken until then. Undefined when
   * the handler had ended by the time the outcome was decided.
   */
  runningOn: Promise<void> | undefined;
}

/** Calls the handler for one subtask; resolves with its outcome whatever happens. */
export async function runHandler(
  topo: Topology,
  cfg: ExecutorConfig,
  work: WorkItem,
  delivery: number,
  controller: AbortController,
  maxBytes: number,
): Promise<Ran> {
  const startedAt = Date.now();
  const base = {
    taskId: work.taskId,
    index: work.index,
    total: work.total,
    attempt: work.attempt,
    delivery,
    startedAt,
    // the attempt's token, back as it came: without it the coordinator refuses the outcome
    ...(work.token === undefined ? {} : { token: work.token }),
  };
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
  let item: OutcomeItem;
  let ended: Promise<void> | undefined;
  let returned = false;
  const metrics = topo.metrics.of(cfg.group, work.type);
  metrics.started.inc();
  const { span, traceparent } = startRunSpan(work, cfg.id);
  try {
    const handler = cfg.handlers[work.type];
    if (!handler)
      throw new JetschedError(ErrorCode.NoHandler, `no handler for type "${work.type}" on ${cfg.id}`);
    let log: Logger | undefined;
    const ctx: HandlerContext = {
      signal: controller.signal,
      taskId: work.taskId,
      type: work.type,
      index: work.index,
      total: work.total,
      attempt: work.attempt,
      delivery,
      executor: cfg.id,
      traceparent,
      // a child logger costs more than a no-op handler: made when a handler first logs
      get log() {
        return (log ??= cfg.log.child({ taskId: work.taskId, subtask: work.index }));
      },
      progress: (value) => {
        const p: ProgressMessage = {
          v: WIRE_VERSION,
          kind: 'progress',
          taskId: work.taskId,
          index: work.index,
          progress: value,
        };
        try {
          // JSON: read by people (`nats sub 'jetsched.progress.>'`) as much as by watchers
          topo.nc.publish(topo.names.progressSubject(work.taskId), encodeJson(p), {
            headers: contentHeaders(ContentType.Json),
          });
        } catch (err) {
          cfg.log.debug({ err, taskId: work.taskId }, 'could not publish progress');
        }
      },
    };
    const running = Promise.resolve().then(() =>
      context.with(trace.setSpan(context.active(), span), () => handler(work.input, ctx)),
    );
    // registered before `abortable`'s own callbacks: `returned` is set by the time they run
    ended = running.then(
      () => void (returned = true),
      () => void (returned = true),
    );
    const result: unknown = await abortable(running, controller.signal);
    item = { ...base, ok: true, result: result === undefined ? null : result, finishedAt: Date.now() };
  } catch (err) {
    // with its stack and the input it ran on: what a retry, a dead letter and a reader need
    const error = toErrorRecord(err, ErrorCode.HandlerError, { withStack: true });
    item = { ...base, ok: false, error, input: work.input, finishedAt: Date.now() };
  } finally {
    if (timeout) clearTimeout(timeout);
  }
  if (traceparent !== undefined) item.trace = traceparent;
  endRunSpan(span, item.ok ? undefined : item.error);
  (item.ok ? metrics.subtaskOk : metrics.subtaskError).inc();
  metrics.handlerSeconds.observe((item.finishedAt - startedAt) / 1000);
  return { item, bytes: encodeOutcome(item, maxBytes), runningOn: returned ? undefined : ended };
}

/**
 * Encodes an outcome item. A result that cannot be encoded (a BigInt beyond 64 bits, a circular
 * object) or does not fit a message becomes a non-retryable failure that says why. A failure whose
 * input does not fit beside it goes without it (it is not retried then: nothing to run it on).
 */
export function encodeOutcome(item: OutcomeItem, maxBytes: number): Uint8Array {
  if (!item.ok && 'input' in item) {
    const { input: _input, ...bare } = item;
    try {
      const bytes = encode(item);
      if (bytes.length <= maxBytes) return bytes;
    } catch {
      // an input that cannot be encoded again (it came from msgpack, so hardly) goes without
    }
    return encodeOutcome(bare, maxBytes);
  }
  let bytes: Uint8Array;
  try {
    bytes = encode(item);
  } catch (err) {
    return encode(
      failedInstead(item, {
        code: ErrorCode.ResultUnencodable,
        message: `the subtask's result cannot be encoded as msgpack: ${(err as Error).message}`,
        retryable: false,
      }),
    );
  }
  if (bytes.length <= maxBytes) return bytes;
  return encode(
    failedInstead(item, {
      code: ErrorCode.ResultTooLarge,
      message: `the subtask's result is ${bytes.length} bytes, more than a message carries (${maxBytes}): return less, or store it yourself and return a reference`,
      retryable: false,
      details: { size: bytes.length, max: maxBytes },
    }),
  );
}

function failedInstead(item: OutcomeItem, error: ErrorRecord): OutcomeItem {
  const { taskId, index, total, attempt, delivery, startedAt, finishedAt, token } = item;
  const failed: OutcomeItem = {
    taskId,
    index,
    total,
    attempt,
    delivery,
    startedAt,
    finishedAt,
    ok: false,
    error,
  };
  if (token !== undefined) failed.token = token;
  return failed;
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
