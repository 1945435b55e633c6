/**
 * Recording outcomes exactly once. Outcome messages (each with items of many tasks, from executors,
 * and task failures from schedulers and executors) arrive in batches from the shared durable
 * consumer; a batch is recorded with one read of the records it needs (or none, when this
 * coordinator wrote them lately), one window of subtask-record and result writes (each guarded by
 * the revision of the record the decision was made on), and one window of task-record writes under
 * compare-and-set. Only then are the messages acked.
 *
 * What each outcome does to its task is decided by @jetsched/protocol's transitions: a duplicate
 * counts once, a stale delivery's outcome (an executor paused past its ack wait) is refused and
 * logged, a failure the task's retry policy allows is followed by another attempt (./retries.ts), any
 * other failure fails the task, the last outcome finishes it. A record this coordinator
 * cached may be behind (another coordinator granted a claim): what such a decision stores is refused
 * by its guard, and a refusal as stale of a delivery newer than the cached owner stands only once
 * the stream leader confirms the record (see ./records.ts).
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decode,
  encode,
  ErrorCode,
  awaitsEnd,
  currentAttempt,
  failTask,
  finishTask,
  isTerminal,
  nextAttempt,
  owningDelivery,
  recordOutcomes,
  resultsInHand,
  retryOwed,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ErrorRecord,
  type Finish,
  type OutcomeBatch,
  type OutcomeItem,
  type Refusal,
  type Retry,
  type SubtaskRecord,
  type TaskFailure,
  type TaskRecord,
} from '@jetsched/protocol';
import {
  deadLetter,
  failpoint,
  isLastDelivery,
  msgContentType,
  rejectMessage,
  type Signer,
  type StoredTask,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import { aggregateResults, inHandResults, readResults } from './aggregate.js';
import type { CoordinatorConfig } from './options.js';
import type { Decision, Records } from './records.js';
import type { ListIndex } from './list-index.js';
import type { DeadLetters } from './dead-letters.js';
import type { NextAttempt, Retries } from './retries.js';
import { publishStops } from './stops.js';

/** Redelivery delay of outcomes whose recording failed (a node died, a leader moved). */
const RETRY_DELAY_MS = 1_000;

interface Received {
  msg: JsMsg;
  batch: OutcomeBatch;
}

/** What recording did to one task, for the steps after the record writes. */
interface TaskOutcome {
  refused: { item: OutcomeItem; why: Refusal }[];
  from: Map<OutcomeItem, string>;
}

export class OutcomeRecorder {
  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly records: Records,
    private readonly index: ListIndex,
    private readonly retries: Retries,
    private readonly deadLetters: DeadLetters,
    private readonly cfg: CoordinatorConfig,
  ) {}

  async handleBatch(msgs: JsMsg[]): Promise<void> {
    const good: Received[] = [];
    for (const msg of msgs) {
      let batch: OutcomeBatch;
      try {
        batch = validate('outcome-batch', decode(msg.data, msgContentType(msg)));
      } catch (err) {
        await this.#reject(msg, toErrorRecord(err, ErrorCode.BadRequest));
        continue;
      }
      const forged = unsigned(this.topo.signer, batch);
      if (forged) await this.#reject(msg, forged);
      else good.push({ msg, batch });
    }
    if (good.length === 0) return;
    try {
      await this.#record(good);
      for (const r of good) r.msg.ack();
    } catch (err) {
      this.cfg.log.warn(
        { err, messages: good.length },
        'recording outcomes failed; recording each task on its own',
      );
      // one task whose outcomes cannot be recorded must not hold back the others: each task of each
      // message on its own; a message is acked once every task in it is recorded
      for (const r of good) {
        const e = await this.#recordEachTask(r);
        if (e === undefined) r.msg.ack();
        else await this.#failed(r, e);
      }
    }
  }

  /** Records the tasks of one message one at a time; returns the first failure, if any. */
  async #recordEachTask(r: Received): Promise<unknown> {
    const ids = new Set([
      ...(r.batch.items ?? []).map((i) => i.taskId),
      ...(r.batch.failures ?? []).map((f) => f.taskId),
    ]);
    let first: unknown;
    for (const id of ids) {
      const batch: OutcomeBatch = {
        ...r.batch,
        items: (r.batch.items ?? []).filter((i) => i.taskId === id),
        failures: (r.batch.failures ?? []).filter((f) => f.taskId === id),
      };
      try {
        await this.#record([{ msg: r.msg, batch }]);
      } catch (err) {
        this.cfg.log.warn({ err, taskId: id }, 'recording the outcomes of a task failed');
        first ??= err;
      }
    }
    return first;
  }

  #reject(msg: JsMsg, reason: ErrorRecord): Promise<void> {
    return rejectMessage(this.topo, this.cfg.log, 'outcomes', this.cfg.id, msg, reason);
  }

  /** A message that could not be recorded: again later, or, on its last delivery, given up. */
  async #failed(r: Received, err: unknown): Promise<void> {
    if (!isLastDelivery(r.msg, this.topo.manifest.consumers.outcomes.maxDeliver)) {
      this.cfg.log.warn({ err, subject: r.msg.subject }, 'recording an outcome message failed; will retry');
      r.msg.nak(RETRY_DELAY_MS * r.msg.info.deliveryCount);
      return;
    }
    const error: ErrorRecord = {
      code: ErrorCode.MaxDeliveries,
      message: `outcomes could not be recorded after ${r.msg.info.deliveryCount} deliveries: ${(err as Error).message}`,
      retryable: false,
    };
    // the tasks it names fail with a readable error rather than wait for outcomes that never land
    const ids = new Set([
      ...(r.batch.items ?? []).map((i) => i.taskId),
      ...(r.batch.failures ?? []).map((f) => f.taskId),
    ]);
    await this.#reject(r.msg, error);
    try {
      await this.failTasks([...ids].map((taskId) => ({ taskId, error })));
    } catch (e) {
      this.cfg.log.error(
        { err: e, tasks: [...ids] },
        'could not fail the tasks of an outcome message given up',
      );
    }
  }

  /** Fails tasks that cannot go on (split failed, gave up), and stops their queued work. */
  async failTasks(failures: readonly TaskFailure[]): Promise<void> {
    const byTask = new Map<string, ErrorRecord>();
    for (const f of failures) if (!byTask.has(f.taskId)) byTask.set(f.taskId, f.error);
    const now = Date.now();
    const { updated, indexFailed } = await this.records.update([...byTask.keys()], (cur) => ({
      next: failTask(cur.record, byTask.get(cur.record.id) as ErrorRecord, now),
      out: undefined,
    }));
    const failed = [...updated.values()].filter((u) => u.changed).map((u) => u.stored.record);
    for (const t of failed) this.cfg.log.warn({ taskId: t.id, type: t.type, error: t.error }, 'task failed');
    await publishStops(this.topo, failed);
    if (indexFailed) throw indexFailed;
  }

  async #record(received: Received[]): Promise<void> {
    const items = new Map<string, OutcomeItem[]>();
    const failures: TaskFailure[] = [];
    const from = new Map<OutcomeItem, string>();
    for (const { batch } of received) {
      for (const item of batch.items ?? []) {
        const list = items.get(item.taskId) ?? [];
        list.push(item);
        items.set(item.taskId, list);
        from.set(item, batch.from);
      }
      failures.push(...(batch.failures ?? []));
    }
    const now = Date.now();
    const outcomes = new Map<string, TaskOutcome>();
    const { updated, missing, unreadable, indexFailed } = await this.records.update(
      [...items.keys()],
      async (cur) => {
        const its = items.get(cur.record.id) ?? [];
        const d = await this.#decide(cur, its, from, now);
        outcomes.set(cur.record.id, { refused: d.refused, from });
        return d;
      },
    );
    await failpoint('coordinator.after-record-write');
    await this.#reportUnknown(received, [...missing, ...unreadable.keys()]);
    const stopped: TaskRecord[] = [];
    const late: TaskRecord[] = [];
    const awaiting: StoredTask[] = [];
    const again: NextAttempt[] = [];
    const dead: { rec: TaskRecord; item: OutcomeItem & { ok: false } }[] = [];
    for (const [id, u] of updated) {
      const rec = u.stored.record;
      again.push(...(await this.#nextAttempts(rec, u.changed ? u.out.retries : [], outcomes.get(id))));
      dead.push(...lastFailures(rec, u.changed ? u.out.lastFailures : [], outcomes.get(id)));
      this.#logRefused(id, rec, outcomes.get(id));
      if (u.changed && isTerminal(rec.state)) this.#logEnd(rec);
      // outcomes of a task that ended already: a redelivery after a crash between the record write
      // and what follows it, or work still running; say stop again, and index the end again
      const isLate = outcomes.get(id)?.refused.some((r) => r.why === 'stopped') ?? false;
      if ((u.changed && isTerminal(rec.state)) || isLate) stopped.push(rec);
      if (isLate) late.push(rec);
      if (awaitsEnd(rec)) awaiting.push(u.stored);
    }
    if (failures.length > 0) await this.failTasks(failures);
    await Promise.all([
      publishStops(this.topo, stopped),
      this.index.add(late),
      this.retries.send(again),
      ...dead.map((d) => this.deadLetters.subtask(d.rec, d.item)),
    ]);
    await Promise.all(awaiting.map((s) => this.#finalize(s)));
    // the records are stored; a lost index page brings the messages back, to be indexed as late
    if (indexFailed) throw indexFailed;
  }

  /** What the outcomes of one task do to its record, and what must be stored before it. */
  async #decide(
    cur: StoredTask,
    items: OutcomeItem[],
    from: Map<OutcomeItem, string>,
    now: number,
  ): Promise<Decision<Decided> & { refused: { item: OutcomeItem; why: Refusal }[] }> {
    const task = cur.record;
    await failpoint(`coordinator.record.${task.type}`);
    const policy = items.some((o) => !o.ok) ? await this.retries.policyOf(task) : undefined;
    const res = recordOutcomes(task, items, now, policy);
    let result: { value: unknown } | undefined;
    if (res.awaitsResult && res.next && resultsInHand(task)) {
      // the outcomes that complete the task carry every result: end it in this very write, from the
      // outcomes that counted (a refused one in the same batch, a stale delivery's, has no say)
      const total = res.next.subtasks?.total ?? 0;
      const r = await this.#aggregateInHand(task, inHandResults(total, items, res.refused));
      res.next = finishTask(res.next, r.finish, now) ?? res.next;
      result = r.result;
    }
    const refused = res.refused.flatMap((why, k) => (why ? [{ item: items[k] as OutcomeItem, why }] : []));
    const total = res.next?.subtasks?.total ?? task.subtasks?.total ?? 0;
    const keep: SubtaskRecord[] = [];
    const retried = new Set<OutcomeItem>(res.retries.map((r) => r.item));
    const attempts = res.retries.map((r) => subtaskRecord(r.item, from.get(r.item) ?? ''));
    res.refused.forEach((why, k) => {
      const o = items[k] as OutcomeItem;
      // a one-subtask task keeps its result beside its record; its subtask record only on failure
      if (why === undefined && !retried.has(o) && (total > 1 || !o.ok))
        keep.push(subtaskRecord(o, from.get(o) ?? ''));
    });
    const finishing = res.next !== undefined && res.next.state === 'succeeded' && result !== undefined;
    // claims only go up: a delivery older than the owner in any record is stale for good, but one
    // newer than the owner of this record may own the subtask in a later record this one is behind
    // so do attempts: one newer than the cached record's current one may be current in a later record
    const confirm = refused.some(
      ({ item, why }) =>
        (why === 'stale' && item.delivery > owningDelivery(task, item.index)) ||
        (why === 'attempt' && item.attempt > currentAttempt(task, item.index)),
    );
    return {
      next: res.next,
      before: () =>
        this.store.putBeside(task.id, cur.revision, {
          subtasks: keep,
          attempts,
          ...(finishing ? { result: result as { value: unknown } } : {}),
        }),
      confirm,
      refused,
      out: { retries: res.retries, lastFailures: res.lastFailures },
    };
  }

  /**
   * The attempts to send after a record write: those it decided (`decided`, logged here), and those
   * an earlier write decided that may not have been sent (the outcome that led to one came back:
   * the coordinator died between the write and the send; the copy is dropped by its dedupe id).
   */
  async #nextAttempts(rec: TaskRecord, decided: Retry[], o: TaskOutcome | undefined): Promise<NextAttempt[]> {
    const out: NextAttempt[] = [];
    for (const r of decided) {
      this.cfg.log.warn(
        {
          taskId: rec.id,
          type: rec.type,
          subtask: r.item.index,
          attempt: r.item.attempt,
          executor: o?.from.get(r.item),
          error: r.item.error,
          delayMs: r.delayMs,
        },
        'subtask failed; trying again',
      );
      out.push(nextOf(rec, r.item, r.attempt, r.delayMs));
    }
    for (const { item, why } of o?.refused ?? []) {
      if (why !== 'attempt' || item.ok || !('input' in item) || !retryOwed(rec, item)) continue;
      const next = nextAttempt(await this.retries.policyOf(rec), item.attempt, item.error, 0);
      out.push(nextOf(rec, item, item.attempt + 1, next?.delayMs ?? 0));
    }
    return out;
  }

  /** Aggregates the results in hand of a task this batch completes. */
  async #aggregateInHand(
    task: TaskRecord,
    results: unknown[],
  ): Promise<{ finish: Finish; result?: { value: unknown } }> {
    if (task.aggregate.kind === 'none') return { finish: { ok: true, hasResult: false } };
    try {
      const value = await aggregateResults(task, results, this.cfg.reducers);
      return { finish: { ok: true, hasResult: true }, result: { value } };
    } catch (err) {
      return { finish: { ok: false, error: toErrorRecord(err, ErrorCode.ReduceFailed) } };
    }
  }

  /** Ends a task whose every subtask succeeded over several batches: read back, aggregate, finish. */
  async #finalize(s: StoredTask): Promise<void> {
    let finish: Finish;
    let value: unknown;
    try {
      value =
        s.record.aggregate.kind === 'none'
          ? null
          : await aggregateResults(s.record, await readResults(this.topo, s.record), this.cfg.reducers);
      finish = { ok: true, hasResult: s.record.aggregate.kind !== 'none' };
    } catch (err) {
      const error = toErrorRecord(err, ErrorCode.Internal);
      if (error.retryable) throw err;
      finish = { ok: false, error };
    }
    const now = Date.now();
    const { updated, indexFailed } = await this.records.update([s.record.id], (cur) => {
      // the results were read for a record whose every subtask succeeded; a later one that still
      // awaits its end has the same results (nothing changes a done subtask)
      const next = finishTask(cur.record, finish, now);
      return {
        next,
        ...(next && finish.ok && finish.hasResult
          ? { before: () => this.store.putBeside(cur.record.id, cur.revision, { result: { value } }) }
          : {}),
        out: undefined,
      };
    });
    const u = updated.get(s.record.id);
    if (u?.changed) {
      this.#logEnd(u.stored.record);
      await publishStops(this.topo, [u.stored.record]);
    }
    if (indexFailed) throw indexFailed;
  }

  /** Outcomes naming tasks that do not exist are dead-lettered (the rest of their message is recorded). */
  async #reportUnknown(received: Received[], ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const unknown = new Set(ids);
    for (const { msg, batch } of received) {
      const items = (batch.items ?? []).filter((i) => unknown.has(i.taskId));
      if (items.length === 0) continue;
      const data = encode({ v: WIRE_VERSION, kind: 'outcomes', from: batch.from, items });
      await deadLetter(
        this.topo,
        this.cfg.log,
        'outcomes',
        this.cfg.id,
        { subject: msg.subject, data },
        {
          code: ErrorCode.NotFound,
          message: `no task ${[...new Set(items.map((i) => i.taskId))].join(', ')}`,
          retryable: false,
        },
      );
    }
  }

  #logRefused(taskId: string, rec: TaskRecord, o: TaskOutcome | undefined): void {
    for (const { item, why } of o?.refused ?? []) {
      const fields = {
        taskId,
        type: rec.type,
        subtask: item.index,
        attempt: item.attempt,
        delivery: item.delivery,
        executor: o?.from.get(item),
      };
      if (why === 'stale')
        this.cfg.log.warn(
          fields,
          'rejected the outcome of a stale delivery: a later delivery owns the subtask',
        );
      else if (why === 'out-of-range')
        this.cfg.log.warn(
          { ...fields, total: item.total },
          'rejected an outcome for a subtask the task does not have',
        );
      else this.cfg.log.debug({ ...fields, why }, 'ignored an outcome');
    }
  }

  #logEnd(rec: TaskRecord): void {
    if (rec.state === 'failed') {
      // the subtask that failed it, and on which attempt (retried subtasks name theirs)
      const subtask = (rec.error?.details as { subtask?: number } | undefined)?.subtask;
      const attempt = subtask === undefined ? undefined : currentAttempt(rec, subtask);
      this.cfg.log.warn(
        { taskId: rec.id, type: rec.type, subtask, attempt, error: rec.error },
        'task failed',
      );
    } else this.cfg.log.debug({ taskId: rec.id, type: rec.type, state: rec.state }, 'task finished');
  }
}

/** What a record write decided beyond the record: attempts to send, the failure that failed the task. */
interface Decided {
  retries: Retry[];
  /** Failures that counted as their subtask's last (the task survives them, or fails by one). */
  lastFailures: OutcomeItem[];
}

/**
 * The failures to dead-letter after a record write: those that counted as their subtask's last in
 * this write (`decided`), or the one that failed the task in an earlier write and came back (the
 * coordinator died before its dead letter was stored; the copy is dropped by its dedupe id).
 */
function lastFailures(
  rec: TaskRecord,
  decided: OutcomeItem[],
  o: TaskOutcome | undefined,
): { rec: TaskRecord; item: OutcomeItem & { ok: false } }[] {
  const now = decided.flatMap((item) => (item.ok ? [] : [{ rec, item }]));
  if (now.length > 0 || rec.state !== 'failed') return now;
  const by = (rec.error?.details as { subtask?: unknown } | undefined)?.subtask;
  return (o?.refused ?? []).flatMap(({ item, why }) =>
    why === 'stopped' && !item.ok && item.index === by && item.attempt === currentAttempt(rec, item.index)
      ? [{ rec, item }]
      : [],
  );
}

function nextOf(
  rec: TaskRecord,
  item: OutcomeItem & { ok: false },
  attempt: number,
  delayMs: number,
): NextAttempt {
  return { record: rec, index: item.index, total: item.total, attempt, input: item.input, delayMs };
}

function subtaskRecord(o: OutcomeItem, executor: string): SubtaskRecord {
  const rec: SubtaskRecord = {
    v: WIRE_VERSION,
    taskId: o.taskId,
    index: o.index,
    attempt: o.attempt,
    delivery: o.delivery,
    ok: o.ok,
    executor,
    startedAt: o.startedAt,
    finishedAt: o.finishedAt,
  };
  if (o.ok) rec.result = o.result;
  else {
    rec.error = o.error;
    if ('input' in o) rec.input = o.input;
  }
  return rec;
}

/**
 * Why a batch is refused for want of tokens (ADR 0026), or undefined when every item carries the
 * token of the attempt it names and every failure the token of its item or of its task. Only the
 * releasing scheduler makes tokens, so an outcome from anyone else cannot change a task; a genuine
 * sender never mixes in an unsigned item, so the whole message goes to the dead letters.
 */
function unsigned(signer: Signer, batch: OutcomeBatch): ErrorRecord | undefined {
  const item = (batch.items ?? []).find((i) => !signer.isAttemptToken(i.token, i.taskId, i.index, i.attempt));
  const failure = (batch.failures ?? []).find((f) =>
    f.index === undefined || f.attempt === undefined
      ? !signer.isTaskToken(f.token, f.taskId)
      : !signer.isAttemptToken(f.token, f.taskId, f.index, f.attempt),
  );
  const bad = item ?? failure;
  if (!bad) return undefined;
  const what =
    'index' in bad && bad.index !== undefined
      ? `subtask ${bad.index} attempt ${bad.attempt ?? '?'} of task ${bad.taskId}`
      : `task ${bad.taskId}`;
  return {
    code: ErrorCode.Forbidden,
    message: `an outcome message from ${batch.from} names ${what} without its attempt's token: refused`,
    retryable: false,
  };
}
