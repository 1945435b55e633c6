/**
 * Errors as they cross the wire: a record `{ code, message, retryable, details }`, never a bare
 * stack. `JetschedError` carries the same fields in process, plus `cause`.
 */

export const ErrorCode = {
  /** The bytes could not be decoded as msgpack or JSON. */
  BadEncoding: 'BAD_ENCODING',
  /** The decoded value does not match the message's JSON Schema. */
  BadRequest: 'BAD_REQUEST',
  /** The message is larger than the configured limit. */
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  NotFound: 'NOT_FOUND',
  /** The operation is not allowed in the task's current state. */
  InvalidState: 'INVALID_STATE',
  Timeout: 'TIMEOUT',
  /** The task had not ended by its deadline (`deadlineMs`). */
  DeadlineExceeded: 'DEADLINE_EXCEEDED',
  Cancelled: 'CANCELLED',
  /** No handler, splitter or reducer is registered for the task type where it is needed. */
  NoHandler: 'NO_HANDLER',
  NoSplitter: 'NO_SPLITTER',
  NoReducer: 'NO_REDUCER',
  SplitFailed: 'SPLIT_FAILED',
  ReduceFailed: 'REDUCE_FAILED',
  /** A subtask's result does not fit a NATS message (the server's max_payload). */
  ResultTooLarge: 'RESULT_TOO_LARGE',
  /** A subtask's result cannot be encoded (a circular object, a function, ...). */
  ResultUnencodable: 'RESULT_UNENCODABLE',
  /** A message was delivered as often as its consumer allows without being processed. */
  MaxDeliveries: 'MAX_DELIVERIES',
  /** No live executor of the task's group serves its type (and the submit asked to be refused). */
  NoExecutor: 'NO_EXECUTOR',
  /** A message or record of a protocol version this jetsched does not speak. */
  UnsupportedVersion: 'UNSUPPORTED_VERSION',
  /** The streams, buckets and consumers are missing or differ from what this jetsched needs. */
  NotProvisioned: 'NOT_PROVISIONED',
  /** A user handler threw. */
  HandlerError: 'HANDLER_ERROR',
  /** The NATS server is older than the minimum supported version. */
  ServerTooOld: 'SERVER_TOO_OLD',
  /** An outcome or failure without the token of the attempt it names (ADR 0026). */
  Forbidden: 'FORBIDDEN',
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The serialized form of an error on the wire and in stored records. */
export interface ErrorRecord {
  code: string;
  message: string;
  retryable: boolean;
  details?: unknown;
  /** Where it was thrown (a handler's error), cut to {@link MAX_STACK_CHARS}. */
  stack?: string;
  /** A handler's wish: the next attempt no sooner than this many ms from now (instead of the backoff). */
  retryAfterMs?: number;
}

/** The most of a stack an error record keeps. */
export const MAX_STACK_CHARS = 8_192;

export interface JetschedErrorOptions {
  retryable?: boolean;
  details?: unknown;
  cause?: unknown;
  /** Retry no sooner than this many ms from now (a retryable error only). */
  retryAfterMs?: number;
}

export class JetschedError extends Error {
  override readonly name: string = 'JetschedError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, opts: JetschedErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
    this.retryAfterMs = opts.retryAfterMs;
  }

  toRecord(): ErrorRecord {
    return toErrorRecord(this);
  }

  static fromRecord(rec: ErrorRecord): JetschedError {
    const err = new JetschedError(rec.code, rec.message, {
      retryable: rec.retryable,
      details: rec.details,
      ...(rec.retryAfterMs !== undefined ? { retryAfterMs: rec.retryAfterMs } : {}),
    });
    if (rec.stack !== undefined) err.stack = rec.stack;
    return err;
  }
}

/**
 * Thrown by a handler to have its subtask tried again no sooner than `retryAfterMs` from now (an
 * upstream's rate limit, say), whatever the backoff says; it still counts as an attempt.
 */
export class RetryAfterError extends JetschedError {
  override readonly name = 'RetryAfterError';
  constructor(
    message: string,
    retryAfterMs: number,
    opts: Omit<JetschedErrorOptions, 'retryable' | 'retryAfterMs'> & { code?: string } = {},
  ) {
    super(opts.code ?? ErrorCode.HandlerError, message, { ...opts, retryable: true, retryAfterMs });
  }
}

/** Thrown by a handler to fail its subtask at once, with no retry (BullMQ's UnrecoverableError). */
export class NonRetryableError extends JetschedError {
  override readonly name = 'NonRetryableError';
  constructor(message: string, opts: Omit<JetschedErrorOptions, 'retryable'> & { code?: string } = {}) {
    super(opts.code ?? ErrorCode.HandlerError, message, { ...opts, retryable: false });
  }
}

/**
 * True for anything shaped like a jetsched error (a `code`, a `message` and a `retryable` flag),
 * whichever copy of this package made it: an application may bundle its own.
 */
export function isJetschedErrorLike(err: unknown): err is {
  code: string;
  message: string;
  retryable: boolean;
  details?: unknown;
  retryAfterMs?: unknown;
  stack?: unknown;
} {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown };
  return typeof e.code === 'string' && typeof e.message === 'string' && typeof e.retryable === 'boolean';
}

/**
 * Converts anything thrown into a wire error record. Unknown throwables become HANDLER_ERROR,
 * retryable; anything shaped like a jetsched error (whichever copy of the package made it) keeps its
 * code, flag, details and `retryAfterMs`. `withStack`: keep where it was thrown too (a handler's
 * error; never an actor's own, which a reply would show to whoever asked).
 */
export function toErrorRecord(
  err: unknown,
  fallbackCode: string = ErrorCode.HandlerError,
  opts: { withStack?: boolean } = {},
): ErrorRecord {
  let rec: ErrorRecord;
  if (isJetschedErrorLike(err)) {
    rec = { code: err.code, message: err.message, retryable: err.retryable };
    if (err.details !== undefined) rec.details = err.details;
    const after = err.retryAfterMs;
    if (typeof after === 'number' && Number.isFinite(after) && after >= 0)
      rec.retryAfterMs = Math.round(after);
  } else if (err instanceof Error) {
    rec = { code: fallbackCode, message: err.message || err.name, retryable: true };
  } else {
    return { code: fallbackCode, message: String(err), retryable: true };
  }
  const stack = (err as { stack?: unknown }).stack;
  if (opts.withStack && typeof stack === 'string' && stack.length > 0) {
    rec.stack = stack.slice(0, MAX_STACK_CHARS);
  }
  return rec;
}
