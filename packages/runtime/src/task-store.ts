/**
 * Task records, results and lifecycle events: the stored state that the coordinator owns and the
 * scheduler advances (pending -> scheduled). Every change goes through compare-and-set, checks the
 * state machine, and is announced once on the events stream (dedupe id `<taskId>.<state>`).
 */
import {
  canTransition,
  decode,
  decodeJson,
  encode,
  encodeJson,
  Header,
  isTerminal,
  validate,
  WIRE_VERSION,
  type ResultEnvelope,
  type TaskEvent,
  type TaskRecord,
  type TaskState,
} from '@jetsched/protocol';
import { headers } from '@nats-io/transport-node';
import { casUpdate, createIfAbsent } from './kv-cas.js';
import { scanBucket } from './stream-scan.js';
import { publishDeduped } from './publish.js';
import { retryTransient } from './transient.js';
import type { Topology } from './topology.js';

/** Results larger than this (msgpack-encoded) go to the payloads object store. @defaultValue 512 KiB */
export const RESULT_INLINE_LIMIT = 512 * 1024;

/** A task record as read, with the revision to compare-and-set against. */
export interface StoredTask {
  record: TaskRecord;
  revision: number;
}

/** A proposed change: the new record, or undefined to leave the record as it is. */
export type TaskStoreChange = (current: TaskRecord) => TaskRecord | undefined;

function decodeTask(data: Uint8Array): TaskRecord {
  return validate('task-record', decodeJson(data));
}

export class TaskStore {
  constructor(private readonly topo: Topology) {}

  async get(id: string): Promise<StoredTask | null> {
    const entry = await retryTransient(() => this.topo.kv.tasks.get(id));
    if (!entry || entry.operation !== 'PUT') return null;
    return { record: decodeTask(entry.value), revision: entry.revision };
  }

  /** Creates the record; returns it with its revision, or null when a record with this id exists. */
  async create(record: TaskRecord): Promise<StoredTask | null> {
    const revision = await createIfAbsent(this.topo.kv.tasks, record.id, encodeJson(record));
    return revision === null ? null : { record, revision };
  }

  /**
   * Applies `change` under compare-and-set. A change that moves the state is checked against the
   * state machine (an illegal move throws) and, once stored, published as a lifecycle event.
   * Returns the stored record and whether this call changed it, or null when the task is unknown.
   * `known` is the record as the caller read it, to save a read (see `casUpdate`).
   */
  async update(
    id: string,
    change: TaskStoreChange,
    known?: StoredTask,
  ): Promise<{ record: TaskRecord; changed: boolean } | null> {
    let from: TaskState | undefined;
    const res = await casUpdate(
      this.topo.kv.tasks,
      id,
      decodeTask,
      encodeJson,
      (current) => {
        const next = change(current);
        if (next === undefined) return undefined;
        if (next.state !== current.state && !canTransition(current.state, next.state)) {
          throw new Error(`illegal task transition ${current.state} -> ${next.state} for ${id}`);
        }
        from = current.state;
        return { ...next, updatedAt: Date.now() };
      },
      known && { value: known.record, revision: known.revision },
    );
    if (!res) return null;
    if (res.changed && from !== res.value.state) await this.publishEvent(res.value);
    return { record: res.value, changed: res.changed };
  }

  /** Moves a task to `state` unless it is terminal already; `patch` adds fields. */
  transition(
    id: string,
    state: TaskState,
    patch: Partial<TaskRecord> = {},
  ): Promise<{ record: TaskRecord; changed: boolean } | null> {
    return this.update(id, (cur) => {
      if (isTerminal(cur.state) || cur.state === state || !canTransition(cur.state, state)) return undefined;
      return { ...cur, ...patch, state };
    });
  }

  /** Publishes the lifecycle event for the record's current state (idempotent by dedupe id). */
  async publishEvent(record: TaskRecord): Promise<void> {
    const ev: TaskEvent = {
      v: WIRE_VERSION,
      kind: 'state',
      taskId: record.id,
      type: record.type,
      tenant: record.tenant,
      state: record.state,
      at: record.updatedAt,
    };
    if (record.subtasks) {
      const { total, succeeded, failed } = record.subtasks;
      ev.subtasks = { total, succeeded, failed };
    }
    if (record.error) ev.error = record.error;
    const h = headers();
    h.set(Header.TaskId, record.id);
    h.set(Header.TaskType, record.type);
    await publishDeduped(this.topo.js, this.topo.names.eventSubject(record.id, record.state), encode(ev), {
      msgID: `${record.id}.${record.state}`,
      headers: h,
    });
  }

  /** Stores a task result: inline in the results bucket, or in the object store when large. */
  async putResult(id: string, value: unknown): Promise<void> {
    const bytes = encode(value);
    let envelope: ResultEnvelope;
    if (bytes.length <= RESULT_INLINE_LIMIT) {
      envelope = { v: WIRE_VERSION, value };
    } else {
      const name = `result-${id}`;
      await (await this.topo.payloads()).putBlob({ name }, bytes);
      envelope = { v: WIRE_VERSION, ref: { bucket: this.topo.names.buckets.payloads, name } };
    }
    await this.topo.kv.results.put(id, encode(envelope));
  }

  /** The stored result envelope: the value inline, or where to fetch it. */
  async getResult(id: string): Promise<ResultEnvelope | undefined> {
    const entry = await retryTransient(() => this.topo.kv.results.get(id));
    if (!entry || entry.operation !== 'PUT') return undefined;
    return validate('result-envelope', decode(entry.value));
  }

  /** Every stored task record, read in one pass over the bucket's stream. */
  async *all(): AsyncGenerator<TaskRecord> {
    for await (const e of scanBucket(this.topo.js, this.topo.names.buckets.tasks)) {
      try {
        yield decodeTask(e.data);
      } catch {
        // a record that does not validate is left out of listings; `get` reports it
      }
    }
  }
}
