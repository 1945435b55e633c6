/**
 * Delayed tasks coming due (ADR 0019). A delayed task waits under a server-held schedule (./submit.ts
 * `schedule`: its own, or one shared with tasks submitted with it and due within the same second),
 * which fires a due notice a little before the first task's `runAt`. The coordinator that takes the
 * notice (one shared durable consumer) holds each task until its own `runAt`, then:
 * 1. hands the task to the ready queue (dedupe id of the task: a repeat within the window is
 *    dropped),
 * 2. moves its record `delayed -> pending` by compare-and-set,
 * 3. acks the notice once every task of it is handed on.
 * A batch takes a hand-off slot for 1 only: the tasks are in the ready queue (and may run) while 2
 * is written, so how late a task starts does not wait on its record's write.
 * A notice fired again (the server re-fires a schedule after a crash) finds the record moved on and
 * is acked without a second hand-off; a cancelled task's notice is dropped the same way. A crash
 * between 1 and 2 redelivers the notice, and the hand-off's copy is dropped by its dedupe id.
 *
 * The same consumer brings the fire notices of cron and interval schedules (`kind: "fire"`), which
 * ./schedules.ts turns into tasks, one schedule's notices in order, and those of retries waiting out
 * their backoff (a ready message's `items`: a subtask's next attempt), which ./retries.ts sends on,
 * and tasks' deadlines (`kind: "deadline"`), which fail a task that has not ended, and hand-offs'
 * backstops (./backstops.ts), which hand on the tasks of a submit whose coordinator died.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decode,
  dueTask,
  encode,
  ErrorCode,
  toErrorRecord,
  validate,
  failTask,
  kindOf,
  JetschedError,
  type ErrorRecord,
  type FireNotice,
  type SchedTask,
  type TaskFailure,
  type WorkItem,
} from '@jetsched/protocol';
import {
  isLastDelivery,
  msgContentType,
  rejectMessage,
  SIGNATURE_HEADER,
  type Topology,
} from '@jetsched/runtime';
import { BackstopHeader, type Backstops } from './backstops.js';
import type { CoordinatorConfig } from './options.js';
import type { Records } from './records.js';
import type { Retries } from './retries.js';
import type { Schedules } from './schedules.js';
import { DUE_EARLY_MS, type HandOff, type Submitter } from './submit.js';

/** Notices due within this much of each other wait on one timer. */
const BUCKET_MS = 5;
/** At most this many due notices are handed on in one go (one read, one hand-off, one write window)... */
const DUE_BATCH = 250;
/** ...and this many such batches at once... */
const DUE_PARALLEL = 4;
/** ...while at most this many batches handed on wait for their records' writes. */
const DUE_MARKING = DUE_PARALLEL * 2;
/**
 * While this many notices are due and not yet handed on, no more are taken from the consumer: the
 * coordinator is behind, and notices taken now would only wait here (and come back after the ack
 * wait) instead of going to a coordinator with room.
 */
const DUE_BACKLOG = DUE_BATCH * DUE_PARALLEL * 2;
/**
 * Notices taken from the consumer at a time: a notice holds up to 1,000 tasks (a shared schedule),
 * so this bounds the tasks a coordinator takes at once (the consumer buffers twice as many).
 */
export const DUE_NOTICE_BATCH = 32;
/** On close, notices due within this long are still handed on; the rest are given back at once. */
const CLOSE_HOLD_MS = 2_000;

/** A due notice: one task, or tasks submitted together and due within the same second. */
interface Notice {
  msg: JsMsg;
  /** Its tasks not handed on yet: the notice is acked when none is left. */
  left: number;
  /** Acked, or given back (nak, dead letter): nothing more is done with the message. */
  settled: boolean;
}

/** The ids of the tasks a batch handed to the ready queue. */
type HandedOn = string[];

/** One task of a notice, held until its own time. */
interface Due {
  notice: Notice;
  task: SchedTask;
  runAt: number;
}

export class DueNotices {
  constructor(
    private readonly topo: Topology,
    private readonly records: Records,
    private readonly submitter: Submitter,
    private readonly backstops: Backstops,
    private readonly schedules: Schedules,
    private readonly retries: Retries,
    /** Fails tasks and stops their work (./outcomes.ts `failTasks`). */
    private readonly failTasks: (failures: TaskFailure[]) => Promise<void>,
    private readonly cfg: CoordinatorConfig,
  ) {}

  /** Notices not due yet, by the end of their {@link BUCKET_MS} bucket. */
  readonly #waiting = new Map<number, Due[]>();
  /** The timer of the earliest waiting bucket, and its time. */
  #timer: { at: number; handle: NodeJS.Timeout } | undefined;
  /** Notices due now, in the order they came due, to hand on. */
  #due: Due[] = [];
  /** Hand-offs and schedule firings under way. */
  readonly #work = new Set<Promise<void>>();
  #handing = 0;
  #marking = 0;
  /** Waiters for the due backlog to shrink (the consumer's next batch). */
  #roomWaiters: (() => void)[] = [];

  #closing = false;

  /**
   * Hands on what comes due within {@link CLOSE_HOLD_MS}, then gives every notice still held back to
   * the stream (nak, with the time until its next task is due), so that another coordinator takes
   * it; a coordinator holding a burst does not make its shutdown wait for all of it.
   */
  async close(): Promise<void> {
    this.#closing = true;
    const deadline = Date.now() + CLOSE_HOLD_MS;
    while ((this.#waiting.size > 0 || this.#due.length > 0) && Date.now() < deadline) {
      await Promise.race([...this.#work, new Promise((r) => setTimeout(r, 50))]);
    }
    if (this.#timer) clearTimeout(this.#timer.handle);
    this.#timer = undefined;
    const held = new Map<Notice, number>();
    for (const d of [...this.#due, ...[...this.#waiting.values()].flat()]) {
      if (!d.notice.settled) held.set(d.notice, Math.min(held.get(d.notice) ?? Infinity, d.runAt));
    }
    this.#due = [];
    this.#waiting.clear();
    const now = Date.now();
    for (const [notice, runAt] of held) {
      notice.settled = true;
      notice.msg.nak(Math.max(0, runAt - DUE_EARLY_MS - now));
    }
    for (const wake of this.#roomWaiters.splice(0)) wake();
    await Promise.allSettled([...this.#work]);
  }

  /**
   * Takes a batch of due notices, each to be handled at its task's time. Returns once the notices
   * are placed: a notice held for its time does not hold up the next ones (which may be due
   * sooner); only a backlog of notices already due makes it wait.
   */
  async handleBatch(msgs: JsMsg[]): Promise<void> {
    if (this.#closing) {
      for (const msg of msgs) msg.nak();
      return;
    }
    const fires = new Map<string, { msg: JsMsg; notice: FireNotice }[]>();
    for (const msg of msgs) {
      try {
        if (!this.topo.signer.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER))) {
          throw new JetschedError(
            ErrorCode.BadRequest,
            'a due notice without a valid signature: only a coordinator schedules tasks',
          );
        }
        if (msg.headers?.get(BackstopHeader.Subject)) {
          this.#run(() => this.#backstop(msg));
          continue;
        }
        const value = decode(msg.data, msgContentType(msg));
        if (kindOf(value) === 'deadline') {
          const { taskId } = validate('deadline-notice', value);
          this.#run(() => this.#deadline(msg, taskId));
          continue;
        }
        if (kindOf(value) === 'fire') {
          const notice = validate('fire-notice', value);
          fires.set(notice.schedule, [...(fires.get(notice.schedule) ?? []), { msg, notice }]);
          continue;
        }
        const batch = validate('sched-batch', value);
        const tasks = batch.tasks ?? [];
        if (batch.items && batch.items.length > 0) {
          const items = batch.items;
          this.#run(() => this.#retry(msg, items));
          continue;
        }
        if (tasks.length === 0) throw new Error('a due notice without a task');
        const notice: Notice = { msg, left: tasks.length, settled: false };
        for (const task of tasks) this.#wait({ notice, task, runAt: task.record?.runAt ?? 0 });
      } catch (err) {
        const reason = toErrorRecord(err, ErrorCode.BadRequest);
        await rejectMessage(this.topo, this.cfg.log, 'due', this.cfg.id, msg, reason);
      }
    }
    // one schedule's occurrences in order, each acked once its task is created (or it is skipped)
    for (const list of fires.values()) {
      this.#run(async () => {
        for (const { msg, notice } of list) {
          try {
            await this.schedules.fire(msg, notice);
            msg.ack();
          } catch (err) {
            this.cfg.log.warn(
              { err, schedule: notice.schedule },
              'could not handle a schedule firing; it comes back',
            );
            await this.#failed(msg, err);
          }
        }
      });
    }
    this.#wakeUp();
    while (this.#due.length >= DUE_BACKLOG && !this.#closing) {
      await new Promise<void>((r) => this.#roomWaiters.push(r));
    }
  }

  /** Holds `d` until its time (in its bucket), or queues it at once when it is due. */
  #wait(d: Due): void {
    const bucket = Math.ceil(d.runAt / BUCKET_MS) * BUCKET_MS;
    if (bucket <= Date.now()) {
      this.#due.push(d);
      return;
    }
    const list = this.#waiting.get(bucket);
    if (list) list.push(d);
    else this.#waiting.set(bucket, [d]);
  }

  /** Moves the buckets whose time has come to the due queue, hands them on, and sets the timer. */
  #wakeUp(): void {
    const now = Date.now();
    let next = Infinity;
    for (const [at, list] of this.#waiting) {
      if (at <= now) {
        for (const d of list) this.#due.push(d);
        this.#waiting.delete(at);
      } else next = Math.min(next, at);
    }
    this.#handOn();
    if (this.#timer && this.#timer.at !== next) {
      clearTimeout(this.#timer.handle);
      this.#timer = undefined;
    }
    if (!this.#timer && next !== Infinity) {
      this.#timer = {
        at: next,
        handle: setTimeout(() => {
          this.#timer = undefined;
          this.#wakeUp();
        }, next - now),
      };
    }
  }

  /**
   * Starts hand-offs of what is due, {@link DUE_BATCH} at a time, {@link DUE_PARALLEL} at once, and
   * no more while {@link DUE_MARKING} batches handed on wait for their records' writes.
   */
  #handOn(): void {
    while (this.#due.length > 0 && this.#handing < DUE_PARALLEL && this.#marking < DUE_MARKING) {
      const batch = this.#due.splice(0, DUE_BATCH);
      this.#handing++;
      this.#run(async () => {
        let handed: HandedOn | undefined;
        try {
          handed = await this.#handOff(batch);
        } finally {
          this.#handing--;
          if (handed) this.#marking++;
          if (this.#due.length < DUE_BACKLOG) for (const wake of this.#roomWaiters.splice(0)) wake();
          this.#handOn();
        }
        if (!handed) return;
        try {
          await this.#markPending(batch, handed);
        } finally {
          this.#marking--;
          this.#handOn();
        }
      });
    }
  }

  /** Runs `work` in the background; {@link close} waits for it. */
  #run(work: () => Promise<void>): void {
    const p = work()
      .catch((err: unknown) => this.cfg.log.error({ err }, 'handling due notices failed'))
      .finally(() => this.#work.delete(p));
    this.#work.add(p);
  }

  /**
   * Hands the tasks of `list` still delayed to the ready queue. Returns what was handed on, or
   * nothing when it failed (the notices are given back).
   */
  async #handOff(list: Due[]): Promise<HandedOn | undefined> {
    try {
      const { found } = await this.records.load(list.map((d) => d.task.id));
      // still delayed: hand them to the ready queue first (a crash after it redelivers the notice,
      // and the copy is dropped by its dedupe id), then mark them pending
      const handOffs: HandOff[] = [];
      for (const d of list) {
        const rec = found.get(d.task.id)?.record;
        if (!rec) this.cfg.log.warn({ taskId: d.task.id }, 'a due notice of a task that does not exist');
        else if (rec.state === 'delayed') handOffs.push({ record: rec, input: inputOf(d.task) });
      }
      // one task per message: a notice redelivered among other notices repeats the same message id
      const errors = await this.submitter.enqueue(handOffs, { onePerMessage: true });
      const failed = errors.find((e) => e);
      if (failed) throw failed;
      return handOffs.map((h) => h.record.id);
    } catch (err) {
      await this.#giveBack(list, err);
      return undefined;
    }
  }

  /** Moves the records of tasks handed on `delayed -> pending`, then acks the notices done with. */
  async #markPending(list: Due[], handed: HandedOn): Promise<void> {
    try {
      const now = Date.now();
      const { indexFailed } = await this.records.update(handed, (cur) => ({
        next: dueTask(cur.record, now),
        out: undefined,
      }));
      if (indexFailed) this.cfg.log.warn({ err: indexFailed }, 'could not index due tasks as pending');
      for (const d of list) {
        const n = d.notice;
        if (--n.left === 0 && !n.settled) {
          n.settled = true;
          n.msg.ack();
        }
      }
    } catch (err) {
      await this.#giveBack(list, err);
    }
  }

  /**
   * The notices of `list` come back whole (their tasks handed on already are dropped then as
   * copies, or by their state); on a notice's last delivery, its tasks of `list` fail.
   */
  async #giveBack(list: Due[], err: unknown): Promise<void> {
    this.cfg.log.warn({ err, tasks: list.length }, 'could not hand due tasks on; they come back');
    const byNotice = new Map<Notice, string[]>();
    for (const d of list) byNotice.set(d.notice, [...(byNotice.get(d.notice) ?? []), d.task.id]);
    for (const [notice, taskIds] of byNotice) {
      if (notice.settled) continue;
      notice.settled = true;
      await this.#failed(notice.msg, err, async (error) => {
        const now = Date.now();
        await this.records.update(taskIds, (cur) => ({
          next: cur.record.state === 'delayed' ? failTask(cur.record, error, now) : undefined,
          out: undefined,
        }));
      });
    }
  }

  /** A task's deadline came: it fails unless it has ended (its running subtasks are aborted). */
  async #deadline(msg: JsMsg, taskId: string): Promise<void> {
    try {
      await this.failTasks([
        {
          taskId,
          error: {
            code: ErrorCode.DeadlineExceeded,
            message: 'the task did not end by its deadline',
            retryable: false,
          },
        },
      ]);
      msg.ack();
    } catch (err) {
      this.cfg.log.warn({ err, taskId }, 'could not fail a task at its deadline; it comes back');
      await this.#failed(msg, err);
    }
  }

  /** A hand-off's backstop fired: its copy goes on if its tasks still wait for it (./backstops.ts). */
  async #backstop(msg: JsMsg): Promise<void> {
    try {
      await this.backstops.fired(msg);
      msg.ack();
    } catch (err) {
      this.cfg.log.warn({ err }, 'could not handle a hand-off backstop; it comes back');
      await this.#failed(msg, err);
    }
  }

  /** A retry's backoff is over: its attempt goes to the ready queue (if still wanted), then the ack. */
  async #retry(msg: JsMsg, items: WorkItem[]): Promise<void> {
    try {
      await this.retries.due(items);
      msg.ack();
    } catch (err) {
      this.cfg.log.warn({ err, taskId: items[0]?.taskId }, 'could not send a retry on; it comes back');
      // on its last delivery the tasks fail (and stop): their subtask would wait for an attempt never sent
      await this.#failed(msg, err, (error) =>
        this.failTasks(items.map((i) => ({ taskId: i.taskId, error }))),
      );
    }
  }

  /**
   * A notice that could not be handled: again later, or, on its last delivery, dead-lettered (and
   * `giveUp` told, to fail the delayed task).
   */
  async #failed(msg: JsMsg, err: unknown, giveUp?: (error: ErrorRecord) => Promise<void>): Promise<void> {
    if (!isLastDelivery(msg, this.topo.manifest.consumers.due.maxDeliver)) {
      msg.nak(1_000 * msg.info.deliveryCount);
      return;
    }
    const error: ErrorRecord = {
      code: ErrorCode.MaxDeliveries,
      message: `the due notice could not be handled in ${msg.info.deliveryCount} deliveries: ${(err as Error).message}`,
      retryable: false,
    };
    await rejectMessage(
      this.topo,
      this.cfg.log,
      'due',
      this.cfg.id,
      msg,
      error,
      giveUp && (() => giveUp(error)),
    );
  }
}

/** The input as the due notice carries it, encoded once more for the ready queue. */
function inputOf(task: SchedTask): HandOff['input'] {
  if (task.payloadRef !== undefined) return { key: 'payloadRef', bytes: encode(task.payloadRef) };
  return task.payload === undefined ? undefined : { key: 'payload', bytes: encode(task.payload) };
}
