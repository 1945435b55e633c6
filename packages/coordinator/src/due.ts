/**
 * Delayed tasks coming due (ADR 0019). A delayed task waits under a server-held schedule of its own
 * (./submit.ts `schedule`), which fires a due notice a little before the task's `runAt`. The
 * coordinator that takes the notice (one shared durable consumer) holds it until `runAt` itself,
 * then:
 * 1. hands the task to the ready queue (dedupe id of the task: a repeat within the window is
 *    dropped),
 * 2. moves its record `delayed -> pending` by compare-and-set,
 * 3. acks the notice.
 * A notice fired again (the server re-fires a schedule after a crash) finds the record moved on and
 * is acked without a second hand-off; a cancelled task's notice is dropped the same way. A crash
 * between 1 and 2 redelivers the notice, and the hand-off's copy is dropped by its dedupe id.
 *
 * The same consumer brings the fire notices of cron and interval schedules (`kind: "fire"`), which
 * ./schedules.ts turns into tasks, one schedule's notices in order.
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
} from '@jetsched/protocol';
import {
  isLastDelivery,
  msgContentType,
  rejectMessage,
  SIGNATURE_HEADER,
  type Topology,
} from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';
import type { Records } from './records.js';
import type { Schedules } from './schedules.js';
import type { HandOff, Submitter } from './submit.js';

/** Notices due within this much of each other are handled together. */
const BUCKET_MS = 5;

export class DueNotices {
  constructor(
    private readonly topo: Topology,
    private readonly records: Records,
    private readonly submitter: Submitter,
    private readonly schedules: Schedules,
    private readonly cfg: CoordinatorConfig,
  ) {}

  /** Notices held until their time. */
  readonly #held = new Set<Promise<void>>();

  /** Waits for the notices held until their time (they are at most a moment early). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#held]);
  }

  /**
   * Takes a batch of due notices, each to be handled at its task's time. Returns at once: a notice
   * held for its time does not hold up the next ones (which may be due sooner).
   */
  async handleBatch(msgs: JsMsg[]): Promise<void> {
    const due = new Map<number, { msg: JsMsg; task: SchedTask; runAt: number }[]>();
    const fires = new Map<string, { msg: JsMsg; notice: FireNotice }[]>();
    for (const msg of msgs) {
      try {
        if (!this.topo.signer.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER))) {
          throw new JetschedError(
            ErrorCode.BadRequest,
            'a due notice without a valid signature: only a coordinator schedules tasks',
          );
        }
        const value = decode(msg.data, msgContentType(msg));
        if (kindOf(value) === 'fire') {
          const notice = validate('fire-notice', value);
          fires.set(notice.schedule, [...(fires.get(notice.schedule) ?? []), { msg, notice }]);
          continue;
        }
        const task = validate('sched-batch', value).tasks?.[0];
        if (!task) throw new Error('a due notice without a task');
        const runAt = task.record?.runAt ?? 0;
        const bucket = Math.ceil(runAt / BUCKET_MS) * BUCKET_MS;
        due.set(bucket, [...(due.get(bucket) ?? []), { msg, task, runAt }]);
      } catch (err) {
        const reason = toErrorRecord(err, ErrorCode.BadRequest);
        await rejectMessage(this.topo, this.cfg.log, 'due', this.cfg.id, msg, reason);
      }
    }
    for (const [at, list] of due) {
      this.#hold(async () => {
        const wait = at - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await this.#due(list);
      });
    }
    // one schedule's occurrences in order, each acked once its task is created (or it is skipped)
    for (const list of fires.values()) {
      this.#hold(async () => {
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
  }

  /** Runs `work` in the background; {@link close} waits for it. */
  #hold(work: () => Promise<void>): void {
    const p = work()
      .catch((err: unknown) => this.cfg.log.error({ err }, 'handling due notices failed'))
      .finally(() => this.#held.delete(p));
    this.#held.add(p);
  }

  async #due(list: { msg: JsMsg; task: SchedTask }[]): Promise<void> {
    const ids = list.map((d) => d.task.id);
    try {
      const { found } = await this.records.load(ids);
      // still delayed: hand them to the ready queue first (a crash after it redelivers the notice,
      // and the copy is dropped by its dedupe id), then mark them pending
      const handOffs: HandOff[] = [];
      for (const d of list) {
        const rec = found.get(d.task.id)?.record;
        if (rec?.state === 'delayed') handOffs.push({ record: rec, input: inputOf(d.task) });
      }
      // one task per message: a notice redelivered among other notices repeats the same message id
      const errors = await this.submitter.enqueue(handOffs, { onePerMessage: true });
      const failed = errors.find((e) => e);
      if (failed) throw failed;
      const now = Date.now();
      const { indexFailed } = await this.records.update(
        handOffs.map((h) => h.record.id),
        (cur) => ({ next: dueTask(cur.record, now), out: undefined }),
      );
      if (indexFailed) this.cfg.log.warn({ err: indexFailed }, 'could not index due tasks as pending');
      for (const d of list) {
        const rec = found.get(d.task.id)?.record;
        if (!rec) this.cfg.log.warn({ taskId: d.task.id }, 'a due notice of a task that does not exist');
        d.msg.ack();
      }
    } catch (err) {
      this.cfg.log.warn({ err, tasks: ids.length }, 'could not hand due tasks on; they come back');
      for (const d of list) {
        await this.#failed(d.msg, err, async (error) => {
          const now = Date.now();
          await this.records.update([d.task.id], (cur) => ({
            next: failTask(cur.record, error, now),
            out: undefined,
          }));
        });
      }
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
