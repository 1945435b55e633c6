/**
 * Validation at every boundary that receives bytes: decode to `unknown`, then `validate()` against
 * a schema from ./schemas.ts before the value is given a type.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { schemas, type SchemaId } from './schemas.js';
import { ErrorCode, JetschedError } from './errors.js';
import type {
  ApiReply,
  CancelRequest,
  ClaimRequest,
  CreditNotice,
  ExecutorAdvert,
  FireNotice,
  DlqListRequest,
  DlqGetRequest,
  DlqSelectRequest,
  DeadLetter,
  DeadlineNotice,
  GetRequest,
  GroupGetRequest,
  GroupPauseRequest,
  GroupSetRequest,
  GroupSettings,
  IndexPage,
  ListRequest,
  OutcomeBatch,
  ProgressMessage,
  ReleaseState,
  ResultEnvelope,
  SchedBatch,
  ScheduleCreateRequest,
  ScheduleIdRequest,
  ScheduleRecord,
  StartedNotice,
  StopNotice,
  SubmitManyRequest,
  SubmitRequest,
  SubtaskRecord,
  TaskRecord,
  TopologyManifest,
  WaitRequest,
  WorkBatch,
} from './types.js';
import { WIRE_VERSION } from './types.js';
import type { ErrorRecord } from './errors.js';

/** The TypeScript type each schema validates to. */
export interface SchemaTypes {
  'error-record': ErrorRecord;
  'submit-request': SubmitRequest;
  'submit-many-request': SubmitManyRequest;
  'get-request': GetRequest;
  'list-request': ListRequest;
  'cancel-request': CancelRequest;
  'wait-request': WaitRequest;
  'claim-request': ClaimRequest;
  'task-record': TaskRecord;
  'subtask-record': SubtaskRecord;
  'result-envelope': ResultEnvelope;
  'executor-advert': ExecutorAdvert;
  'topology-manifest': TopologyManifest;
  'sched-batch': SchedBatch;
  'work-batch': WorkBatch;
  'outcome-batch': OutcomeBatch;
  'stop-notice': StopNotice;
  'started-notice': StartedNotice;
  'progress-message': ProgressMessage;
  'group-settings': GroupSettings;
  'group-get-request': GroupGetRequest;
  'group-set-request': GroupSetRequest;
  'group-pause-request': GroupPauseRequest;
  'schedule-create-request': ScheduleCreateRequest;
  'schedule-id-request': ScheduleIdRequest;
  'schedule-list-request': { v?: number };
  'role-config': Record<string, string | number>;
  'schedule-record': ScheduleRecord;
  'fire-notice': FireNotice;
  'dlq-list-request': DlqListRequest;
  'dlq-get-request': DlqGetRequest;
  'dlq-select-request': DlqSelectRequest;
  'dead-letter': DeadLetter;
  'deadline-notice': DeadlineNotice;
  'credit-notice': CreditNotice;
  'release-state': ReleaseState;
  'index-page': IndexPage;
  'api-reply': ApiReply<Record<string, unknown>>;
}

// `strict: false` because `payload: {}` (any value) is intended; `allErrors` off: the first problem
// is enough for an error reply and keeps validation cheap on the hot path.
const ajv = new Ajv({ strict: false, allErrors: false });
for (const schema of Object.values(schemas)) ajv.addSchema(schema);
const compiled = new Map<SchemaId, ValidateFunction>();

function validator(id: SchemaId): ValidateFunction {
  let fn = compiled.get(id);
  if (!fn) {
    fn = ajv.getSchema(id);
    if (!fn) throw new Error(`unknown schema ${id}`);
    compiled.set(id, fn);
  }
  return fn;
}

/** Returns a readable reason the value does not match, or undefined when it does. */
export function explain(id: SchemaId, value: unknown): string | undefined {
  const fn = validator(id);
  if (fn(value)) return undefined;
  const e = fn.errors?.[0];
  if (!e) return `does not match schema ${id}`;
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
  if (e.keyword === 'type' && typeof valueAt(value, e.instancePath) === 'bigint') {
    return `${where}: must be an integer between -(2^53-1) and 2^53-1`;
  }
  const extra =
    e.keyword === 'additionalProperties'
      ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
      : e.keyword === 'enum'
        ? ` (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(', ')})`
        : '';
  return `${where}: ${e.message ?? 'invalid'}${extra}`;
}

/** The `kind` field of a decoded message, to pick the schema of a message with several forms. */
export function kindOf(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as { kind?: unknown }).kind : undefined;
}

/** Schemas of stored records and messages between actors: their `v` must be this version. */
const VERSIONED: ReadonlySet<SchemaId> = new Set(
  Object.entries(schemas)
    .filter(
      ([, s]) => (s as { properties?: { v?: { const?: number } } }).properties?.v?.const === WIRE_VERSION,
    )
    .map(([k]) => k as SchemaId),
);

/**
 * Validates `value` against schema `id`; throws a BAD_REQUEST JetschedError naming the problem, or
 * UNSUPPORTED_VERSION for a message or record of another protocol version.
 */
export function validate<K extends SchemaId>(id: K, value: unknown): SchemaTypes[K] {
  const v = typeof value === 'object' && value !== null ? (value as { v?: unknown }).v : undefined;
  if (VERSIONED.has(id) && typeof v === 'number' && v !== WIRE_VERSION) {
    throw new JetschedError(
      ErrorCode.UnsupportedVersion,
      `${id} of protocol version ${v}: this jetsched speaks version ${WIRE_VERSION}`,
      { details: { version: v, supported: [WIRE_VERSION] } },
    );
  }
  const reason = explain(id, value);
  if (reason !== undefined) {
    throw new JetschedError(ErrorCode.BadRequest, `invalid ${id}: ${reason}`);
  }
  return value as SchemaTypes[K];
}

function valueAt(root: unknown, pointer: string): unknown {
  let cur = root;
  for (const part of pointer.split('/').slice(1)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return cur;
}
