/**
 * Work that cannot run yet, and work left behind:
 * - Parked work: tasks and subtasks of a type no live executor of their group serves wait on
 *   `<prefix>.parked.<group>` (durably, not in a nak). When a type becomes served that was not, a
 *   scheduler takes the parked work back through dispatch; what still cannot run is parked again.
 *   An advert counts as live for a while after it was written, so an executor that stalls or dies
 *   without deleting its advert just lapses, with no event to say so: the served set is therefore
 *   looked at again on every rescue round and whenever work is parked (so that the executor's
 *   return is seen as new), and parked work is taken back anyway every `parkedRecheckMs` while some
 *   is waiting and some executor is live (another scheduler may have parked it unseen).
 * - Rescue: when every executor of a handler profile is gone, the work still on that profile's
 *   consumer (queued, or held by the executors that died and coming back after its ack wait) is
 *   taken off it and dispatched again, to a profile that serves its types, each subtask with one
 *   more `resends` (a new carrier: a fresh dedupe id, and claims that outrank the old one's).
 * A message that cannot be moved is tried again later, and given up on its last delivery: dead-
 * lettered, then its tasks fail with MAX_DELIVERIES.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decode,
  ErrorCode,
  Header,
  isValidToken,
  resent,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ErrorRecord,
  type WorkItem,
} from '@jetsched/protocol';
import {
  isLastDelivery,
  msgContentType,
  rejectMessage,
  type ExecutorRegistry,
  type Logger,
  type Topology,
} from '@jetsched/runtime';
import type { Dispatcher } from './dispatch.js';
import type { HandoffHandler } from './handoffs.js';

/** Messages taken off a consumer per fetch. */
const FETCH = 64;
/** A rescued message that could not be moved comes back after this long. */
const RETRY_DELAY_MS = 5_000;

export class Parking {
  /** `<group>\0<type>` pairs some live executor serves, as last seen. */
  #served = new Set<string>();
  #draining: Promise<void> | undefined;
  #again = false;
  /** When parked work was last taken back. */
  #lastDrain = 0;

  constructor(
    private readonly topo: Topology,
    private readonly registry: ExecutorRegistry,
    private readonly dispatcher: Dispatcher,
    private readonly handoffs: HandoffHandler,
    private readonly log: Logger,
    /** This scheduler's id, as the actor of its dead letters. */
    private readonly actor: string,
    private readonly recheckMs: number,
  ) {
    // what was just parked is not served now: a lapse this scheduler had not noticed yet is noted,
    // so that the executor's return counts as something new being served
    dispatcher.onParked(() => this.onExecutorsChanged());
  }

  /**
   * Call when executor adverts change (and on every rescue round, since adverts also lapse without
   * an event): parked work is tried again when something is served that was not when last seen.
   */
  onExecutorsChanged(): void {
    const served = new Set(this.registry.live().flatMap((a) => a.types.map((t) => `${a.group}\u0000${t}`)));
    const grew = [...served].some((k) => !this.#served.has(k));
    this.#served = served;
    if (grew) this.drainParked();
  }

  /** One round of the rescue timer: served types looked at again, parked work re-checked, rescue. */
  async tick(): Promise<void> {
    this.onExecutorsChanged();
    if (
      Date.now() - this.#lastDrain >= this.recheckMs &&
      !this.#draining &&
      this.registry.live().length > 0
    ) {
      const info = await this.topo.jsm.consumers.info(
        this.topo.names.streams.sched,
        this.topo.names.consumers.parked,
      );
      if (info.num_pending + info.num_ack_pending > 0) this.drainParked();
      else this.#lastDrain = Date.now();
    }
    await this.rescue();
  }

  /** Takes every parked message once through dispatch (one drain at a time; a call meanwhile repeats it). */
  drainParked(): void {
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#lastDrain = Date.now();
    const settings = this.topo.manifest.consumers.parked;
    this.#draining = this.#drain(this.topo.names.streams.sched, this.topo.names.consumers.parked, (m) =>
      this.handoffs.handle([m], settings),
    )
      .then(() => undefined)
      .catch((err: unknown) => this.log.warn({ err }, 'could not take parked work back'))
      .finally(() => {
        this.#draining = undefined;
        if (this.#again) {
          this.#again = false;
          this.drainParked();
        }
      });
  }

  /** Moves work off the consumers of profiles with no live executor left. */
  async rescue(): Promise<void> {
    const prefix = `${this.topo.names.prefix}-exec-`;
    for await (const info of this.topo.jsm.consumers.list(this.topo.names.streams.work)) {
      const name = info.config.durable_name ?? info.name;
      // queued, or delivered to executors that are gone (it comes back after the ack wait)
      const left = info.num_pending + info.num_ack_pending;
      if (!name.startsWith(prefix) || left === 0) continue;
      const [group, profile] = (info.config.filter_subject ?? '').split('.').slice(-2);
      if (!group || !profile) continue;
      if (this.registry.live(group).some((a) => a.profile === profile)) continue;
      const moved = await this.#drain(
        this.topo.names.streams.work,
        name,
        (m) => this.#rescueOne(m, group, profile),
        left,
      );
      if (moved > 0)
        this.log.info(
          { group, profile, messages: moved },
          'took work off a profile no executor serves any more',
        );
    }
  }

  /** Dispatches the subtasks of one work message again, as new carriers; gives it up when it must. */
  async #rescueOne(m: JsMsg, group: string, profile: string): Promise<void> {
    let items: WorkItem[];
    try {
      items = validate('work-batch', decode(m.data, msgContentType(m))).items;
    } catch (err) {
      const reason = toErrorRecord(err, ErrorCode.BadRequest);
      const taskId = m.headers?.get(Header.TaskId);
      await rejectMessage(this.topo, this.log, 'work', this.actor, m, reason, () =>
        taskId && isValidToken(taskId)
          ? this.dispatcher.fail(
              [
                {
                  taskId,
                  error: {
                    ...reason,
                    message: `a work message for this task was malformed: ${reason.message}`,
                  },
                },
              ],
              new Map([[taskId, group]]),
            )
          : Promise.resolve(),
      );
      return;
    }
    try {
      await this.dispatcher.dispatch([
        { batch: { v: WIRE_VERSION, kind: 'sched', items: items.map(resent) }, trusted: false },
      ]);
      m.ack();
    } catch (err) {
      if (!isLastDelivery(m, this.topo.manifest.consumers.work.maxDeliver)) {
        this.log.warn({ err, subject: m.subject }, 'could not move a work message; it comes back later');
        m.nak(RETRY_DELAY_MS);
        return;
      }
      const error: ErrorRecord = {
        code: ErrorCode.MaxDeliveries,
        message: `work could not be moved off profile "${profile}" (no executor serves it) after ${m.info.deliveryCount} deliveries: ${(err as Error).message}`,
        retryable: false,
      };
      const tasks = [...new Set(items.map((i) => i.taskId))];
      // dead letter first: whoever sees the task failed finds the dead letter
      await rejectMessage(this.topo, this.log, 'work', this.actor, m, error, () =>
        this.dispatcher
          .fail(
            tasks.map((taskId) => ({ taskId, error })),
            new Map(tasks.map((t) => [t, group])),
          )
          .catch((e: unknown) =>
            this.log.error({ err: e, tasks }, 'could not fail the tasks of a work message given up'),
          ),
      );
    }
  }

  /**
   * Fetches up to what is waiting on a consumer now (`limit`, or its pending and unacked messages)
   * and hands each message to `handle`, which settles it. Returns how many it got.
   */
  async #drain(
    stream: string,
    consumerName: string,
    handle: (m: JsMsg) => Promise<void>,
    limit?: number,
  ): Promise<number> {
    const consumer = await this.topo.js.consumers.get(stream, consumerName);
    let left = limit;
    if (left === undefined) {
      const info = await consumer.info();
      left = info.num_pending + info.num_ack_pending;
    }
    let total = 0;
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(FETCH, left), expires: 1_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        await handle(m);
      }
      if (got === 0) break;
      total += got;
      left -= got;
    }
    return total;
  }
}
