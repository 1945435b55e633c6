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
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The serialized form of an error on the wire and in stored records. */
export interface ErrorRecord {
  code: string;
  message: string;
  retryable: boolean;
  details?: unknown;
}

export interface JetschedErrorOptions {
  retryable?: boolean;
  details?: unknown;
  cause?: unknown;
}

export class JetschedError extends Error {
  override readonly name: string = 'JetschedError';
  readonly code: string;
  readonly retryable: boolean;
  readonly details: unknown;

  constructor(code: string, message: string, opts: JetschedErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.details = opts.details;
  }

  toRecord(): ErrorRecord {
    const rec: ErrorRecord = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.details !== undefined) rec.details = this.details;
    return rec;
  }

  static fromRecord(rec: ErrorRecord): JetschedError {
    return new JetschedError(rec.code, rec.message, { retryable: rec.retryable, details: rec.details });
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
export function isJetschedErrorLike(
  err: unknown,
): err is { code: string; message: string; retryable: boolean; details?: unknown } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; retryable?: unknown };
  return typeof e.code === 'string' && typeof e.message === 'string' && typeof e.retryable === 'boolean';
}

/** Converts anything thrown into a wire error record. Unknown throwables become HANDLER_ERROR. */
export function toErrorRecord(err: unknown, fallbackCode: string = ErrorCode.HandlerError): ErrorRecord {
  if (err instanceof JetschedError) return err.toRecord();
  if (isJetschedErrorLike(err)) {
    const rec: ErrorRecord = { code: err.code, message: err.message, retryable: err.retryable };
    if (err.details !== undefined) rec.details = err.details;
    return rec;
  }
  if (err instanceof Error) {
    return { code: fallbackCode, message: err.message || err.name, retryable: true };
  }
  return { code: fallbackCode, message: String(err), retryable: true };
}
