/**
 * Task records, subtask records and results as stored in KV: reads of many records in one request,
 * writes of many records in one window of publishes, each a compare-and-set on the revision read.
 * What a record becomes is never decided here: callers pass what ./transitions.ts (protocol)
 * computed.
 *
 * Every record write carries headers naming its state, tenant and type; the list index is built
 * from those alone (a headers-only consumer), and the server republishes every write, headers and
 * all, as the task's event.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  decode,
  decodeJson,
  encode,
  encodeJson,
  Header,
  subtaskKey,
  validate,
  WIRE_VERSION,
  type ResultEnvelope,
  type SubtaskRecord,
  type TaskRecord,
} from '@jetsched/protocol';
import { toError, type PubResult, type OutMsg } from './publisher.js';
import { retryTransient } from './transient.js';
import type { Topology } from './topology.js';

/** Results larger than this (msgpack-encoded) go to the payloads object store. @defaultValue 512 KiB */
export const RESULT_INLINE_LIMIT = 512 * 1024;
/** Most subjects one batched direct get may ask for (the server's limit). */
const MULTI_GET_LIMIT = 1024;

/** A task record as read, with the revision to compare-and-set against. */
export interface StoredTask {
  record: TaskRecord;
  revision: number;
}

/** One record to write: the new record, and the revision it replaces (0: create). */
export interface RecordWrite {
  record: TaskRecord;
  expect: number;
}

export type WriteResult = { ok: true; revision: number } | { ok: false; conflict: boolean; error: Error };

export function decodeTask(data: Uint8Array): TaskRecord {
  return validate('task-record', decodeJson(data));
}

export class TaskStore {
  constructor(private readonly topo: Topology) {}

  async get(id: string): Promise<StoredTask | null> {
    const entry = await retryTransient(() => this.topo.kv.tasks.get(id));
    if (!entry || entry.operation !== 'PUT' || entry.value.length === 0) return null;
    return { record: decodeTask(entry.value), revision: entry.revision };
  }

  /**
   * Reads many records in as few requests as the server allows (1,024 per request). Absent ids are
   * left out; a record that does not validate is reported in `unreadable`.
   */
  async getMany(
    ids: readonly string[],
  ): Promise<{ found: Map<string, StoredTask>; unreadable: Map<string, Error> }> {
    const found = new Map<string, StoredTask>();
    const unreadable = new Map<string, Error>();
    const unique = [...new Set(ids)];
    const stream = `KV_${this.topo.names.buckets.tasks}`;
    const prefix = `$KV.${this.topo.names.buckets.tasks}.`;
    const chunks: string[][] = [];
    for (let i = 0; i < unique.length; i += MULTI_GET_LIMIT)
      chunks.push(unique.slice(i, i + MULTI_GET_LIMIT));
    await Promise.all(
      chunks.map(async (chunk) => {
        const msgs = await retryTransient(async () => {
          const out = [];
          const it = await this.topo.jsm.direct.getLastMessagesFor(stream, {
            multi_last: chunk.map((id) => this.topo.names.taskRecordSubject(id)),
            batch: chunk.length,
          });
          for await (const m of it) out.push(m);
          return out;
        });
        for (const m of msgs) {
          const id = m.subject.slice(prefix.length);
          if (m.data.length === 0 || m.header.get('KV-Operation')) continue;
          try {
            found.set(id, { record: decodeTask(m.data), revision: m.seq });
          } catch (err) {
            unreadable.set(id, err as Error);
          }
        }
      }),
    );
    return { found, unreadable };
  }

  /**
   * Writes records, each a compare-and-set on `expect` (0: create if absent), in one window, with
   * `alongside` (index pages) in the same window. `alongsideFailed` says whether one of those was
   * not stored.
   */
  async write(
    writes: readonly RecordWrite[],
    alongside: readonly OutMsg[] = [],
  ): Promise<{ results: WriteResult[]; alongsideFailed: Error | undefined }> {
    if (writes.length === 0 && alongside.length === 0) return { results: [], alongsideFailed: undefined };
    const all = await this.topo.publisher.publishAll([...writes.map((w) => this.recordMsg(w)), ...alongside]);
    const failed = all.slice(writes.length).find((r) => !r.ok);
    return {
      results: all.slice(0, writes.length).map(toWriteResult),
      alongsideFailed: failed && !failed.ok ? toError(failed.error) : undefined,
    };
  }

  /** The message that stores a record: JSON, with the headers the index and events read. */
  recordMsg(w: RecordWrite): OutMsg {
    return {
      subject: this.topo.names.taskRecordSubject(w.record.id),
      data: encodeJson(w.record),
      headers: [
        [Header.State, w.record.state],
        [Header.Tenant, w.record.tenant],
        [Header.TaskType, w.record.type],
      ],
      expectLastSubjectSeq: w.expect,
    };
  }

  /** Stores subtask records (create if absent: a repeat finds the first and changes nothing). */
  async putSubtasks(records: readonly SubtaskRecord[]): Promise<void> {
    if (records.length === 0) return;
    const results = await this.topo.publisher.publishAll(
      records.map((r) => ({
        subject: `$KV.${this.topo.names.buckets.subtasks}.${subtaskKey(r.taskId, r.index)}`,
        data: encode(r),
        expectLastSubjectSeq: 0,
      })),
    );
    for (const r of results) if (!r.ok && !r.error.isConflict) throw toError(r.error);
  }

  /** Stores task results: inline in the results bucket, or in the object store when large. */
  async putResults(results: readonly { id: string; value: unknown }[]): Promise<void> {
    if (results.length === 0) return;
    const msgs = await Promise.all(
      results.map(async ({ id, value }): Promise<OutMsg> => {
        const bytes = encode(value);
        let envelope: ResultEnvelope;
        if (bytes.length <= RESULT_INLINE_LIMIT) {
          envelope = { v: WIRE_VERSION, value };
        } else {
          const name = `result-${id}`;
          await (await this.topo.payloads()).putBlob({ name }, bytes);
          envelope = { v: WIRE_VERSION, ref: { bucket: this.topo.names.buckets.payloads, name } };
        }
        return { subject: `$KV.${this.topo.names.buckets.results}.${id}`, data: encode(envelope) };
      }),
    );
    await this.topo.publisher.publishAllOrThrow(msgs);
  }

  /** The stored result envelope: the value inline, or where to fetch it. */
  async getResult(id: string): Promise<ResultEnvelope | undefined> {
    const entry = await retryTransient(() => this.topo.kv.results.get(id));
    if (!entry || entry.operation !== 'PUT') return undefined;
    return validate('result-envelope', decode(entry.value));
  }
}

function toWriteResult(r: PubResult): WriteResult {
  if (r.ok) return { ok: true, revision: r.seq };
  return { ok: false, conflict: r.error.isConflict, error: r.error.isConflict ? CONFLICT : toError(r.error) };
}

/** One Error for every lost compare-and-set (they are routine; none needs a stack of its own). */
const CONFLICT = new Error('compare-and-set lost: the record changed');

/** Headers of a task record message (or its republished event) as a record of strings. */
export function recordHeaders(h: MsgHdrs | undefined): { state?: string; tenant?: string; type?: string } {
  if (!h) return {};
  const out: { state?: string; tenant?: string; type?: string } = {};
  const state = h.get(Header.State);
  const tenant = h.get(Header.Tenant);
  const type = h.get(Header.TaskType);
  if (state) out.state = state;
  if (tenant) out.tenant = tenant;
  if (type) out.type = type;
  return out;
}

/**
 * Records this process read or wrote lately, with their revisions: a write can start from here
 * instead of a read. A stale entry costs one lost compare-and-set and a read; it is a cache, never
 * the truth. Bounded: the oldest entries go first.
 */
export class RecordCache {
  readonly #map = new Map<string, StoredTask>();
  constructor(private readonly max = 100_000) {}

  get(id: string): StoredTask | undefined {
    return this.#map.get(id);
  }

  set(s: StoredTask): void {
    this.#map.delete(s.record.id);
    this.#map.set(s.record.id, s);
    if (this.#map.size > this.max) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }

  delete(id: string): void {
    this.#map.delete(id);
  }
}
