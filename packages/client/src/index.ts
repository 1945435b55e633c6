// everything a browser gets, and connecting by TCP
export * from './browser.js';
export { connectClient } from './connect.js';
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
