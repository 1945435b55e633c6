/**
 * Hand-off (and parked) messages, from delivery to ack. A batch of messages is dispatched together
 * (./dispatch.ts); then each message is settled on its own, and within a message each task:
 * - every task dispatched (or failed for good): the message is acked;
 * - some tasks' splitters said "not now" (a retryable error): the others went out at once, and the
 *   message is nak'd so that just those are tried again. Its redelivery skips what was released
 *   (this scheduler remembers the tasks; another one re-releases under the same dedupe ids, and
 *   subtasks already recorded are left out by the done bitmap);
 * - on the message's last delivery, the tasks still failing are given up: dead-lettered (a batch of
 *   just those tasks), then failed with MAX_DELIVERIES, and the message is terminated.
 * When the batch cannot be dispatched at all (a store or publish error), each message is dispatched
 * on its own, so that one message does not hold back the others; one that still fails is nak'd, or
 * given up whole on its last delivery.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decode,
  encode,
  ErrorCode,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ErrorRecord,
  type SchedBatch,
} from '@jetsched/protocol';
import {
  deadLetter,
  isLastDelivery,
  msgContentType,
  rejectMessage,
  SIGNATURE_HEADER,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import type { Dispatcher } from './dispatch.js';
import type { SchedulerConfig } from './options.js';

/** A nak'd hand-off comes back after this many ms times its delivery count. */
const RETRY_DELAY_MS = 1_000;
/** In-progress acks of the messages being dispatched, at most this far apart. */
const HEARTBEAT_MS = 5_000;

/** The settings of the consumer the messages come from. */
export interface ConsumerSettings {
  ackWaitMs: number;
  maxDeliver: number;
}

interface Received {
  msg: JsMsg;
  batch: SchedBatch;
}

export class HandoffHandler {
  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly dispatcher: Dispatcher,
    private readonly cfg: SchedulerConfig,
  ) {}

  /** Handles a batch of hand-off (or parked) messages: dispatches them, then acks, naks or gives up each. */
  async handle(msgs: JsMsg[], consumer: ConsumerSettings): Promise<void> {
    const { maxDeliver } = consumer;
    const good: Received[] = [];
    for (const msg of msgs) {
      try {
        good.push({ msg, batch: validate('sched-batch', decode(msg.data, msgContentType(msg))) });
      } catch (err) {
        await rejectMessage(
          this.topo,
          this.cfg.log,
          'sched',
          this.cfg.id,
          msg,
          toErrorRecord(err, ErrorCode.BadRequest),
        );
      }
    }
    if (good.length === 0) return;
    const heartbeat = setInterval(
      () => good.forEach((g) => g.msg.working()),
      Math.max(200, Math.min(HEARTBEAT_MS, consumer.ackWaitMs / 3)),
    );
    try {
      let retry: Map<string, ErrorRecord>;
      try {
        ({ retry } = await this.dispatcher.dispatch(
          good.map((g) => ({ batch: g.batch, trusted: this.#trusted(g.msg) })),
        ));
      } catch (err) {
        // a message that cannot be dispatched must not hold back the others: try each on its own
        this.cfg.log.warn(
          { err, messages: good.length },
          'dispatching a batch failed; dispatching each message on its own',
        );
        for (const g of good) {
          try {
            const r = await this.dispatcher.dispatch([{ batch: g.batch, trusted: this.#trusted(g.msg) }]);
            await this.#settle(g, r.retry, maxDeliver);
          } catch (e) {
            await this.#failed(g, e, maxDeliver);
          }
        }
        return;
      }
      for (const g of good) await this.#settle(g, retry, maxDeliver);
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * A hand-off signed by a coordinator, delivered for the first time: the records inside are as
   * written and may be used as they are. A redelivery is not (the task may have moved on since), nor
   * is anything unsigned: for those the scheduler reads the records.
   */
  #trusted(msg: JsMsg): boolean {
    return !msg.info.redelivered && this.topo.signer.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER));
  }

  /** A message dispatched: acked, or nak'd for its tasks to try again, or they are given up. */
  async #settle(g: Received, retry: ReadonlyMap<string, ErrorRecord>, maxDeliver: number): Promise<void> {
    const again = [...new Set((g.batch.tasks ?? []).map((t) => t.id))].filter((id) => retry.has(id));
    if (again.length === 0) {
      g.msg.ack();
      return;
    }
    const deliveries = g.msg.info.deliveryCount;
    if (!isLastDelivery(g.msg, maxDeliver)) {
      this.cfg.log.warn(
        { tasks: again, error: retry.get(again[0] as string), deliveries },
        'some tasks of a hand-off could not be split yet; will retry them',
      );
      g.msg.nak(RETRY_DELAY_MS * deliveries);
      return;
    }
    const failing = new Set(again);
    const whole = failing.size === new Set((g.batch.tasks ?? []).map((t) => t.id)).size && !g.batch.items;
    const errorOf = (id: string): ErrorRecord => giveUpError(deliveries, retry.get(id)?.message ?? '');
    // the dead letter keeps what is given up: the whole message, or just its failing tasks
    const kept = whole
      ? g.msg
      : {
          subject: g.msg.subject,
          data: encode({
            v: WIRE_VERSION,
            kind: 'sched',
            tasks: (g.batch.tasks ?? []).filter((t) => failing.has(t.id)),
          } satisfies SchedBatch),
          deliveries,
        };
    await deadLetter(this.topo, this.cfg.log, 'sched', this.cfg.id, kept, errorOf(again[0] as string));
    await this.#failTasks(again, errorOf);
    g.msg.term(`${again.length} task(s) could not be scheduled after ${deliveries} deliveries`);
  }

  /** A hand-off that could not be dispatched: again later, or, on its last delivery, given up. */
  async #failed(g: Received, err: unknown, maxDeliver: number): Promise<void> {
    const deliveries = g.msg.info.deliveryCount;
    if (!isLastDelivery(g.msg, maxDeliver)) {
      this.cfg.log.warn({ err, subject: g.msg.subject }, 'dispatching a hand-off failed; will retry');
      g.msg.nak(RETRY_DELAY_MS * deliveries);
      return;
    }
    const error = giveUpError(deliveries, (err as Error).message);
    const ids = [...(g.batch.tasks ?? []).map((t) => t.id), ...(g.batch.items ?? []).map((i) => i.taskId)];
    const pending = [...new Set(ids)].filter((id) => !this.dispatcher.released(id));
    // dead letter first: whoever sees the task failed finds the dead letter
    await rejectMessage(this.topo, this.cfg.log, 'sched', this.cfg.id, g.msg, error, () =>
      this.#failTasks(pending, () => error),
    );
  }

  /** Fails tasks on the outcomes stream of their groups (read from their records). Never throws. */
  async #failTasks(ids: string[], errorOf: (id: string) => ErrorRecord): Promise<void> {
    try {
      const { found } = await this.store.getMany(ids);
      await this.dispatcher.fail(
        [...found.values()].map((s) => ({ taskId: s.record.id, error: errorOf(s.record.id) })),
        new Map([...found].map(([id, s]) => [id, s.record.group])),
      );
    } catch (e) {
      this.cfg.log.error({ err: e, tasks: ids }, 'could not fail the tasks of a hand-off given up');
    }
  }
}

function giveUpError(deliveries: number, why: string): ErrorRecord {
  return {
    code: ErrorCode.MaxDeliveries,
    message: `could not be scheduled after ${deliveries} deliveries: ${why}`,
    retryable: false,
  };
}
