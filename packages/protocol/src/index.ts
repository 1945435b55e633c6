export {
  DEFAULT_PREFIX,
  DEFAULT_GROUP,
  DEFAULT_TENANT,
  TOKEN_RE,
  isValidPrefix,
  isValidToken,
  names,
  type Names,
} from './names.js';
export { Header, ContentType } from './headers.js';
export {
  ErrorCode,
  JetschedError,
  NonRetryableError,
  toErrorRecord,
  type ErrorRecord,
  type JetschedErrorOptions,
} from './errors.js';
export { encode, decode, encodeJson, decodeJson, contentTypeOf } from './codec.js';
export {
  TaskState,
  TASK_STATES,
  TERMINAL_STATES,
  isTerminal,
  canTransition,
  isTaskState,
} from './task-state.js';
export {
  WIRE_VERSION,
  type SplitSpec,
  type AggregateSpec,
  type PayloadRef,
  type SubmitRequest,
  type SubmitManyRequest,
  type GetRequest,
  type ListRequest,
  type CancelRequest,
  type WaitRequest,
  type SubtaskCounts,
  type TaskRecord,
  type SubtaskRecord,
  type SchedMessage,
  type WorkMessage,
  type WorkBatchMessage,
  type OutcomeMessage,
  type OutcomeItem,
  type OutcomeBatchMessage,
  type TaskEvent,
  type ProgressMessage,
  type CancelMessage,
  type DeadLetter,
  type ApiReply,
  type SubmitReply,
  type SubmitManyReply,
  type TaskReply,
  type ResultEnvelope,
  type ListReply,
} from './types.js';
export { schemas, MAX_CHUNK_SIZE, MAX_SUBTASKS_PER_MESSAGE, type SchemaId } from './schemas.js';
export { validate, explain, kindOf, type SchemaTypes } from './validate.js';
export {
  DEFAULT_MAX_SUBTASKS,
  countSubtasks,
  splitPayload,
  checkSplitterOutput,
  type ItemsChunk,
  type RangeChunk,
} from './split.js';
export { Bitmap, emptyBitmap } from './bitmap.js';
export { MIN_SERVER_VERSION, compareVersions } from './server-version.js';
export { newTaskId, subtaskMsgId, subtaskBatchMsgId, subtaskKey, idempotencyKvKey } from './ids.js';
export { planWorkMessages, type WorkMessagePlan } from './dispatch-plan.js';
