/**
 * The coordinator's request/reply API, served as a NATS queue group so any number of coordinators
 * share it. Each request is decoded as `unknown` (by its content type), validated, and answered with
 * `{ ok: true, ... }` or `{ ok: false, error }`; a bad request is also dead-lettered. Nothing here
 * throws past a handler.
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import {
  cancelTask,
  claimSubtasks,
  ErrorCode,
  Header,
  isTraceparent,
  isTerminal,
  JetschedError,
  toErrorRecord,
  validate,
  type ClaimReply,
  type ContentType,
  type ListReply,
  type SubmitManyReply,
  type SubmitReply,
  type SubtaskRef,
  type TaskRecord,
  type TaskReply,
} from '@jetsched/protocol';
import {
  deadLetter,
  decodeMsg,
  msgContentType,
  replyError,
  replyOk,
  type ExecutorRegistry,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import { listTasks } from './list.js';
import type { ListIndex } from './list-index.js';
import { DEFAULT_WAIT_MS, type CoordinatorConfig } from './options.js';
import type { Records } from './records.js';
import { getGroup, pauseGroup, setGroup } from './groups.js';
import type { DeadLetters } from './dead-letters.js';
import type { Schedules } from './schedules.js';
import { publishStops } from './stops.js';
import type { Submitter } from './submit.js';

type Handler = (body: unknown, msg: Msg) => Promise<object>;

/** A request's W3C trace context (`traceparent` header), when it carries a valid one. */
function traceOf(msg: Msg): string | undefined {
  const t = msg.headers?.get(Header.Traceparent);
  return isTraceparent(t) ? t : undefined;
}

/** How often a held `wait` re-reads the task record besides watching its events. */
const WAIT_RECHECK_MS = 2_000;

export class Api {
  private readonly routes: Map<string, Handler>;

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly records: Records,
    private readonly index: ListIndex,
    private readonly submitter: Submitter,
    private readonly schedules: Schedules,
    private readonly deadLetters: DeadLetters,
    private readonly registry: ExecutorRegistry,
    private readonly cfg: CoordinatorConfig,
  ) {
    const a = topo.names.api;
    this.routes = new Map<string, Handler>([
      [a.submit, (b, m) => this.submit(b, traceOf(m))],
      [a.submitMany, (b, m) => this.submitMany(b, traceOf(m))],
      [a.get, (b) => this.get(b)],
      [a.list, (b) => this.list(b)],
      [a.cancel, (b) => this.cancel(b)],
      [a.wait, (b) => this.wait(b)],
      [a.claim, (b) => this.claim(b)],
      [a.groupGet, (b) => getGroup(this.topo, b)],
      [a.groupSet, (b) => setGroup(this.topo, b)],
      [a.groupPause, (b) => pauseGroup(this.topo, b, true)],
      [a.groupResume, (b) => pauseGroup(this.topo, b, false)],
      [a.scheduleCreate, (b) => this.schedules.create(b)],
      [a.scheduleGet, (b) => this.schedules.get(b)],
      [a.scheduleList, (b) => this.schedules.list(b)],
      [a.schedulePause, (b) => this.schedules.pause(b, true)],
      [a.scheduleResume, (b) => this.schedules.pause(b, false)],
      [a.scheduleDelete, (b) => this.schedules.delete(b)],
      [a.scheduleTrigger, (b) => this.schedules.trigger(b)],
      [a.dlqList, (b) => this.deadLetters.list(b)],
      [a.dlqGet, (b) => this.deadLetters.get(b)],
      [a.dlqRetry, (b) => this.deadLetters.retry(b)],
      [a.dlqPurge, (b) => this.deadLetters.purge(b)],
    ]);
  }

  /** Subscribes the queue group; returns the subscription (drained on close). */
  listen(): Subscription {
    return this.topo.nc.subscribe(this.topo.names.api.all, {
      queue: this.topo.names.queueGroups.coordinator,
      callback: (err, msg) => {
        if (err) {
          this.cfg.log.error({ err }, 'api subscription error');
          return;
        }
        void this.serve(msg);
      },
    });
  }

  private async serve(msg: Msg): Promise<void> {
    const ct: ContentType = msgContentType(msg);
    const route = this.routes.get(msg.subject);
    try {
      if (!route) throw new JetschedError(ErrorCode.NotFound, `no API operation at ${msg.subject}`);
      if (msg.data.length > this.cfg.maxRequestBytes) {
        throw new JetschedError(
          ErrorCode.PayloadTooLarge,
          `request is ${msg.data.length} bytes, over the ${this.cfg.maxRequestBytes}-byte limit; ` +
            'store a large payload in the payloads object store and submit a payloadRef (the client SDK does this)',
          { details: { size: msg.data.length, limit: this.cfg.maxRequestBytes } },
        );
      }
      const reply = await route(decodeMsg(msg), msg);
      if (msg.reply) replyOk(msg, reply, ct);
    } catch (err) {
      const rec = toErrorRecord(err, ErrorCode.Internal);
      if (rec.code === ErrorCode.Internal)
        this.cfg.log.error({ err, subject: msg.subject }, 'request failed');
      if (isBadInput(rec.code)) await deadLetter(this.topo, this.cfg.log, 'api', this.cfg.id, msg, rec);
      if (msg.reply) replyError(msg, rec, ct);
    }
  }

  private submit(body: unknown, trace: string | undefined): Promise<SubmitReply> {
    return this.submitter.submit(validate('submit-request', body), trace === undefined ? {} : { trace });
  }

  private async submitMany(body: unknown, trace: string | undefined): Promise<SubmitManyReply> {
    const { tasks } = validate('submit-many-request', body);
    return { results: await this.submitter.submitMany(tasks, trace) };
  }

  private async load(id: string, includeResult: boolean | undefined): Promise<TaskReply> {
    const found = await this.store.get(id);
    if (!found) throw new JetschedError(ErrorCode.NotFound, `no task ${id}`);
    const task = found.record;
    const reply: TaskReply = { task };
    if (includeResult && task.state === 'succeeded') {
      const stored = task.hasResult ? await this.store.getResult(id) : undefined;
      if (task.hasResult && !stored) {
        // the record says it has one: a result that cannot be found is an error, never a null
        throw new JetschedError(ErrorCode.Internal, `the result of task ${id} cannot be read`, {
          retryable: true,
        });
      }
      if (stored && 'ref' in stored) reply.resultRef = stored.ref;
      else reply.result = stored ? stored.value : null;
    }
    if (task.state === 'delayed' && task.runAt !== undefined) {
      reply.waiting = `delayed until ${new Date(task.runAt).toISOString()}`;
    } else if (task.state === 'pending' && !this.registry.serves(task.group, task.type)) {
      reply.waiting = `no executor in group "${task.group}" serves type "${task.type}"`;
    }
    return reply;
  }

  private get(body: unknown): Promise<TaskReply> {
    const req = validate('get-request', body);
    return this.load(req.id, req.includeResult);
  }

  private list(body: unknown): Promise<ListReply> {
    return listTasks(this.topo, this.store, this.cfg.log, validate('list-request', body ?? {}));
  }

  /**
   * Cancels a task: records it `cancelled`, stores its stop notice, and replies once every live
   * executor of its group confirmed it knows (or after `cancelConfirmMs`). From then on no subtask
   * of the task starts anywhere; running ones get their AbortSignal. Cancelling a cancelled task
   * again is answered as the first time (and re-sends the stop notice).
   */
  private async cancel(body: unknown): Promise<TaskReply> {
    const req = validate('cancel-request', body);
    const now = Date.now();
    const { updated, indexFailed } = await this.records.update([req.id], (cur) => ({
      next: cancelTask(cur.record, req.reason, now),
      out: undefined,
    }));
    const u = updated.get(req.id);
    if (!u) throw new JetschedError(ErrorCode.NotFound, `no task ${req.id}`);
    const task = u.stored.record;
    if (task.state !== 'cancelled') {
      throw new JetschedError(ErrorCode.InvalidState, `task ${req.id} is already ${task.state}`, {
        details: { state: task.state },
      });
    }
    if (!u.changed) {
      // cancelling again re-sends the stop and the index entry (a crash may have lost them); the
      // executors confirmed the first cancel, and a re-sent stop within the dedupe window is not
      // stored again, so there is nothing to wait for
      await Promise.all([publishStops(this.topo, [task]), this.index.add([task])]);
      return { task };
    }
    await Promise.all([
      this.#stopAndConfirm(task),
      indexFailed ? this.index.add([task]) : undefined,
      u.before.state === 'delayed' ? this.#dropSchedule(task) : undefined,
    ]);
    return { task };
  }

  /**
   * Removes a cancelled delayed task's schedule, so that it never fires (if it fires anyway, its
   * notice finds the task cancelled and is dropped). A schedule shared with other tasks stays: its
   * notice drops this one.
   */
  async #dropSchedule(task: TaskRecord): Promise<void> {
    try {
      await this.topo.jsm.streams.purge(this.topo.names.streams.delayed, {
        filter: this.topo.names.delayedSubject(task),
      });
    } catch (err) {
      this.cfg.log.warn(
        { err, taskId: task.id },
        'could not remove the schedule of a cancelled delayed task',
      );
    }
  }

  /** Stores the stop notice and waits until the live executors of the task's group know it. */
  async #stopAndConfirm(task: TaskRecord): Promise<void> {
    const expected = new Set(this.registry.live(task.group).map((a) => a.id));
    let done: () => void = () => undefined;
    const confirmed = new Promise<void>((resolve) => (done = resolve));
    const sub = this.topo.nc.subscribe(this.topo.names.stoppedSubject(task.id), {
      callback: (_err, m) => {
        expected.delete(m.string());
        if (expected.size === 0) done();
      },
    });
    try {
      await this.topo.nc.flush();
      await publishStops(this.topo, [task]);
      if (expected.size === 0) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.cfg.cancelConfirmMs)));
      await Promise.race([confirmed, late]);
      clearTimeout(timer);
      if (expected.size > 0) {
        this.cfg.log.warn(
          { taskId: task.id, unconfirmed: [...expected] },
          'cancel replied before every executor confirmed the stop',
        );
      }
    } finally {
      sub.unsubscribe();
    }
  }

  /**
   * Holds the request until the task is terminal or the timeout passes. The server republishes
   * every change of the record as the task's event, which wakes it at once; it also re-reads the
   * record every {@link WAIT_RECHECK_MS}, in case a core event was missed while this coordinator's
   * connection moved to another server.
   */
  private async wait(body: unknown): Promise<TaskReply> {
    const req = validate('wait-request', body);
    const timeoutMs = req.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    // an end announced while a read is in flight: the read may predate it, so read again at once
    let ended = false;
    // subscribe before reading, so a change between the two is not missed
    const sub = this.topo.nc.subscribe(this.topo.names.eventSubject(req.id), {
      callback: (_err, m) => {
        const state = m.headers?.get(Header.State);
        if (state === 'succeeded' || state === 'failed' || state === 'cancelled') {
          ended = true;
          wake?.();
        }
      },
    });
    try {
      for (;;) {
        ended = false;
        const now = await this.load(req.id, req.includeResult);
        if (isTerminal(now.task.state)) return now;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new JetschedError(
            ErrorCode.Timeout,
            `task ${req.id} is still ${now.task.state} after ${timeoutMs} ms`,
            {
              retryable: true,
              details: { state: now.task.state },
            },
          );
        }
        if (ended) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, WAIT_RECHECK_MS));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      sub.unsubscribe();
    }
  }

  /**
   * An executor claims redelivered subtasks before running them again: granted, the delivery owns
   * the subtask and the outcome of the delivery it replaces becomes stale.
   */
  private async claim(body: unknown): Promise<ClaimReply> {
    const req = validate('claim-request', body);
    const byTask = new Map<string, { k: number; ref: SubtaskRef }[]>();
    req.items.forEach((it, k) => {
      const list = byTask.get(it.taskId) ?? [];
      list.push({ k, ref: { index: it.index, total: it.total, attempt: it.attempt, delivery: it.delivery } });
      byTask.set(it.taskId, list);
    });
    const now = Date.now();
    const { updated } = await this.records.update([...byTask.keys()], (cur) => {
      const r = claimSubtasks(
        cur.record,
        (byTask.get(cur.record.id) ?? []).map((c) => c.ref),
        now,
      );
      // a grant without a write (the delivery owns the subtask already) holds only on the latest
      // record: a cached one may miss a later delivery's claim
      const confirm = r.next === undefined && r.refused.some((why) => why === undefined);
      return { next: r.next, confirm, out: r.refused };
    });
    const results: ClaimReply['results'] = req.items.map(() => ({ granted: false, reason: 'stopped' }));
    for (const [taskId, claims] of byTask) {
      const refused = updated.get(taskId)?.out;
      if (!refused) continue; // an unknown task: nothing of it may run
      claims.forEach((c, j) => {
        const why = refused[j];
        results[c.k] = why === undefined ? { granted: true } : { granted: false, reason: why };
      });
    }
    return { results };
  }
}

function isBadInput(code: string): boolean {
  return (
    code === ErrorCode.BadEncoding || code === ErrorCode.BadRequest || code === ErrorCode.PayloadTooLarge
  );
}
