/**
 * Recording subtask outcomes exactly once, from the outcomes stream (one durable consumer shared by
 * every coordinator), in micro-batches. A message holds one outcome, or several of one task (an
 * `outcomes` message, answering a work message that carried several subtasks).
 *
 * 1. each outcome is stored with create-if-absent under `<taskId>.<index>`: a redelivered or
 *    duplicated outcome finds the key taken and changes nothing;
 * 2. the task record's `done` bitmap gets the subtask's bit under compare-and-set, once per task per
 *    batch; setting a set bit is a no-op, so counts stay exact when step 2 is repeated after a crash;
 * 3. when every bit is set the task is finalized (aggregate, store result, `succeeded`); a failed
 *    subtask fails the task at once and broadcasts a cancel for its other subtasks;
 * 4. only then are the messages acked. A crash anywhere means redelivery, and steps 1-3 are
 *    idempotent, so the outcome is recorded once.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  Bitmap,
  decode,
  encode,
  ErrorCode,
  isTerminal,
  kindOf,
  subtaskKey,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type CancelMessage,
  type ErrorRecord,
  type OutcomeMessage,
  type ProgressMessage,
  type SubtaskRecord,
  type TaskRecord,
} from '@jetsched/protocol';
import {
  createIfAbsent,
  rejectMessage,
  type StoredTask,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import { aggregate, aggregateResults } from './aggregate.js';
import type { CoordinatorConfig } from './options.js';

/** Redelivery delay of outcomes whose recording failed (a node died, a leader moved). */
const RETRY_DELAY_MS = 1_000;

type Finish = { ok: true; result: unknown } | { ok: false; error: ErrorRecord };

/** An outcomes message's body: one outcome, or several of one task (expanded here). */
function decodeOutcomes(data: Uint8Array): OutcomeMessage[] {
  const body = decode(data);
  if (kindOf(body) !== 'outcomes') return [validate('outcome-message', body)];
  const { taskId, attempt, executor, items } = validate('outcome-batch-message', body);
  return items.map((item) => ({ v: WIRE_VERSION, kind: 'outcome', taskId, attempt, executor, ...item }));
}

/** Each message once: a message carrying several outcomes appears once per outcome. */
function messagesOf(items: Received[]): Set<JsMsg> {
  return new Set(items.map((r) => r.msg));
}

interface Received {
  msg: JsMsg;
  outcome: OutcomeMessage;
}

export class OutcomeRecorder {
  /** Tasks this coordinator finished lately, so a late `started` notice costs no read. */
  readonly recentlyFinished = new Set<string>();

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cfg: CoordinatorConfig,
  ) {}

  async handleBatch(batch: JsMsg[]): Promise<void> {
    const byTask = new Map<string, Received[]>();
    for (const msg of batch) {
      let outcomes: OutcomeMessage[];
      try {
        outcomes = decodeOutcomes(msg.data);
      } catch (err) {
        await this.reject(msg, toErrorRecord(err, ErrorCode.BadRequest));
        continue;
      }
      for (const outcome of outcomes) {
        const list = byTask.get(outcome.taskId) ?? [];
        list.push({ msg, outcome });
        byTask.set(outcome.taskId, list);
      }
    }
    await Promise.all([...byTask].map(([taskId, items]) => this.recordForTask(taskId, items)));
  }

  private reject(msg: JsMsg, reason: ErrorRecord): Promise<void> {
    return rejectMessage(this.topo, this.cfg.log, 'outcomes', this.cfg.id, msg, reason);
  }

  private async recordForTask(taskId: string, items: Received[]): Promise<void> {
    try {
      const found = await this.store.get(taskId);
      if (!found) {
        for (const { msg } of items) {
          await this.reject(msg, {
            code: ErrorCode.NotFound,
            message: `no task ${taskId}`,
            retryable: false,
          });
        }
        return;
      }
      const task = found.record;
      if (isTerminal(task.state)) {
        // late or duplicate outcomes of a finished task change nothing
        for (const msg of messagesOf(items)) msg.ack();
        return;
      }
      // a message with an index out of range is refused whole, the rest of it included
      const total = task.subtasks?.total ?? 0;
      const refused = new Map<JsMsg, number>();
      for (const r of items) if (r.outcome.index >= total) refused.set(r.msg, r.outcome.index);
      for (const [msg, index] of refused) {
        await this.reject(msg, {
          code: ErrorCode.BadRequest,
          message: `subtask index ${index} out of range for task ${taskId} with ${total} subtasks`,
          retryable: false,
        });
      }
      const valid = items.filter((r) => !refused.has(r.msg));
      const outcomes = valid.map((r) => r.outcome);
      const finish = await this.finishInHand(task, outcomes);
      // subtask records and the result must be stored before the bits are set; not one after another
      await Promise.all([
        ...valid.map((r) => this.storeSubtask(r.outcome)),
        finish?.ok && task.aggregate.kind !== 'none'
          ? this.store.putResult(taskId, finish.result)
          : undefined,
      ]);
      const updated = await this.markDone(found, outcomes, finish);
      if (updated && !isTerminal(updated.state)) {
        const c = updated.subtasks;
        if (c && c.succeeded + c.failed === c.total) await this.finalize(updated);
        else if (c) this.progress(updated);
      }
      for (const msg of messagesOf(valid)) msg.ack();
    } catch (err) {
      // every step above repeats safely: have the batch redelivered soon, not after a whole ack wait
      this.cfg.log.warn({ err, taskId }, 'recording outcomes failed; will retry');
      for (const msg of messagesOf(items)) msg.nak(RETRY_DELAY_MS);
    }
  }

  private async storeSubtask(o: OutcomeMessage): Promise<void> {
    const rec: SubtaskRecord = {
      v: WIRE_VERSION,
      taskId: o.taskId,
      index: o.index,
      attempt: o.attempt,
      ok: o.ok,
      executor: o.executor,
      startedAt: o.startedAt,
      finishedAt: o.finishedAt,
    };
    if (o.ok) rec.result = o.result;
    else rec.error = o.error;
    await createIfAbsent(this.topo.kv.subtasks, subtaskKey(o.taskId, o.index), encode(rec));
  }

  /**
   * The task's result when this batch has everything it takes: no results at all (`aggregate:
   * none`), or the outcome of every subtask. Then the task finishes in the same compare-and-set that
   * records the outcomes, without reading results back. Undefined otherwise, or on a failed outcome.
   */
  private async finishInHand(task: TaskRecord, outcomes: OutcomeMessage[]): Promise<Finish | undefined> {
    if (outcomes.some((o) => !o.ok)) return undefined;
    if (task.aggregate.kind === 'none') return { ok: true, result: null };
    const total = task.subtasks?.total ?? 0;
    const results = new Array<unknown>(total);
    const seen = new Set<number>();
    // an outcome for a subtask recorded before (a re-run) may differ from the stored one: read back
    const done = task.subtasks ? Bitmap.decode(task.subtasks.done) : undefined;
    if (outcomes.some((o) => done?.has(o.index))) return undefined;
    for (const o of outcomes) {
      if (o.ok) {
        results[o.index] = o.result;
        seen.add(o.index);
      }
    }
    if (seen.size !== total) return undefined;
    try {
      return { ok: true, result: await aggregateResults(task, results, this.cfg.reducers) };
    } catch (err) {
      return { ok: false, error: toErrorRecord(err, ErrorCode.ReduceFailed) };
    }
  }

  /**
   * Sets the done bits under CAS, starting from the record already read. Fails the task on the
   * first failed subtask; completes it when the last bit is set and `finish` has the result.
   */
  private async markDone(
    found: StoredTask,
    outcomes: OutcomeMessage[],
    finish: Finish | undefined,
  ): Promise<TaskRecord | undefined> {
    const taskId = found.record.id;
    let failedNow: OutcomeMessage | undefined;
    const res = await this.store.update(
      taskId,
      (cur) => {
        if (isTerminal(cur.state) || !cur.subtasks) return undefined;
        const done = Bitmap.decode(cur.subtasks.done);
        let { succeeded, failed } = cur.subtasks;
        failedNow = undefined;
        for (const o of outcomes) {
          if (!done.set(o.index)) continue;
          if (o.ok) succeeded++;
          else {
            failed++;
            failedNow ??= o;
          }
        }
        if (succeeded === cur.subtasks.succeeded && failed === cur.subtasks.failed) return undefined;
        const now = Date.now();
        const next: TaskRecord = {
          ...cur,
          subtasks: { ...cur.subtasks, done: done.encode(), succeeded, failed },
        };
        next.startedAt ??= Math.min(...outcomes.map((o) => o.startedAt));
        if (failedNow && !failedNow.ok) {
          next.state = 'failed';
          next.finishedAt = now;
          next.error = {
            ...failedNow.error,
            details: { subtask: failedNow.index, cause: failedNow.error.details ?? null },
          };
        } else if (finish && succeeded === cur.subtasks.total) {
          next.finishedAt = now;
          if (finish.ok) {
            next.state = 'succeeded';
            next.hasResult = cur.aggregate.kind !== 'none';
          } else {
            next.state = 'failed';
            next.error = finish.error;
          }
        } else if (next.state === 'scheduled') {
          next.state = 'running';
        }
        return next;
      },
      found,
    );
    if (!res) return undefined;
    if (res.changed && isTerminal(res.record.state)) this.#finished(taskId);
    if (res.changed && res.record.state === 'failed') this.broadcastCancel(taskId, 'a subtask failed');
    return res.record;
  }

  private async finalize(task: TaskRecord): Promise<void> {
    let result: unknown;
    try {
      result = await aggregate(this.topo, task, this.cfg.reducers);
    } catch (err) {
      const error = toErrorRecord(err, ErrorCode.Internal);
      if (error.retryable) throw err;
      await this.store.transition(task.id, 'failed', { finishedAt: Date.now(), error });
      return;
    }
    await this.store.putResult(task.id, result);
    const res = await this.store.transition(task.id, 'succeeded', {
      finishedAt: Date.now(),
      hasResult: true,
    });
    if (res?.changed) this.#finished(task.id);
  }

  #finished(taskId: string): void {
    if (this.recentlyFinished.size >= 10_000) this.recentlyFinished.clear();
    this.recentlyFinished.add(taskId);
  }

  private progress(task: TaskRecord): void {
    const c = task.subtasks;
    if (!c) return;
    const p: ProgressMessage = {
      v: WIRE_VERSION,
      kind: 'subtasks',
      taskId: task.id,
      total: c.total,
      succeeded: c.succeeded,
      failed: c.failed,
    };
    this.topo.nc.publish(this.topo.names.progressSubject(task.id), encode(p));
  }

  broadcastCancel(taskId: string, reason: string): void {
    const notice: CancelMessage = { v: WIRE_VERSION, kind: 'cancel', taskId, reason };
    this.topo.nc.publish(this.topo.names.cancelSubject(taskId), encode(notice));
  }
}
