/**
 * The scheduler actor: takes recorded tasks from the sched stream (one durable consumer shared by
 * every scheduler), asks the admission policies whether the task may run now, splits it, moves it
 * `pending -> scheduled` under compare-and-set and dispatches its subtasks to the executor group.
 *
 * Crash safety: the sched message is acked only after every subtask is published. A redelivered
 * message (the scheduler died mid-dispatch) re-publishes what is not done yet; JetStream's dedupe
 * id drops the copies still in its window, and outcome recording ignores any later duplicate.
 */
import { AckPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  decode,
  emptyBitmap,
  ErrorCode,
  isTerminal,
  JetschedError,
  toErrorRecord,
  validate,
  type SchedMessage,
} from '@jetsched/protocol';
import {
  ActorBase,
  rejectMessage,
  ensureConsumer,
  PULL_EXPIRES_MS,
  TaskStore,
  type Actor,
  type StoredTask,
  type Topology,
} from '@jetsched/runtime';
import { loadPayload, publishSubtasks, splitTask } from './dispatch.js';
import { compileSchedulerOptions, type SchedulerConfig, type SchedulerOptions } from './options.js';
import { admit } from './policy.js';

/** Retry delay after a transient failure (NATS unavailable, CAS storm). */
const RETRY_DELAY_MS = 1_000;

export type Scheduler = Actor;

class SchedulerImpl extends ActorBase<SchedulerConfig> implements Scheduler {
  #store!: TaskStore;
  readonly #inflight = new Set<Promise<void>>();

  protected async run(topo: Topology): Promise<void> {
    this.#store = new TaskStore(topo);
    await ensureConsumer(topo.jsm, topo.names.streams.sched, {
      durable_name: topo.names.consumers.scheduler,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.cfg.ackWaitMs),
      max_ack_pending: 10_000,
    });
    const consumer = await topo.js.consumers.get(topo.names.streams.sched, topo.names.consumers.scheduler);
    const messages = await consumer.consume({
      max_messages: this.cfg.concurrency,
      expires: PULL_EXPIRES_MS,
    });
    const loop = (async () => {
      for await (const msg of messages) {
        while (this.#inflight.size >= this.cfg.concurrency) await Promise.race(this.#inflight);
        const p = this.#handle(msg).finally(() => this.#inflight.delete(p));
        this.#inflight.add(p);
      }
    })();
    this.life.onClose('sched-consumer', async () => {
      messages.stop();
      await loop;
      await Promise.allSettled([...this.#inflight]);
    });
  }

  async #handle(msg: JsMsg): Promise<void> {
    let sched: SchedMessage;
    try {
      sched = validate('sched-message', decode(msg.data));
    } catch (err) {
      const reason = toErrorRecord(err, ErrorCode.BadRequest);
      await rejectMessage(this.topo, this.cfg.log, 'sched', this.cfg.id, msg, reason);
      return;
    }
    const heartbeat = setInterval(() => msg.working(), this.cfg.ackWaitMs / 3);
    try {
      await this.#schedule(msg, sched);
    } catch (err) {
      this.cfg.log.warn({ err, taskId: sched.taskId }, 'scheduling failed; will retry');
      msg.nak(RETRY_DELAY_MS);
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #schedule(msg: JsMsg, sched: SchedMessage): Promise<void> {
    const found = await this.#taskOf(msg, sched);
    if (!found) {
      const reason = {
        code: ErrorCode.NotFound,
        message: `no task record ${sched.taskId}`,
        retryable: false,
      };
      await rejectMessage(this.topo, this.cfg.log, 'sched', this.cfg.id, msg, reason);
      return;
    }
    let task = found.record;
    // a second hand-off of a task already scheduled (an idempotent re-submit) is a no-op; a
    // redelivery means this or another scheduler died mid-dispatch, so dispatch again
    if (isTerminal(task.state) || (task.state !== 'pending' && !msg.info.redelivered)) {
      msg.ack();
      return;
    }
    if (task.state === 'pending') {
      const decision = await admit(this.cfg.policies, task);
      if (decision.kind === 'defer') {
        this.cfg.log.debug({ taskId: task.id, policy: decision.policy, reason: decision.reason }, 'deferred');
        msg.nak(decision.delayMs);
        return;
      }
    }

    let inputs: unknown[];
    try {
      inputs = await splitTask(this.cfg, task, await loadPayload(this.topo, sched));
    } catch (err) {
      const error = toErrorRecord(err, ErrorCode.SplitFailed);
      if (err instanceof JetschedError && !err.retryable) {
        await this.#store.transition(task.id, 'failed', { finishedAt: Date.now(), error });
        msg.ack();
        return;
      }
      throw err;
    }

    if (task.state === 'pending') {
      const total = inputs.length;
      const res = await this.#store.update(
        task.id,
        (cur) =>
          cur.state !== 'pending'
            ? undefined
            : {
                ...cur,
                state: 'scheduled',
                scheduledAt: Date.now(),
                subtasks: { total, succeeded: 0, failed: 0, done: emptyBitmap(total) },
              },
        found,
      );
      if (!res) throw new Error(`task ${task.id} vanished while scheduling`);
      task = res.record;
      // it moved on since the hand-off was written (scheduled by a duplicate hand-off, cancelled)
      if (!res.changed && !msg.info.redelivered) {
        msg.ack();
        return;
      }
    }
    if (isTerminal(task.state)) {
      msg.ack(); // cancelled while we split it
      return;
    }
    if (task.subtasks?.total !== inputs.length) {
      const error = {
        code: ErrorCode.SplitFailed,
        message: `split gave ${inputs.length} subtasks, but ${task.subtasks?.total ?? 0} were recorded: the splitter is not deterministic`,
        retryable: false,
      };
      await this.#store.transition(task.id, 'failed', { finishedAt: Date.now(), error });
      msg.ack();
      return;
    }
    const sent = await publishSubtasks(this.topo, this.cfg, task, inputs);
    this.cfg.log.debug({ taskId: task.id, total: inputs.length, sent }, 'dispatched');
    msg.ack();
  }

  /**
   * The task as the coordinator recorded it. A first delivery carries the record and its revision:
   * the compare-and-set starts from them and only a conflict (the task changed since) costs a read.
   * A redelivery reads, since the record has moved on.
   */
  #taskOf(msg: JsMsg, sched: SchedMessage): Promise<StoredTask | null> {
    const { record, revision } = sched;
    if (record && revision !== undefined && record.id === sched.taskId && !msg.info.redelivered) {
      return Promise.resolve({ record, revision });
    }
    return this.#store.get(sched.taskId);
  }
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  return new SchedulerImpl(compileSchedulerOptions(opts));
}
