/**
 * JSON Schema (draft-07) for every jetsched message. These objects are the single source of truth:
 * actors validate with them (./validate.ts) and `docs/schemas/*.json` is generated from them
 * (`pnpm --filter @jetsched/protocol schemas`; a test fails when the two drift apart).
 */

const token = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const id = token;
const nonNegInt = { type: 'integer', minimum: 0 } as const;
const millis = { type: 'integer', minimum: 0 } as const;
const version = { type: 'integer', const: 1 } as const;
const state = {
  type: 'string',
  enum: ['pending', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled'],
} as const;

export const MAX_CHUNK_SIZE = 1_000_000;
/** Most subtasks one work message may carry (`subtasksPerMessage`). */
export const MAX_SUBTASKS_PER_MESSAGE = 1_000;
const subtasksPerMessage = { type: 'integer', minimum: 1, maximum: MAX_SUBTASKS_PER_MESSAGE } as const;

const errorRecord = {
  $id: 'error-record',
  type: 'object',
  required: ['code', 'message', 'retryable'],
  properties: {
    code: { type: 'string', minLength: 1, maxLength: 64 },
    message: { type: 'string', maxLength: 4096 },
    retryable: { type: 'boolean' },
    details: {},
  },
  additionalProperties: false,
} as const;

const split = {
  oneOf: [
    {
      type: 'object',
      required: ['kind'],
      properties: { kind: { const: 'none' } },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['kind', 'chunkSize'],
      properties: {
        kind: { const: 'items' },
        chunkSize: { type: 'integer', minimum: 1, maximum: MAX_CHUNK_SIZE },
      },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['kind', 'start', 'end', 'chunkSize'],
      properties: {
        kind: { const: 'range' },
        start: { type: 'integer' },
        end: { type: 'integer' },
        chunkSize: { type: 'integer', minimum: 1 },
      },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['kind'],
      properties: { kind: { const: 'custom' } },
      additionalProperties: false,
    },
  ],
} as const;

const aggregate = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['collect', 'reduce', 'none'] } },
  additionalProperties: false,
} as const;

const payloadRef = {
  type: 'object',
  required: ['bucket', 'name'],
  properties: {
    bucket: { type: 'string', minLength: 1, maxLength: 128 },
    name: { type: 'string', minLength: 1, maxLength: 256 },
  },
  additionalProperties: false,
} as const;

const metadata = {
  type: 'object',
  maxProperties: 32,
  additionalProperties: { type: 'string', maxLength: 1024 },
} as const;

const submitRequest = {
  $id: 'submit-request',
  type: 'object',
  required: ['type'],
  properties: {
    type: token,
    payload: {},
    payloadRef,
    group: token,
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    tenant: token,
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 256 },
    split,
    aggregate,
    timeoutMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
    subtasksPerMessage,
    metadata,
  },
  not: { required: ['payload', 'payloadRef'] },
  additionalProperties: false,
} as const;

const submitManyRequest = {
  $id: 'submit-many-request',
  type: 'object',
  required: ['tasks'],
  properties: {
    // each element is validated against submit-request on its own, so one bad task does not
    // reject the others
    tasks: { type: 'array', minItems: 1, maxItems: 10_000 },
  },
  additionalProperties: false,
} as const;

const getRequest = {
  $id: 'get-request',
  type: 'object',
  required: ['id'],
  properties: { id, includeResult: { type: 'boolean' } },
  additionalProperties: false,
} as const;

const listRequest = {
  $id: 'list-request',
  type: 'object',
  properties: {
    state,
    type: token,
    tenant: token,
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    cursor: { type: 'string', maxLength: 128 },
  },
  additionalProperties: false,
} as const;

const cancelRequest = {
  $id: 'cancel-request',
  type: 'object',
  required: ['id'],
  properties: { id, reason: { type: 'string', maxLength: 1024 } },
  additionalProperties: false,
} as const;

const waitRequest = {
  $id: 'wait-request',
  type: 'object',
  required: ['id'],
  properties: {
    id,
    timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
    includeResult: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

const subtaskCounts = {
  type: 'object',
  required: ['total', 'succeeded', 'failed', 'done'],
  properties: {
    total: nonNegInt,
    succeeded: nonNegInt,
    failed: nonNegInt,
    done: { type: 'string' },
  },
  additionalProperties: false,
} as const;

const taskRecord = {
  $id: 'task-record',
  type: 'object',
  required: [
    'v',
    'id',
    'type',
    'group',
    'priority',
    'tenant',
    'split',
    'aggregate',
    'payloadBytes',
    'state',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    v: version,
    id,
    type: token,
    group: token,
    priority: { type: 'integer', minimum: 0, maximum: 9 },
    tenant: token,
    idempotencyKey: { type: 'string' },
    split,
    aggregate,
    timeoutMs: { type: 'integer', minimum: 1 },
    subtasksPerMessage,
    metadata,
    payloadBytes: nonNegInt,
    state,
    createdAt: millis,
    updatedAt: millis,
    scheduledAt: millis,
    startedAt: millis,
    finishedAt: millis,
    subtasks: subtaskCounts,
    error: errorRecord,
    cancelReason: { type: 'string' },
    hasResult: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

const subtaskRecord = {
  $id: 'subtask-record',
  type: 'object',
  required: ['v', 'taskId', 'index', 'attempt', 'ok', 'executor', 'startedAt', 'finishedAt'],
  properties: {
    v: version,
    taskId: id,
    index: nonNegInt,
    attempt: { type: 'integer', minimum: 1 },
    ok: { type: 'boolean' },
    result: {},
    error: errorRecord,
    executor: { type: 'string' },
    startedAt: millis,
    finishedAt: millis,
  },
  additionalProperties: false,
} as const;

const resultEnvelope = {
  $id: 'result-envelope',
  oneOf: [
    {
      type: 'object',
      required: ['v', 'value'],
      properties: { v: version, value: {} },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['v', 'ref'],
      properties: { v: version, ref: payloadRef },
      additionalProperties: false,
    },
  ],
} as const;

const schedMessage = {
  $id: 'sched-message',
  type: 'object',
  required: ['v', 'kind', 'taskId'],
  properties: {
    v: version,
    kind: { const: 'task' },
    taskId: id,
    payload: {},
    payloadRef,
    // the record as the coordinator created it, and its KV revision: saves the scheduler a read
    record: taskRecord,
    revision: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
} as const;

const workMessage = {
  $id: 'work-message',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'type', 'group', 'index', 'total', 'attempt', 'input'],
  properties: {
    v: version,
    kind: { const: 'subtask' },
    taskId: id,
    type: token,
    group: token,
    index: nonNegInt,
    total: { type: 'integer', minimum: 1 },
    attempt: { type: 'integer', minimum: 1 },
    input: {},
    timeoutMs: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
} as const;

const workBatchMessage = {
  $id: 'work-batch-message',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'type', 'group', 'total', 'attempt', 'items'],
  properties: {
    v: version,
    kind: { const: 'subtasks' },
    taskId: id,
    type: token,
    group: token,
    total: { type: 'integer', minimum: 1 },
    attempt: { type: 'integer', minimum: 1 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_SUBTASKS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['index', 'input'],
        properties: { index: nonNegInt, input: {} },
        additionalProperties: false,
      },
    },
    timeoutMs: { type: 'integer', minimum: 1 },
  },
  additionalProperties: false,
} as const;

/** What any outcome says of one subtask; a success carries `result`, a failure carries `error`. */
const outcomeFields = {
  index: nonNegInt,
  ok: { type: 'boolean' },
  result: {},
  error: errorRecord,
  startedAt: millis,
  finishedAt: millis,
} as const;
const resultOrError = [
  { properties: { ok: { const: true } }, required: ['result'] },
  { properties: { ok: { const: false } }, required: ['error'] },
] as const;
const executorId = { type: 'string', maxLength: 256 } as const;

const outcomeItem = {
  type: 'object',
  required: ['index', 'ok', 'startedAt', 'finishedAt'],
  properties: outcomeFields,
  oneOf: resultOrError,
  additionalProperties: false,
} as const;

const outcomeBatchMessage = {
  $id: 'outcome-batch-message',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'attempt', 'executor', 'items'],
  properties: {
    v: version,
    kind: { const: 'outcomes' },
    taskId: id,
    attempt: { type: 'integer', minimum: 1 },
    executor: executorId,
    items: { type: 'array', minItems: 1, maxItems: MAX_SUBTASKS_PER_MESSAGE, items: outcomeItem },
  },
  additionalProperties: false,
} as const;

const outcomeMessage = {
  $id: 'outcome-message',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'index', 'attempt', 'ok', 'executor', 'startedAt', 'finishedAt'],
  properties: {
    v: version,
    kind: { const: 'outcome' },
    taskId: id,
    attempt: { type: 'integer', minimum: 1 },
    executor: executorId,
    ...outcomeFields,
  },
  oneOf: resultOrError,
  additionalProperties: false,
} as const;

const taskEvent = {
  $id: 'task-event',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'type', 'tenant', 'state', 'at'],
  properties: {
    v: version,
    kind: { const: 'state' },
    taskId: id,
    type: token,
    tenant: token,
    state,
    at: millis,
    subtasks: {
      type: 'object',
      required: ['total', 'succeeded', 'failed'],
      properties: { total: nonNegInt, succeeded: nonNegInt, failed: nonNegInt },
      additionalProperties: false,
    },
    error: errorRecord,
  },
  additionalProperties: false,
} as const;

const progressMessage = {
  $id: 'progress-message',
  oneOf: [
    {
      type: 'object',
      required: ['v', 'kind', 'taskId', 'total', 'succeeded', 'failed'],
      properties: {
        v: version,
        kind: { const: 'subtasks' },
        taskId: id,
        total: nonNegInt,
        succeeded: nonNegInt,
        failed: nonNegInt,
      },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['v', 'kind', 'taskId', 'index', 'attempt', 'executor'],
      properties: {
        v: version,
        kind: { const: 'started' },
        taskId: id,
        index: nonNegInt,
        attempt: { type: 'integer', minimum: 1 },
        executor: { type: 'string' },
      },
      additionalProperties: false,
    },
    {
      type: 'object',
      required: ['v', 'kind', 'taskId', 'index', 'progress'],
      properties: { v: version, kind: { const: 'handler' }, taskId: id, index: nonNegInt, progress: {} },
      additionalProperties: false,
    },
  ],
} as const;

const cancelMessage = {
  $id: 'cancel-message',
  type: 'object',
  required: ['v', 'kind', 'taskId'],
  properties: { v: version, kind: { const: 'cancel' }, taskId: id, reason: { type: 'string' } },
  additionalProperties: false,
} as const;

const apiReply = {
  $id: 'api-reply',
  description:
    'Every API reply. ok=true adds the operation fields (submit: id, duplicate; submit_many: results; get/wait: task, result; list: tasks, nextCursor); ok=false carries error.',
  oneOf: [
    { type: 'object', required: ['ok'], properties: { ok: { const: true } } },
    {
      type: 'object',
      required: ['ok', 'error'],
      properties: { ok: { const: false }, error: errorRecord },
      additionalProperties: false,
    },
  ],
} as const;

/** Every schema by its `$id`. */
export const schemas = {
  'error-record': errorRecord,
  'submit-request': submitRequest,
  'submit-many-request': submitManyRequest,
  'get-request': getRequest,
  'list-request': listRequest,
  'cancel-request': cancelRequest,
  'wait-request': waitRequest,
  'task-record': taskRecord,
  'subtask-record': subtaskRecord,
  'result-envelope': resultEnvelope,
  'sched-message': schedMessage,
  'work-message': workMessage,
  'work-batch-message': workBatchMessage,
  'outcome-message': outcomeMessage,
  'outcome-batch-message': outcomeBatchMessage,
  'task-event': taskEvent,
  'progress-message': progressMessage,
  'cancel-message': cancelMessage,
  'api-reply': apiReply,
} as const;

export type SchemaId = keyof typeof schemas;
