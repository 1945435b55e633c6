/**
 * Task records, subtask records and results as stored in KV: reads of many records in one request,
 * writes of many records in one window of publishes, each a compare-and-set on the revision read.
 * What a record becomes is never decided here: callers pass what ./transitions.ts (protocol)
 * computed.
 *
 * Subtask records and results are stored beside their task record, in the tasks bucket
 * (`<taskId>.<index>`, `<taskId>.result`), and each is written only while the record is still at the
 * revision the decision was made on: a decision made on a stale record cannot store anything.
 *
 * Every record write carries headers naming its state, tenant and type; the server republishes
 * every record write, headers and all, as the task's event. The list index is written beside the
 * records by their writers (coordinator/src/list-index.ts).
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  decode,
  decodeJson,
  encode,
  encodeJson,
  Header,
  validate,
  WIRE_VERSION,
  type ResultEnvelope,
  type SubtaskRecord,
  type TaskRecord,
} from '@jetsched/protocol';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  SUBJECT_BUSY,
  toError,
  WRONG_LAST_SEQUENCE,
  type OutMsg,
  type PubFailure,
  type PubResult,
} from './publisher.js';
import { retryTransient } from './transient.js';
import type { Topology } from './topology.js';

/** Results larger than this (msgpack-encoded) go to the payloads object store. @defaultValue 512 KiB */
export const RESULT_INLINE_LIMIT = 512 * 1024;
/** Most subjects one batched direct get may ask for (the server's limit). */
const MULTI_GET_LIMIT = 1024;
/** Tries of a guarded write a clustered stream keeps refusing as busy before the caller decides again. */
const BUSY_TRIES = 20;
/** Pause between those tries. */
const BUSY_PAUSE_MS = 5;

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

/** What a decision stores beside a task's record, before the record write that counts it. */
export interface Beside {
  /** Subtask records of the task: puts, so that the owner's later write replaces a stale one. */
  subtasks?: readonly SubtaskRecord[];
  /** Failed attempts that are tried again: kept each under its attempt, beside the subtask's record. */
  attempts?: readonly SubtaskRecord[];
  /** The task result, for the record write that ends the task `succeeded` with `hasResult`. */
  result?: { value: unknown };
}

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
   * Reads a record through the stream leader. A direct get (`get`, `getMany`) may be answered by a
   * replica that lags; this one is for a decision that holds only if made on the latest record.
   */
  async getLatest(id: string): Promise<StoredTask | null> {
    const stream = `KV_${this.topo.names.buckets.tasks}`;
    const m = await retryTransient(() =>
      this.topo.jsm.streams.getMessage(stream, { last_by_subj: this.topo.names.taskRecordSubject(id) }),
    );
    if (!m || m.data.length === 0 || m.header?.get('KV-Operation')) return null;
    return { record: decodeTask(m.data), revision: m.seq };
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

  /**
   * Stores subtask records and the result of one task beside its record, each only while the record
   * is still at `revision`, the one the decision to store them was made on
   * (`Nats-Expected-Last-Subject-Sequence` checked against the record's subject). Returns false when
   * the record has moved on: the decision is void, to be made again on a fresh read (a lost
   * compare-and-set). A write of a decision made on a stale record is refused by the server, so a
   * stale delivery's outcome can never replace the owner's.
   */
  async putBeside(taskId: string, revision: number, beside: Beside): Promise<boolean> {
    const n = this.topo.names;
    const guard = {
      expectLastSubjectSeq: revision,
      expectLastSubjectSeqSubject: n.taskRecordSubject(taskId),
    };
    const msgs: OutMsg[] = [
      ...(beside.subtasks ?? []).map((r) => ({
        subject: n.subtaskRecordSubject(r.taskId, r.index),
        data: encode(r),
        ...guard,
      })),
      ...(beside.attempts ?? []).map((r) => ({
        subject: n.subtaskAttemptSubject(r.taskId, r.index, r.attempt),
        data: encode(r),
        ...guard,
      })),
    ];
    if (beside.result) {
      const { value } = beside.result;
      const bytes = encode(value);
      let envelope: ResultEnvelope;
      if (bytes.length <= RESULT_INLINE_LIMIT) {
        envelope = { v: WIRE_VERSION, value };
      } else {
        // a name per revision decided on: a void decision's blob never replaces the one a stored
        // envelope names (decisions on the same revision store the same value); it expires unused
        const name = `result-${taskId}-${revision}`;
        await (await this.topo.payloads()).putBlob({ name }, bytes);
        envelope = { v: WIRE_VERSION, ref: { bucket: n.buckets.payloads, name } };
      }
      msgs.push({ subject: n.resultSubject(taskId), data: encode(envelope), ...guard });
    }
    return msgs.length === 0 ? true : this.#putGuarded(msgs);
  }

  /**
   * Publishes writes guarded by one record's revision. A clustered stream checks such a guard only
   * while no other write to or guarded by the same record is being replicated, and refuses the
   * others at once as busy: on a replicated layout they go one at a time (each after the previous
   * one is stored), on a single replica all at once; one refused as busy anyway is sent again.
   */
  async #putGuarded(msgs: readonly OutMsg[]): Promise<boolean> {
    let busy: readonly OutMsg[] = msgs;
    if (this.topo.manifest.replicas === 1) {
      const all = await this.topo.publisher.publishAll(msgs);
      const again: OutMsg[] = [];
      for (const [k, r] of all.entries()) {
        if (r.ok) continue;
        if (moved(r.error)) return false;
        if (r.error.errCode !== SUBJECT_BUSY) throw toError(r.error);
        again.push(msgs[k] as OutMsg);
      }
      busy = again;
    }
    for (const m of busy) {
      for (let attempt = 1; ; attempt++) {
        const r = await this.topo.publisher.publish(m);
        if (r.ok) break;
        if (moved(r.error)) return false;
        if (r.error.errCode !== SUBJECT_BUSY) throw toError(r.error);
        // still busy after a while: another coordinator writes the record; decide again
        if (attempt >= BUSY_TRIES) return false;
        await sleep(BUSY_PAUSE_MS);
      }
    }
    return true;
  }

  /** The stored result envelope: the value inline, or where to fetch it. */
  async getResult(id: string): Promise<ResultEnvelope | undefined> {
    const entry = await retryTransient(() => this.topo.kv.tasks.get(this.topo.names.resultKey(id)));
    if (entry?.operation === 'PUT') return validate('result-envelope', decode(entry.value));
    // only asked for when the record says there is a result: a replica that answered the direct
    // get may lag behind, so ask the stream leader before saying there is none
    const m = await retryTransient(() =>
      this.topo.jsm.streams.getMessage(`KV_${this.topo.names.buckets.tasks}`, {
        last_by_subj: this.topo.names.resultSubject(id),
      }),
    );
    if (!m || m.data.length === 0 || m.header?.get('KV-Operation')) return undefined;
    return validate('result-envelope', decode(m.data));
  }
}

/** The guard found another revision: the record moved on since the decision was made. */
function moved(f: PubFailure): boolean {
  return f.errCode === WRONG_LAST_SEQUENCE;
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
      // the oldest tenth at once: a Map keeps deleted entries at its front until it rehashes, so
      // finding the oldest key one at a time, on every write of a full cache, walks over them
      let drop = Math.max(1, Math.floor(this.max / 10));
      for (const id of this.#map.keys()) {
        this.#map.delete(id);
        if (--drop === 0) break;
      }
    }
  }

  delete(id: string): void {
    this.#map.delete(id);
  }
}
