/**
 * JSON Schema (draft-07) for every jetsched message. These objects are the single source of truth:
 * actors validate with them (./validate.ts) and `docs/schemas/*.json` is generated from them
 * (`node scripts/gen-schemas.mjs`; a test fails when the two drift apart).
 *
 * Two rules, documented in docs/protocol.md:
 * - Requests from clients are strict: an unknown field is refused with its name, so a typo or an
 *   option this coordinator does not have is never silently ignored. `v` is optional (1 or 2).
 * - Stored records and messages between actors are lenient: fields a newer version adds are
 *   accepted and kept, so roles of two versions run side by side during a rolling upgrade. Their
 *   `v` must be 2.
 */
import { MAX_STACK_CHARS } from './errors.js';

const token = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
/** W3C trace context: `00-<trace id>-<parent span id>-<flags>`. */
const traceparent = {
  type: 'string',
  pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$',
} as const;
const id = token;
const nonNegInt = { type: 'integer', minimum: 0 } as const;
const posInt = { type: 'integer', minimum: 1 } as const;
const millis = { type: 'integer', minimum: 0 } as const;
/** Messages and records: this protocol version only. */
const version = { type: 'integer', const: 2 } as const;
/** Requests: a client may say which version it speaks. */
const requestVersion = { type: 'integer', enum: [1, 2] } as const;
const state = {
  type: 'string',
  enum: ['delayed', 'pending', 'running', 'succeeded', 'failed', 'cancelled'],
} as const;

export const MAX_CHUNK_SIZE = 1_000_000;
/** Most items one hand-off, work or outcome message carries. */
export const MAX_ITEMS_PER_MESSAGE = 10_000;
/** Most subtasks of one task a work message may carry (`subtasksPerMessage`). */
export const MAX_SUBTASKS_PER_MESSAGE = 1_000;
/** The longest delay a submit may ask for (`runAt` is bounded the same way at submit). @defaultValue 1 year */
export const MAX_DELAY_MS = 366 * 86_400_000;
/** Most tasks one `submit_many` request may carry. */
export const MAX_SUBMIT_MANY = 10_000;
/**
 * Most subtasks any task may have, whatever a role's `maxSubtasks` says: the bound of every
 * `total` and `index` on the wire, so that no message can make an actor allocate more.
 */
export const MAX_SUBTASKS_LIMIT = 1_000_000;
const subtaskTotal = { type: 'integer', minimum: 1, maximum: MAX_SUBTASKS_LIMIT } as const;
const subtaskIndex = { type: 'integer', minimum: 0, maximum: MAX_SUBTASKS_LIMIT - 1 } as const;
const subtasksPerMessage = { type: 'integer', minimum: 1, maximum: MAX_SUBTASKS_PER_MESSAGE } as const;
/** Task priority: 0-9, 9 runs first. */
const priority = { type: 'integer', minimum: 0, maximum: 9 } as const;

/** Embedded inline wherever a message carries an error (a schema with an `$id` may appear only once). */
const errorRecord = {
  type: 'object',
  required: ['code', 'message', 'retryable'],
  properties: {
    code: { type: 'string', minLength: 1, maxLength: 64 },
    message: { type: 'string', maxLength: 4096 },
    retryable: { type: 'boolean' },
    details: {},
    stack: { type: 'string', maxLength: MAX_STACK_CHARS },
    retryAfterMs: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS },
  },
} as const;

const fanIn = {
  type: 'object',
  minProperties: 1,
  properties: {
    maxFailures: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    maxFailureRatio: { type: 'number', minimum: 0, maximum: 1 },
  },
  additionalProperties: false,
} as const;

/** The most attempts a retry policy may allow. */
export const MAX_ATTEMPTS = 1_000;

const retryPolicy = {
  type: 'object',
  required: ['maxAttempts'],
  properties: {
    maxAttempts: { type: 'integer', minimum: 1, maximum: MAX_ATTEMPTS },
    backoff: {
      type: 'object',
      required: ['kind', 'delayMs'],
      properties: {
        kind: { enum: ['fixed', 'exponential'] },
        delayMs: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS },
        maxDelayMs: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS },
        jitter: { type: 'number', minimum: 0, maximum: 1 },
      },
      additionalProperties: false,
    },
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
        chunkSize: posInt,
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

// ---- requests (strict) --------------------------------------------------------------------------

const submitRequest = {
  $id: 'submit-request',
  type: 'object',
  required: ['type'],
  properties: {
    v: requestVersion,
    type: token,
    payload: {},
    payloadRef,
    group: token,
    priority,
    tenant: token,
    fairnessKey: token,
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 256 },
    split,
    aggregate,
    timeoutMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
    subtasksPerMessage,
    requireExecutor: { type: 'boolean' },
    delayMs: { type: 'integer', minimum: 0, maximum: MAX_DELAY_MS },
    runAt: millis,
    deadlineMs: { type: 'integer', minimum: 1, maximum: MAX_DELAY_MS },
    fanIn,
    retry: retryPolicy,
    metadata,
  },
  allOf: [{ not: { required: ['payload', 'payloadRef'] } }, { not: { required: ['delayMs', 'runAt'] } }],
  additionalProperties: false,
} as const;

const submitManyRequest = {
  $id: 'submit-many-request',
  type: 'object',
  required: ['tasks'],
  properties: {
    v: requestVersion,
    // each element is validated against submit-request on its own, so one bad task does not
    // reject the others
    tasks: { type: 'array', minItems: 1, maxItems: MAX_SUBMIT_MANY },
  },
  additionalProperties: false,
} as const;

const getRequest = {
  $id: 'get-request',
  type: 'object',
  required: ['id'],
  properties: { v: requestVersion, id, includeResult: { type: 'boolean' } },
  additionalProperties: false,
} as const;

const listRequest = {
  $id: 'list-request',
  type: 'object',
  properties: {
    v: requestVersion,
    state,
    type: token,
    tenant: token,
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    cursor: { type: 'string', maxLength: 128 },
  },
  additionalProperties: false,
} as const;

const limitSpec = {
  type: 'object',
  required: ['id', 'per'],
  properties: {
    id: token,
    per: { enum: ['group', 'type', 'key'] },
    only: token,
    rate: {
      type: 'object',
      required: ['limit', 'intervalMs'],
      properties: {
        limit: { type: 'integer', minimum: 1, maximum: 10_000_000 },
        intervalMs: { type: 'integer', minimum: 1, maximum: 86_400_000 },
      },
      additionalProperties: false,
    },
    concurrency: { type: 'integer', minimum: 1, maximum: 10_000_000 },
  },
  additionalProperties: false,
} as const;

const groupFields = {
  paused: { type: 'boolean' },
  pausedTypes: { type: 'array', maxItems: 1000, items: token },
  weights: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z0-9_-]{1,64}$' },
    additionalProperties: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  limits: { type: 'array', maxItems: 100, items: limitSpec },
  retry: {
    type: 'object',
    maxProperties: 1000,
    propertyNames: { pattern: '^([A-Za-z0-9_-]{1,64}|\\*)$' },
    additionalProperties: retryPolicy,
  },
} as const;

const groupSettings = {
  $id: 'group-settings',
  type: 'object',
  required: ['v', 'group', 'updatedAt'],
  properties: { v: version, group: token, ...groupFields, updatedAt: millis },
} as const;

const groupGetRequest = {
  $id: 'group-get-request',
  type: 'object',
  required: ['group'],
  properties: { v: requestVersion, group: token },
  additionalProperties: false,
} as const;

const groupSetRequest = {
  $id: 'group-set-request',
  type: 'object',
  required: ['group'],
  properties: { v: requestVersion, group: token, ...groupFields },
  additionalProperties: false,
} as const;

const groupPauseRequest = {
  $id: 'group-pause-request',
  type: 'object',
  required: ['group'],
  properties: { v: requestVersion, group: token, type: token },
  additionalProperties: false,
} as const;

/** A schedule's task template: a submit request without a delay or an idempotency key. */
const scheduleTask = (() => {
  const { delayMs: _d, runAt: _r, idempotencyKey: _k, v: _v, ...properties } = submitRequest.properties;
  return {
    type: 'object',
    required: ['type'],
    properties,
    not: { required: ['payload', 'payloadRef'] },
    additionalProperties: false,
  } as const;
})();

const scheduleFields = {
  id: token,
  cron: { type: 'string', minLength: 1, maxLength: 256 },
  timezone: { type: 'string', minLength: 1, maxLength: 64 },
  every: { type: 'string', minLength: 2, maxLength: 64 },
  task: scheduleTask,
  missed: { enum: ['skip', 'once'] },
  missedAfterMs: { type: 'integer', minimum: 1_000, maximum: 366 * 86_400_000 },
  overlap: { enum: ['allow', 'skip'] },
  paused: { type: 'boolean' },
} as const;

/** Exactly one of `cron` and `every`; a time zone only with `cron`. */
const oneSpec = [
  { oneOf: [{ required: ['cron'] }, { required: ['every'] }] },
  { not: { required: ['every', 'timezone'] } },
] as const;

const scheduleCreateRequest = {
  $id: 'schedule-create-request',
  type: 'object',
  required: ['id', 'task'],
  properties: { v: requestVersion, ...scheduleFields },
  allOf: oneSpec,
  additionalProperties: false,
} as const;

const scheduleIdRequest = {
  $id: 'schedule-id-request',
  type: 'object',
  required: ['id'],
  properties: { v: requestVersion, id: token },
  additionalProperties: false,
} as const;

const scheduleListRequest = {
  $id: 'schedule-list-request',
  type: 'object',
  properties: { v: requestVersion },
  additionalProperties: false,
} as const;

const scheduleRecord = {
  $id: 'schedule-record',
  type: 'object',
  required: [
    'v',
    'id',
    'task',
    'missed',
    'missedAfterMs',
    'overlap',
    'paused',
    'createdAt',
    'updatedAt',
    'runs',
    'skipped',
  ],
  properties: {
    v: version,
    ...scheduleFields,
    createdAt: millis,
    updatedAt: millis,
    lastFire: {
      type: 'object',
      required: ['dueAt', 'next'],
      properties: { dueAt: millis, next: millis },
    },
    lastRun: {
      type: 'object',
      required: ['taskId', 'at'],
      properties: { taskId: id, at: millis, occurrence: millis },
    },
    runs: { type: 'integer', minimum: 0 },
    skipped: { type: 'integer', minimum: 0 },
  },
} as const;

const fireNotice = {
  $id: 'fire-notice',
  type: 'object',
  required: ['v', 'kind', 'schedule'],
  properties: { v: version, kind: { const: 'fire' }, schedule: token },
} as const;

const deadlineNotice = {
  $id: 'deadline-notice',
  type: 'object',
  required: ['v', 'kind', 'taskId'],
  properties: { v: version, kind: { const: 'deadline' }, taskId: id },
} as const;

const dlqFilter = {
  source: token,
  type: token,
  taskId: id,
} as const;

const dlqListRequest = {
  $id: 'dlq-list-request',
  type: 'object',
  properties: {
    v: requestVersion,
    ...dlqFilter,
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    after: nonNegInt,
  },
  additionalProperties: false,
} as const;

const dlqGetRequest = {
  $id: 'dlq-get-request',
  type: 'object',
  required: ['seq'],
  properties: { v: requestVersion, seq: posInt },
  additionalProperties: false,
} as const;

const dlqSelectRequest = {
  $id: 'dlq-select-request',
  type: 'object',
  properties: { v: requestVersion, seq: posInt, all: { const: true }, ...dlqFilter },
  oneOf: [{ required: ['seq'] }, { required: ['all'] }],
  additionalProperties: false,
} as const;

/** A dead letter as stored (written by jetsched's actors; read back by the DLQ API). */
const deadLetter = {
  $id: 'dead-letter',
  type: 'object',
  required: ['v', 'kind', 'source', 'subject', 'reason', 'actor', 'at', 'data'],
  properties: {
    v: version,
    kind: { const: 'dead-letter' },
    source: { type: 'string' },
    subject: { type: 'string' },
    reason: errorRecord,
    actor: { type: 'string' },
    at: millis,
    deliveries: nonNegInt,
    headers: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
    task: {
      type: 'object',
      required: ['id', 'type', 'group', 'index', 'attempt'],
      properties: { id, type: token, group: token, index: subtaskIndex, attempt: posInt },
    },
    data: {},
  },
} as const;

const cancelRequest = {
  $id: 'cancel-request',
  type: 'object',
  required: ['id'],
  properties: { v: requestVersion, id, reason: { type: 'string', maxLength: 1024 } },
  additionalProperties: false,
} as const;

const waitRequest = {
  $id: 'wait-request',
  type: 'object',
  required: ['id'],
  properties: {
    v: requestVersion,
    id,
    timeoutMs: { type: 'integer', minimum: 1, maximum: 3_600_000 },
    includeResult: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

const claimRequest = {
  $id: 'claim-request',
  type: 'object',
  required: ['executor', 'items'],
  properties: {
    v: requestVersion,
    executor: { type: 'string', minLength: 1, maxLength: 256 },
    items: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_ITEMS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['taskId', 'index', 'total', 'attempt', 'delivery'],
        properties: {
          taskId: id,
          index: subtaskIndex,
          total: subtaskTotal,
          attempt: posInt,
          delivery: posInt,
        },
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;

// ---- stored records (lenient) -------------------------------------------------------------------

const subtaskCounts = {
  type: 'object',
  required: ['total', 'succeeded', 'failed', 'done'],
  properties: {
    total: subtaskTotal,
    succeeded: nonNegInt,
    failed: nonNegInt,
    done: { type: 'string' },
    claims: { type: 'object', additionalProperties: posInt },
    attempts: { type: 'object', additionalProperties: posInt },
  },
} as const;

/** Embedded in hand-offs as well, so without an `$id` here (see 'task-record' in `schemas`). */
const taskRecord = {
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
    priority,
    tenant: token,
    fairnessKey: token,
    idempotencyKey: { type: 'string' },
    split,
    aggregate,
    runAt: millis,
    schedule: {
      type: 'object',
      required: ['id'],
      properties: { id: token, occurrence: millis },
    },
    trace: traceparent,
    timeoutMs: posInt,
    subtasksPerMessage,
    retry: retryPolicy,
    deadline: millis,
    fanIn,
    metadata,
    payloadBytes: nonNegInt,
    state,
    createdAt: millis,
    updatedAt: millis,
    startedAt: millis,
    finishedAt: millis,
    subtasks: subtaskCounts,
    error: errorRecord,
    cancelReason: { type: 'string' },
    hasResult: { type: 'boolean' },
  },
} as const;

const subtaskRecord = {
  $id: 'subtask-record',
  type: 'object',
  required: ['v', 'taskId', 'index', 'attempt', 'delivery', 'ok', 'executor', 'startedAt', 'finishedAt'],
  properties: {
    v: version,
    taskId: id,
    index: subtaskIndex,
    attempt: posInt,
    delivery: posInt,
    ok: { type: 'boolean' },
    result: {},
    error: errorRecord,
    input: {},
    executor: { type: 'string' },
    startedAt: millis,
    finishedAt: millis,
  },
} as const;

const resultEnvelope = {
  $id: 'result-envelope',
  oneOf: [
    { type: 'object', required: ['v', 'value'], properties: { v: version, value: {} } },
    { type: 'object', required: ['v', 'ref'], properties: { v: version, ref: payloadRef } },
  ],
} as const;

const executorAdvert = {
  $id: 'executor-advert',
  type: 'object',
  required: ['v', 'id', 'group', 'profile', 'types', 'concurrency', 'running', 'heartbeatMs', 'at'],
  properties: {
    v: version,
    id: { type: 'string', minLength: 1, maxLength: 256 },
    group: token,
    profile: token,
    types: { type: 'array', items: token, maxItems: 10_000 },
    concurrency: posInt,
    running: nonNegInt,
    heartbeatMs: posInt,
    host: { type: 'string' },
    pid: { type: 'integer' },
    startedAt: millis,
    at: millis,
  },
} as const;

const consumerSettings = {
  type: 'object',
  required: ['ackWaitMs', 'maxDeliver', 'maxAckPending'],
  properties: { ackWaitMs: posInt, maxDeliver: { type: 'integer', minimum: 2 }, maxAckPending: posInt },
} as const;

const topologyManifest = {
  $id: 'topology-manifest',
  type: 'object',
  required: [
    'v',
    'layout',
    'prefix',
    'replicas',
    'taskRetentionMs',
    'stopRetentionMs',
    'dlqRetentionMs',
    'consumers',
  ],
  properties: {
    v: version,
    layout: posInt,
    prefix: { type: 'string' },
    replicas: posInt,
    taskRetentionMs: posInt,
    stopRetentionMs: posInt,
    dlqRetentionMs: posInt,
    consumers: {
      type: 'object',
      required: ['work', 'outcomes'],
      properties: {
        due: consumerSettings,
        work: consumerSettings,
        outcomes: consumerSettings,
      },
    },
    provisionedAt: millis,
  },
} as const;

// ---- messages between actors (lenient) ----------------------------------------------------------

/**
 * The attempt token of a work item (`<keyId>.<base64url>`), which its outcome carries back: made by
 * the scheduler with the cluster's key, checked by the coordinator (docs/protocol.md, Outcomes).
 */
const attemptToken = { type: 'string', minLength: 1, maxLength: 128 } as const;

const workItem = {
  type: 'object',
  required: ['taskId', 'type', 'index', 'total', 'attempt', 'input'],
  properties: {
    taskId: id,
    type: token,
    index: subtaskIndex,
    total: subtaskTotal,
    attempt: posInt,
    resends: nonNegInt,
    priority,
    tenant: token,
    fairnessKey: token,
    input: {},
    timeoutMs: posInt,
    trace: traceparent,
    token: attemptToken,
  },
} as const;

/**
 * A role's config file (`jetsched <role> --config file.yaml|json`): the role flags by their long
 * names. Flags given on the command line win over the file, and so do the environment variables
 * of server, creds, prefix and log-level.
 */
const roleConfig = {
  $id: 'role-config',
  type: 'object',
  additionalProperties: false,
  properties: {
    server: { type: 'string', minLength: 1 },
    creds: { type: 'string', minLength: 1 },
    nkey: { type: 'string', minLength: 1 },
    'tls-ca': { type: 'string', minLength: 1 },
    'tls-cert': { type: 'string', minLength: 1 },
    'tls-key': { type: 'string', minLength: 1 },
    prefix: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,31}$' },
    'log-level': { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    handlers: { type: 'string', minLength: 1 },
    group: token,
    concurrency: posInt,
    executors: nonNegInt,
    'drain-timeout-ms': nonNegInt,
    'due-spread-ms': nonNegInt,
    'orphan-check-ms': { type: 'integer', minimum: 1_000, maximum: 60_000 },
    'metrics-port': { type: 'integer', minimum: 0, maximum: 65_535 },
  },
} as const;

const schedBatch = {
  $id: 'sched-batch',
  type: 'object',
  required: ['v', 'kind'],
  properties: {
    v: version,
    kind: { const: 'sched' },
    tasks: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['id'],
        properties: { id, payload: {}, payloadRef, record: taskRecord },
        not: { required: ['payload', 'payloadRef'] },
      },
    },
    items: { type: 'array', maxItems: MAX_ITEMS_PER_MESSAGE, items: workItem },
  },
} as const;

const workBatch = {
  $id: 'work-batch',
  type: 'object',
  required: ['v', 'kind', 'items'],
  properties: {
    v: version,
    kind: { const: 'work' },
    items: { type: 'array', minItems: 1, maxItems: MAX_ITEMS_PER_MESSAGE, items: workItem },
  },
} as const;

const outcomeItem = {
  type: 'object',
  required: ['taskId', 'index', 'total', 'attempt', 'delivery', 'ok', 'startedAt', 'finishedAt'],
  properties: {
    taskId: id,
    index: subtaskIndex,
    total: subtaskTotal,
    attempt: posInt,
    delivery: posInt,
    ok: { type: 'boolean' },
    result: {},
    error: errorRecord,
    input: {},
    startedAt: millis,
    finishedAt: millis,
    trace: traceparent,
    token: attemptToken,
  },
  oneOf: [
    { properties: { ok: { const: true } }, required: ['result'] },
    { properties: { ok: { const: false } }, required: ['error'] },
  ],
} as const;

const outcomeBatch = {
  $id: 'outcome-batch',
  type: 'object',
  required: ['v', 'kind', 'from'],
  properties: {
    v: version,
    kind: { const: 'outcomes' },
    from: { type: 'string', minLength: 1, maxLength: 256 },
    items: { type: 'array', maxItems: MAX_ITEMS_PER_MESSAGE, items: outcomeItem },
    failures: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['taskId', 'error'],
        properties: {
          taskId: id,
          error: errorRecord,
          index: subtaskIndex,
          attempt: posInt,
          token: attemptToken,
        },
      },
    },
  },
} as const;

const stopNotice = {
  $id: 'stop-notice',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'state', 'at'],
  properties: {
    v: version,
    kind: { const: 'stop' },
    taskId: id,
    state: { enum: ['cancelled', 'failed'] },
    reason: { type: 'string' },
    at: millis,
  },
} as const;

const startedNotice = {
  $id: 'started-notice',
  type: 'object',
  required: ['v', 'kind', 'executor', 'items'],
  properties: {
    v: version,
    kind: { const: 'started' },
    executor: { type: 'string' },
    items: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['taskId', 'index', 'attempt'],
        properties: { taskId: id, index: subtaskIndex, attempt: posInt },
      },
    },
  },
} as const;

const creditNotice = {
  $id: 'credit-notice',
  type: 'object',
  required: ['v', 'kind', 'executor', 'profile', 'items'],
  properties: {
    v: version,
    kind: { const: 'credit' },
    executor: { type: 'string' },
    profile: token,
    items: {
      type: 'array',
      maxItems: MAX_ITEMS_PER_MESSAGE,
      items: {
        type: 'object',
        required: ['taskId', 'index'],
        properties: { taskId: id, index: subtaskIndex },
      },
    },
  },
} as const;

const readyPart = {
  type: 'array',
  minItems: 5,
  maxItems: 5,
  items: [{ type: 'string' }, posInt, nonNegInt, nonNegInt, nonNegInt],
} as const;

const releaseState = {
  $id: 'release-state',
  type: 'object',
  required: ['v', 'group', 'holder', 'epoch', 'expiresAt', 'cursors'],
  properties: {
    v: version,
    group: token,
    holder: { type: 'string' },
    epoch: nonNegInt,
    expiresAt: millis,
    cursors: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        minItems: 3,
        maxItems: 3,
        items: [posInt, nonNegInt, nonNegInt],
      },
    },
    intent: {
      type: 'object',
      required: ['msgs'],
      properties: {
        msgs: {
          type: 'array',
          items: {
            type: 'object',
            required: ['id', 'subject', 'parts'],
            properties: {
              id: { type: 'string' },
              subject: { type: 'string' },
              parts: { type: 'array', items: readyPart },
            },
          },
        },
      },
    },
    rates: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: { type: 'array', minItems: 2, maxItems: 2, items: [{ type: 'integer' }, nonNegInt] },
      },
    },
  },
} as const;

const progressMessage = {
  $id: 'progress-message',
  type: 'object',
  required: ['v', 'kind', 'taskId', 'index', 'progress'],
  properties: { v: version, kind: { const: 'progress' }, taskId: id, index: subtaskIndex, progress: {} },
} as const;

const indexPage = {
  $id: 'index-page',
  type: 'object',
  required: ['v', 'kind', 'entries'],
  properties: {
    v: version,
    kind: { const: 'index' },
    entries: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'at'],
        properties: { id, at: millis },
      },
    },
  },
} as const;

const apiReply = {
  $id: 'api-reply',
  description:
    'Every API reply. ok=true adds the operation fields (submit: id, duplicate; submit_many: results; get/wait: task, result; list: tasks, nextCursor; claim: results); ok=false carries error.',
  oneOf: [
    { type: 'object', required: ['ok'], properties: { ok: { const: true } } },
    {
      type: 'object',
      required: ['ok', 'error'],
      properties: { ok: { const: false }, error: errorRecord },
    },
  ],
} as const;

/** Every schema by its `$id`. */
export const schemas = {
  'error-record': { $id: 'error-record', ...errorRecord },
  'submit-request': submitRequest,
  'submit-many-request': submitManyRequest,
  'get-request': getRequest,
  'list-request': listRequest,
  'cancel-request': cancelRequest,
  'wait-request': waitRequest,
  'claim-request': claimRequest,
  'task-record': { $id: 'task-record', ...taskRecord },
  'subtask-record': subtaskRecord,
  'result-envelope': resultEnvelope,
  'executor-advert': executorAdvert,
  'topology-manifest': topologyManifest,
  'sched-batch': schedBatch,
  'work-batch': workBatch,
  'outcome-batch': outcomeBatch,
  'stop-notice': stopNotice,
  'started-notice': startedNotice,
  'progress-message': progressMessage,
  'group-settings': groupSettings,
  'group-get-request': groupGetRequest,
  'group-set-request': groupSetRequest,
  'group-pause-request': groupPauseRequest,
  'schedule-create-request': scheduleCreateRequest,
  'schedule-id-request': scheduleIdRequest,
  'schedule-list-request': scheduleListRequest,
  'role-config': roleConfig,
  'schedule-record': scheduleRecord,
  'fire-notice': fireNotice,
  'dlq-list-request': dlqListRequest,
  'dlq-get-request': dlqGetRequest,
  'dlq-select-request': dlqSelectRequest,
  'dead-letter': deadLetter,
  'deadline-notice': deadlineNotice,
  'credit-notice': creditNotice,
  'release-state': releaseState,
  'index-page': indexPage,
  'api-reply': apiReply,
} as const;

export type SchemaId = keyof typeof schemas;
