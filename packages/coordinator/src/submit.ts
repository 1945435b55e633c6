/**
 * Task intake: validate, apply idempotency keys, record each task `pending`, and hand the tasks to
 * the schedulers. Submits that arrive while a round is being written are written together in the
 * next round (group commit): a `submit_many` of 1,000 tasks is 1,000 record writes in one window
 * and a handful of hand-off messages, and a lone submit is written at once.
 *
 * A reply goes out only once the record and the hand-off are stored. Each round's hand-off is
 * guarded by backstops sent ahead of its records (./backstops.ts, ADR 0023): a coordinator that dies
 * between the two leaves no task that never runs. See docs/architecture.md.
 */
import {
  countSubtasks,
  createTask,
  DEFAULT_GROUP,
  DEFAULT_TENANT,
  decodeJson,
  encode,
  encodeJson,
  ErrorCode,
  fairnessKeyOf,
  Header,
  idempotencyKvKey,
  itemsMsgId,
  JetschedError,
  MAX_DELAY_MS,
  newTaskId,
  packMessages,
  packMap,
  packWithItems,
  runAtOf,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ApiReply,
  type DeadlineNotice,
  type SubmitReply,
  type SubmitRequest,
  type TaskRecord,
} from '@jetsched/protocol';
import {
  failpoint,
  GroupCommit,
  maxBodyBytes,
  toError,
  SIGNATURE_HEADER,
  type ExecutorRegistry,
  type OutMsg,
  type RecordCache,
  type TaskStore,
  type Topology,
  type WriteResult,
} from '@jetsched/runtime';
import type { Backstops } from './backstops.js';
import type { ListIndex } from './list-index.js';
import type { CoordinatorConfig } from './options.js';

/** Submit rounds written at once. */
const COMMIT_CONCURRENCY = 4;

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
  if (req.runAt !== undefined && req.runAt > Date.now() + MAX_DELAY_MS) {
    throw new JetschedError(
      ErrorCode.BadRequest,
      `runAt is more than ${MAX_DELAY_MS / 86_400_000} days ahead: ${new Date(req.runAt).toISOString()}`,
    );
  }
  const total = knownTotal(req);
  if (total !== undefined && total > cfg.maxSubtasks) {
    throw new JetschedError(
      ErrorCode.BadRequest,
      `the split gives ${total} subtasks, more than the ${cfg.maxSubtasks} a task may have: split coarser (a larger chunkSize)`,
    );
  }
  if (req.aggregate?.kind === 'reduce' && !cfg.reducers[req.type]) {
    throw new JetschedError(
      ErrorCode.BadRequest,
      `aggregate "reduce" needs a reducer registered for type "${req.type}" in the coordinator`,
    );
  }
}

/** Subtasks a task has, when the coordinator can tell at submit (a built-in split of an inline payload). */
function knownTotal(req: SubmitRequest): number | undefined {
  const split = req.split ?? { kind: 'none' };
  if (split.kind === 'custom') return undefined;
  if (split.kind === 'none') return 1;
  if (split.kind === 'range') return countSubtasks(split, undefined);
  return req.payload === undefined ? undefined : countSubtasks(split, req.payload);
}

interface Entry {
  req: SubmitRequest;
  /** The schedule occurrence the task is created for (see ./schedules.ts). */
  schedule?: TaskRecord['schedule'];
  /** The submit's W3C trace context, kept in the record for every subtask's span. */
  trace?: string;
}

export class Submitter {
  readonly #commit = new GroupCommit<Entry, ApiReply<SubmitReply>>((e) => this.#round(e), COMMIT_CONCURRENCY);

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cache: RecordCache,
    private readonly index: ListIndex,
    private readonly registry: ExecutorRegistry,
    private readonly backstops: Backstops,
    private readonly cfg: CoordinatorConfig,
  ) {}

  /**
   * Submits one validated request; throws its error. `schedule`: the schedule occurrence it is
   * created for; `trace`: the submit's W3C trace context.
   */
  async submit(
    req: SubmitRequest,
    opts: { schedule?: TaskRecord['schedule']; trace?: string } = {},
  ): Promise<SubmitReply> {
    checkSubmission(req, this.cfg);
    this.#checkDelay(req);
    const r = await this.#commit.add({ req, ...opts });
    if (!r.ok) throw JetschedError.fromRecord(r.error);
    return { id: r.id, duplicate: r.duplicate };
  }

  /** Submits many requests, each validated on its own: one bad task does not refuse the others. */
  async submitMany(tasks: readonly unknown[], trace?: string): Promise<ApiReply<SubmitReply>[]> {
    const out = new Array<ApiReply<SubmitReply>>(tasks.length);
    const valid: { i: number; req: SubmitRequest }[] = [];
    tasks.forEach((t, i) => {
      try {
        const req = validate('submit-request', t);
        checkSubmission(req, this.cfg);
        this.#checkDelay(req);
        valid.push({ i, req });
      } catch (err) {
        out[i] = { ok: false, error: toErrorRecord(err, ErrorCode.BadRequest) };
      }
    });
    const results = await this.#commit.addAll(
      valid.map((v) => (trace === undefined ? { req: v.req } : { req: v.req, trace })),
    );
    valid.forEach((v, k) => (out[v.i] = results[k] as ApiReply<SubmitReply>));
    return out;
  }

  /**
   * A delay must end while the task's record is kept (records expire the task retention after their
   * last write): a longer one is refused rather than lost.
   */
  #checkDelay(req: SubmitRequest): void {
    const now = Date.now();
    const runAt = runAtOf(req, now);
    const keep = this.topo.manifest.taskRetentionMs - DELAY_RETENTION_MARGIN_MS;
    if (runAt === undefined || runAt - now <= keep) return;
    const days = (ms: number): string => (ms / 86_400_000).toFixed(1);
    throw new JetschedError(
      ErrorCode.BadRequest,
      `the task would wait ${days(runAt - now)} days, longer than its record is kept (the task retention, ${days(
        this.topo.manifest.taskRetentionMs,
      )} days, less 1 hour): provision a longer --task-retention-ms`,
    );
  }

  /** One round: idempotency keys, then records, then hand-offs; one result per entry. */
  async #round(entries: Entry[]): Promise<ApiReply<SubmitReply>[]> {
    const results = new Array<ApiReply<SubmitReply> | undefined>(entries.length);
    const fail = (i: number, err: unknown): void => {
      results[i] = { ok: false, error: toErrorRecord(err, ErrorCode.Internal) };
    };
    const ids = entries.map(() => newTaskId());
    entries.forEach((e, i) => {
      const group = e.req.group ?? DEFAULT_GROUP;
      if (e.req.requireExecutor && !this.registry.serves(group, e.req.type)) {
        fail(
          i,
          new JetschedError(
            ErrorCode.NoExecutor,
            `no executor in group "${group}" serves type "${e.req.type}"`,
          ),
        );
      }
    });
    await this.#claimKeys(entries, ids, results);

    // inputs are encoded once: their size goes in the record, their bytes in the hand-off
    const fresh = entries.map((_, i) => i).filter((i) => results[i] === undefined);
    const now = Date.now();
    const tasks: HandOff[] = fresh.map((i) => {
      const e = entries[i] as Entry;
      const input = encodeInput(e.req);
      return { record: newRecord(ids[i] as string, e, input?.bytes.length ?? 0, now), input };
    });
    const { written, handedOff } = await this.#recordAndHandOff(tasks);
    // state changes are logged at debug: checked once a round, not built per task under load
    const debug = this.cfg.log.isLevelEnabled('debug');
    written.forEach((w, k) => {
      const i = fresh[k] as number;
      const err = handedOff[k];
      if (!w.ok && !w.conflict) {
        fail(
          i,
          new JetschedError(ErrorCode.Internal, `could not record the task: ${w.error.message}`, {
            retryable: true,
          }),
        );
      } else if (err) fail(i, err);
      else {
        results[i] = { ok: true, id: ids[i] as string, duplicate: false };
        const r = (tasks[k] as HandOff).record;
        this.cfg.metrics.of(r.group, r.type).submitted.inc();
        if (debug)
          this.cfg.log.debug(
            { taskId: r.id, type: r.type, group: r.group, tenant: r.tenant, state: r.state },
            'task recorded',
          );
      }
    });
    return results.map(
      (r) => r ?? { ok: false, error: toErrorRecord(new Error('not submitted'), ErrorCode.Internal) },
    );
  }

  /**
   * Writes the records of new tasks (create-if-absent, indexed as pending in the same window) and
   * hands them on. The hand-off's backstops (./backstops.ts) go ahead of the records in the same
   * window, so a crash after the records leaves no task without a way on; once the hand-off is
   * stored they are purged. A write that conflicts found the record stored already (an earlier try
   * of the same write, or of the same idempotency key) and is handed on all the same. Per task: the
   * write's result, and the error of its hand-off (undefined when stored, or not tried).
   */
  async #recordAndHandOff(
    tasks: readonly HandOff[],
  ): Promise<{ written: WriteResult[]; handedOff: (Error | undefined)[] }> {
    if (tasks.length === 0) return { written: [], handedOff: [] };
    const packs = this.#handOffPacks(tasks);
    const backstop = this.backstops.of(packs.map((p) => p.msg));
    // sent first on the connection: a record is never stored without its backstop having been
    // sent. Its ack is not waited for before the hand-off (only before the purge): a reply does not
    // wait on a message that matters only if this process dies
    const guarding = this.topo.publisher.publishAll(backstop.msgs);
    const { results: written, alongsideFailed } = await this.store.write(
      tasks.map(({ record }) => ({ record, expect: 0 })),
      this.index.pages(tasks.map((t) => t.record)),
    );
    if (alongsideFailed)
      this.cfg.log.warn({ err: alongsideFailed }, 'could not index submitted tasks as pending');
    await failpoint('coordinator.before-hand-off');
    written.forEach((w, k) => {
      if (w.ok) this.cache.set({ record: (tasks[k] as HandOff).record, revision: w.revision });
    });
    const recorded = tasks
      .map((_, k) => k)
      .filter((k) => {
        const w = written[k] as WriteResult;
        return w.ok || w.conflict;
      });
    const handedOff = new Array<Error | undefined>(tasks.length);
    if (recorded.length === tasks.length) {
      // the hand-off as its backstops copy it
      await this.#publishPacks(packs, handedOff, 'could not hand the task on');
    } else {
      const errors = await this.handOff(recorded.map((k) => tasks[k] as HandOff));
      recorded.forEach((k, n) => (handedOff[k] = errors[n]));
    }
    // a hand-off that failed keeps its backstops: they hand it on when they fire
    this.backstops.dropOnceStored(backstop.round, guarding, !handedOff.some((e) => e));
    return { written, handedOff };
  }

  /**
   * Claims idempotency keys (create-if-absent, per tenant). Entries of one round with the same key
   * follow the first. An entry whose key was taken before becomes a duplicate of the first task; if
   * that task's record never got written (its submit died), this request finishes the job with the
   * same id.
   */
  async #claimKeys(
    entries: Entry[],
    ids: string[],
    results: (ApiReply<SubmitReply> | undefined)[],
  ): Promise<void> {
    const byKey = new Map<string, number[]>();
    entries.forEach((e, i) => {
      if (e.req.idempotencyKey === undefined || results[i] !== undefined) return;
      const key = idempotencyKvKey(e.req.tenant ?? DEFAULT_TENANT, e.req.idempotencyKey);
      byKey.set(key, [...(byKey.get(key) ?? []), i]);
    });
    if (byKey.size === 0) return;
    const keys = [...byKey.keys()];
    const leader = (key: string): number => (byKey.get(key) as number[])[0] as number;
    const claimed = await this.topo.publisher.publishAll(
      keys.map((key) => ({
        subject: `$KV.${this.topo.names.buckets.idempotency}.${key}`,
        data: encodeJson({ taskId: ids[leader(key)], at: Date.now() }),
        expectLastSubjectSeq: 0,
      })),
    );
    await Promise.all(
      keys.map(async (key, k) => {
        const members = byKey.get(key) as number[];
        const [first, ...followers] = members as [number, ...number[]];
        const r = claimed[k];
        try {
          if (r?.ok) {
            // the first goes on as a new task; the rest of the round are its duplicates
            for (const i of followers) results[i] = { ok: true, id: ids[first] as string, duplicate: true };
            return;
          }
          if (!r) throw new Error('no publish result');
          if (!r.error.isConflict) throw toError(r.error);
          const entry = await this.topo.kv.idempotency.get(key);
          const prior =
            entry?.operation === 'PUT' ? (decodeJson(entry.value) as { taskId?: unknown }) : undefined;
          if (typeof prior?.taskId !== 'string') {
            throw new JetschedError(ErrorCode.Internal, 'idempotency record is unreadable', {
              retryable: true,
            });
          }
          if (!(await this.store.get(prior.taskId)))
            await this.#recordLate(prior.taskId, entries[first] as Entry);
          for (const i of members) results[i] = { ok: true, id: prior.taskId, duplicate: true };
        } catch (err) {
          for (const i of members) results[i] = { ok: false, error: toErrorRecord(err, ErrorCode.Internal) };
        }
      }),
    );
  }

  /** Records and hands off a task whose first submit claimed its key and died before recording it. */
  async #recordLate(id: string, entry: Entry): Promise<void> {
    const input = encodeInput(entry.req);
    const record = newRecord(id, entry, input?.bytes.length ?? 0, Date.now());
    const {
      written: [w],
      handedOff: [err],
    } = await this.#recordAndHandOff([{ record, input }]);
    if (w && !w.ok && !w.conflict) throw w.error;
    if (err) throw err;
  }

  /**
   * Hands recorded tasks on: a `delayed` one to a server-held schedule that fires at its time
   * (./due.ts takes it from there), any other to the ready queue; and a task with a deadline to a
   * schedule that fires at it. Returns an error per task whose hand-off was not stored (undefined
   * when it was).
   */
  async handOff(tasks: readonly HandOff[]): Promise<(Error | undefined)[]> {
    const errors = new Array<Error | undefined>(tasks.length);
    await this.#publishPacks(this.#handOffPacks(tasks), errors, 'could not hand the task on');
    return errors;
  }

  /** Every message that hands `tasks` on, each with the tasks it holds (their indexes in `tasks`). */
  #handOffPacks(tasks: readonly HandOff[]): Pack[] {
    const where = (pred: (t: HandOff) => boolean): number[] =>
      tasks.map((_, i) => i).filter((i) => pred(tasks[i] as HandOff));
    const of = (list: number[], packs: Pack[]): Pack[] =>
      packs.map((p) => ({ msg: p.msg, members: p.members.map((k) => list[k] as number) }));
    const delayed = where((t) => t.record.state === 'delayed');
    const ready = where((t) => t.record.state !== 'delayed');
    const timed = where((t) => t.record.deadline !== undefined);
    return [
      ...of(delayed, this.#scheduleMsgs(delayed.map((i) => tasks[i] as HandOff))),
      ...of(
        ready,
        this.#readyMsgs(
          ready.map((i) => tasks[i] as HandOff),
          false,
        ),
      ),
      ...of(timed, this.#deadlineMsgs(timed.map((i) => (tasks[i] as HandOff).record))),
    ];
  }

  /**
   * Deadlines as server-held schedules (`<prefix>.deadline.<taskId>`), each firing a deadline notice
   * at its time; the coordinator that takes it fails the task if it has not ended (./due.ts).
   */
  #deadlineMsgs(records: readonly TaskRecord[]): Pack[] {
    return records.map((r, i) => {
      const notice: DeadlineNotice = { v: WIRE_VERSION, kind: 'deadline', taskId: r.id };
      const data = encode(notice);
      const msg: OutMsg = {
        subject: this.topo.names.deadlineSubject(r.id),
        data,
        headers: [
          ['Nats-Schedule', `@at ${new Date(r.deadline as number).toISOString()}`],
          ['Nats-Schedule-Target', this.topo.names.dueSubject()],
          [Header.TaskId, r.id],
          [SIGNATURE_HEADER, this.topo.signer.sign(data)],
        ],
        msgId: `deadline.${r.id}`,
      };
      return { msg, members: [i] };
    });
  }

  /**
   * Puts delayed tasks under server-held schedules (`Nats-Schedule: @at`, ADR-51) in the delayed
   * stream: one per task, or one per group, type and second for tasks submitted together (up to
   * {@link DUE_BATCH_MAX}). Each fires a due notice (the tasks as a ready message would carry them)
   * a little before the first one's time; the coordinator that takes the notice holds each task
   * until its own time (./due.ts).
   */
  #scheduleMsgs(tasks: readonly HandOff[]): Pack[] {
    const now = Date.now();
    const items = tasks.map((t) => taskItem(t.record, t.input));
    // tasks of one group and type due within the same second share a schedule: a burst due at one
    // moment is a few schedules for the server to fire, not one per task
    const together = new Map<string, number[]>();
    tasks.forEach(({ record: r }, i) => {
      const key = `${r.group}\u0000${r.type}\u0000${Math.floor((r.runAt ?? now) / DUE_SLOT_MS)}`;
      const list = together.get(key) ?? [];
      list.push(i);
      together.set(key, list);
    });
    const msgs: Pack[] = [];
    const max = maxBodyBytes(this.topo.nc);
    for (const members of together.values()) {
      const packs = packMessages(
        members.map((i) => ({ size: (items[i] as Uint8Array).length })),
        DUE_BATCH_MAX,
        max,
      );
      for (const pack of packs) {
        const idx = pack.map((k) => members[k] as number);
        const records = idx.map((i) => (tasks[i] as HandOff).record);
        const first = records[0] as TaskRecord;
        const data = packWithItems(
          { v: WIRE_VERSION, kind: 'sched' },
          'tasks',
          idx.map((i) => items[i] as Uint8Array),
        );
        const runAt = Math.min(...records.map((r) => r.runAt ?? now));
        const fireAt = Math.max(now, runAt - DUE_EARLY_MS - spreadOf(first.id, this.cfg.dueSpreadMs));
        const batch = { id: first.id, group: first.group, type: first.type, count: idx.length };
        msgs.push({
          members: idx,
          msg: {
            subject:
              idx.length === 1
                ? this.topo.names.delayedSubject(first)
                : this.topo.names.delayedBatchSubject(batch),
            data,
            headers: [
              ['Nats-Schedule', `@at ${new Date(fireAt).toISOString()}`],
              ['Nats-Schedule-Target', this.topo.names.dueSubject()],
              [Header.Items, String(idx.length)],
              [Header.TaskId, first.id],
              [SIGNATURE_HEADER, this.topo.signer.sign(data)],
            ],
            msgId: idx.length === 1 ? `delay.${first.id}` : `delay.${first.id}.${idx.length}`,
          },
        });
      }
    }
    return msgs;
  }

  /**
   * Publishes tasks to the ready queue (ADR 0018), on the subject of their group, priority, fairness
   * key and type, as few messages as fit the server's max_payload, each with the records as written
   * and a signature, so that a releaser need not read them back. Returns an error per task whose
   * hand-off was not stored (undefined when it was). `onePerMessage`: each task alone, so that its
   * message's dedupe id depends on that task only (a hand-off repeated in other company is still
   * dropped as a copy).
   */
  async enqueue(
    tasks: readonly HandOff[],
    opts: { onePerMessage?: boolean } = {},
  ): Promise<(Error | undefined)[]> {
    const errors = new Array<Error | undefined>(tasks.length);
    const packs = this.#readyMsgs(tasks, opts.onePerMessage ?? false);
    await this.#publishPacks(packs, errors, 'could not hand the task to the schedulers');
    return errors;
  }

  /** The ready messages of `tasks` (see {@link enqueue}). */
  #readyMsgs(tasks: readonly HandOff[], onePerMessage: boolean): Pack[] {
    const items = tasks.map((t) => taskItem(t.record, t.input));
    const bySubject = new Map<string, number[]>();
    tasks.forEach((t, i) => {
      const r = t.record;
      const subject = this.topo.names.readySubject(r.group, r.priority, fairnessKeyOf(r), r.type);
      const list = bySubject.get(subject) ?? [];
      list.push(i);
      bySubject.set(subject, list);
    });
    const msgs: Pack[] = [];
    const max = maxBodyBytes(this.topo.nc);
    for (const [subject, members] of bySubject) {
      const packs = packMessages(
        members.map((i) => ({ size: (items[i] as Uint8Array).length })),
        onePerMessage ? 1 : Number.MAX_SAFE_INTEGER,
        max,
      );
      for (const pack of packs) {
        const idx = pack.map((k) => members[k] as number);
        const ids = idx.map((i) => (tasks[i] as { record: TaskRecord }).record.id);
        const data = packWithItems(
          { v: WIRE_VERSION, kind: 'sched' },
          'tasks',
          idx.map((i) => items[i] as Uint8Array),
        );
        const subtasks = idx.reduce(
          (n, i) => n + ((tasks[i] as { record: TaskRecord }).record.subtasks?.total ?? 1),
          0,
        );
        msgs.push({
          members: idx,
          msg: {
            subject,
            data,
            headers: [
              [Header.Items, String(idx.length)],
              [Header.Subtasks, String(subtasks)],
              [Header.TaskId, ids[0] as string],
              [SIGNATURE_HEADER, this.topo.signer.sign(data)],
            ],
            msgId: itemsMsgId('sched', ids),
          },
        });
      }
    }
    return msgs;
  }

  /** Publishes messages of several tasks each; a message not stored sets `errors` of its tasks. */
  async #publishPacks(msgs: readonly Pack[], errors: (Error | undefined)[], what: string): Promise<void> {
    const published = await this.topo.publisher.publishAll(msgs.map((m) => m.msg));
    published.forEach((r, k) => {
      if (r.ok) return;
      for (const i of (msgs[k] as Pack).members) {
        errors[i] ??= new JetschedError(ErrorCode.Internal, `${what}: ${r.error.message}`, {
          retryable: true,
        });
      }
    });
  }
}

/** A task's input as it goes in the hand-off: the payload, or its claim check, encoded once. */
export interface Input {
  key: 'payload' | 'payloadRef';
  bytes: Uint8Array;
}

/** One hand-off message, with the tasks it holds (their indexes in the list it was made from). */
interface Pack {
  msg: OutMsg;
  members: number[];
}

/** A recorded task to hand on, with its input. */
export interface HandOff {
  record: TaskRecord;
  input: Input | undefined;
}

/**
 * How long before its time a delayed task's schedule fires: the server's schedule timer runs about
 * every 250 ms, so a notice fired this early is held until the time itself and the task is never late
 * by the timer's step, and never early.
 */
export const DUE_EARLY_MS = 400;

/**
 * How much earlier than the others a task's schedule fires, in [0, `spreadMs`): a hash of its id, so
 * that a burst due at one moment fires in the server's steps (~250 ms) over `spreadMs`, and the
 * same task always gets the same offset.
 */
export function spreadOf(taskId: string, spreadMs: number): number {
  if (spreadMs <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < taskId.length; i++) h = Math.imul(h ^ taskId.charCodeAt(i), 0x01000193);
  return (h >>> 0) % spreadMs;
}

/**
 * Delayed tasks of one group and type submitted together share a schedule when their times fall in
 * the same slot of this length...
 */
const DUE_SLOT_MS = 1_000;
/** ...up to this many per schedule (and the server's max_payload). */
const DUE_BATCH_MAX = 1_000;

/** A delayed task's record must outlive its time by this much (its due notice may come late). */
const DELAY_RETENTION_MARGIN_MS = 3_600_000;

/** One task of a hand-off message (`{ id, payload | payloadRef, record }`), msgpack. */
function taskItem(record: TaskRecord, input: Input | undefined): Uint8Array {
  return packMap([
    ['id', encode(record.id)],
    ...(input ? [[input.key, input.bytes] as const] : []),
    ['record', encode(record)],
  ]);
}

/** The record of a new task: `delayed` when it asks to run later, else `pending`. */
function newRecord(id: string, entry: Entry, payloadBytes: number, now: number): TaskRecord {
  const total = knownTotal(entry.req);
  const runAt = runAtOf(entry.req, now);
  return createTask({
    id,
    request: entry.req,
    payloadBytes,
    ...(total === undefined ? {} : { total }),
    ...(runAt === undefined ? {} : { runAt }),
    ...(entry.schedule ? { schedule: entry.schedule } : {}),
    ...(entry.trace ? { trace: entry.trace } : {}),
    now,
  });
}

export function encodeInput(req: SubmitRequest): Input | undefined {
  if (req.payloadRef !== undefined) return { key: 'payloadRef', bytes: encode(req.payloadRef) };
  return req.payload === undefined ? undefined : { key: 'payload', bytes: encode(req.payload) };
}
