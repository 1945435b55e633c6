/**
 * Task intake: validate, apply the idempotency key, record the task as `pending`, hand it to the
 * schedulers on the sched stream. Every step is safe to repeat; see docs/architecture.md "Submit".
 */
import { headers } from '@nats-io/transport-node';
import {
  countSubtasks,
  DEFAULT_GROUP,
  DEFAULT_TENANT,
  decodeJson,
  encode,
  encodeJson,
  ErrorCode,
  Header,
  idempotencyKvKey,
  JetschedError,
  newTaskId,
  WIRE_VERSION,
  type SchedMessage,
  type SubmitReply,
  type SubmitRequest,
  type TaskRecord,
} from '@jetsched/protocol';
import { createIfAbsent, publishDeduped, type TaskStore, type Topology } from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';

/** Semantic checks the schema cannot express. Throws BAD_REQUEST. */
export function checkSubmission(req: SubmitRequest, cfg: CoordinatorConfig): void {
  const split = req.split ?? { kind: 'none' };
  if (req.payload !== undefined && (split.kind === 'items' || split.kind === 'range')) {
    try {
      countSubtasks(split, req.payload);
    } catch (err) {
      throw new JetschedError(ErrorCode.BadRequest, (err as Error).message, { cause: err });
    }
  }
  if (req.aggregate?.kind === 'reduce' && !cfg.reducers[req.type]) {
    throw new JetschedError(
      ErrorCode.BadRequest,
      `aggregate "reduce" needs a reducer registered for type "${req.type}" in the coordinator`,
    );
  }
}

function newRecord(id: string, req: SubmitRequest, payloadBytes: number): TaskRecord {
  const now = Date.now();
  const rec: TaskRecord = {
    v: WIRE_VERSION,
    id,
    type: req.type,
    group: req.group ?? DEFAULT_GROUP,
    priority: req.priority ?? 5,
    tenant: req.tenant ?? DEFAULT_TENANT,
    split: req.split ?? { kind: 'none' },
    aggregate: req.aggregate ?? { kind: 'collect' },
    payloadBytes,
    state: 'pending',
    createdAt: now,
    updatedAt: now,
  };
  if (req.idempotencyKey !== undefined) rec.idempotencyKey = req.idempotencyKey;
  if (req.timeoutMs !== undefined) rec.timeoutMs = req.timeoutMs;
  if (req.subtasksPerMessage !== undefined) rec.subtasksPerMessage = req.subtasksPerMessage;
  if (req.metadata !== undefined) rec.metadata = req.metadata;
  return rec;
}

export class Submitter {
  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cfg: CoordinatorConfig,
  ) {}

  async submit(req: SubmitRequest, payloadBytes: number): Promise<SubmitReply> {
    checkSubmission(req, this.cfg);
    let id = newTaskId();
    if (req.idempotencyKey !== undefined) {
      const key = idempotencyKvKey(req.tenant ?? DEFAULT_TENANT, req.idempotencyKey);
      const won = await createIfAbsent(
        this.topo.kv.idempotency,
        key,
        encodeJson({ taskId: id, at: Date.now() }),
      );
      if (won === null) {
        const entry = await this.topo.kv.idempotency.get(key);
        const prior =
          entry?.operation === 'PUT' ? (decodeJson(entry.value) as { taskId?: unknown }) : undefined;
        if (typeof prior?.taskId !== 'string') {
          throw new JetschedError(ErrorCode.Internal, 'idempotency record is unreadable', {
            retryable: true,
          });
        }
        id = prior.taskId;
        // The first submit may have died between claiming the key and recording the task: finish
        // its work with this request (same key, same task) so the id we return is real.
        const existing = await this.store.get(id);
        if (!existing) await this.record(newRecord(id, req, payloadBytes), req);
        else if (existing.record.state === 'pending') await this.handOff(existing, req);
        return { id, duplicate: true };
      }
    }
    await this.record(newRecord(id, req, payloadBytes), req);
    return { id, duplicate: false };
  }

  private async record(rec: TaskRecord, req: SubmitRequest): Promise<void> {
    const created = await this.store.create(rec);
    // a record that exists already (a retried submit) is handed off without a base to compare with
    await Promise.all([
      created ? this.store.publishEvent(rec) : undefined,
      this.handOff(created ?? { record: rec }, req),
    ]);
  }

  /**
   * Publishes the task to the schedulers, with the record and its revision when known so that the
   * scheduler starts its compare-and-set without a read. The dedupe id makes a repeat within the
   * window a no-op.
   */
  private async handOff(task: { record: TaskRecord; revision?: number }, req: SubmitRequest): Promise<void> {
    const rec = task.record;
    const msg: SchedMessage = { v: WIRE_VERSION, kind: 'task', taskId: rec.id };
    if (task.revision !== undefined) {
      msg.record = rec;
      msg.revision = task.revision;
    }
    if (req.payload !== undefined) msg.payload = req.payload;
    if (req.payloadRef !== undefined) msg.payloadRef = req.payloadRef;
    const h = headers();
    h.set(Header.TaskId, rec.id);
    h.set(Header.TaskType, rec.type);
    h.set(Header.Group, rec.group);
    await publishDeduped(this.topo.js, this.topo.names.schedSubject(rec.id), encode(msg), {
      msgID: rec.id,
      headers: h,
    });
  }
}
