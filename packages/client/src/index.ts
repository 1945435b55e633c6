export {
  connectClient,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_INLINE_PAYLOAD_LIMIT,
  type Client,
  type ClientOptions,
  type WatchEvent,
  type ResultOptions,
  type SubmitOptions,
} from './client.js';
export {
  JetschedError,
  NonRetryableError,
  RetryAfterError,
  ErrorCode,
  type RetryPolicy,
  type Backoff,
  TaskState,
  type SubmitRequest,
  type SubmitReply,
  type TaskRecord,
  type TaskReply,
  type ProgressMessage,
  type ListRequest,
  type ListReply,
  type SplitSpec,
  type AggregateSpec,
} from '@jetsched/protocol';
/** True for a request that got no answer (a timeout, no coordinator subscribed): worth asking again. */
export { isTransientNatsError as isTransientRequestError } from '@jetsched/runtime';
