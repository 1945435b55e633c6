/**
 * Validation at every boundary that receives bytes: decode to `unknown`, then `validate()` against
 * a schema from ./schemas.ts before the value is given a type.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { schemas, type SchemaId } from './schemas.js';
import { ErrorCode, JetschedError } from './errors.js';
import type {
  CancelMessage,
  CancelRequest,
  GetRequest,
  ListRequest,
  OutcomeMessage,
  ProgressMessage,
  SchedMessage,
  SubmitManyRequest,
  SubmitRequest,
  SubtaskRecord,
  TaskEvent,
  TaskRecord,
  WaitRequest,
  WorkMessage,
  WorkBatchMessage,
  OutcomeBatchMessage,
  ApiReply,
  ResultEnvelope,
} from './types.js';
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
  'task-record': TaskRecord;
  'subtask-record': SubtaskRecord;
  'result-envelope': ResultEnvelope;
  'sched-message': SchedMessage;
  'work-message': WorkMessage;
  'work-batch-message': WorkBatchMessage;
  'outcome-message': OutcomeMessage;
  'outcome-batch-message': OutcomeBatchMessage;
  'task-event': TaskEvent;
  'progress-message': ProgressMessage;
  'cancel-message': CancelMessage;
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

/** Validates `value` against schema `id`; throws a BAD_REQUEST JetschedError naming the problem. */
export function validate<K extends SchemaId>(id: K, value: unknown): SchemaTypes[K] {
  const reason = explain(id, value);
  if (reason !== undefined) {
    throw new JetschedError(ErrorCode.BadRequest, `invalid ${id}: ${reason}`);
  }
  return value as SchemaTypes[K];
}
