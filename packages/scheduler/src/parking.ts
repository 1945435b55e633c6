/**
 * Work that cannot run yet, and work left behind:
 * - Parked work: tasks and subtasks of a type no live executor of their group serves wait on
 *   `<prefix>.parked.<group>` (durably, not in a nak). When an executor appears that serves a type
 *   nobody served, a scheduler takes the parked work back through dispatch; what still cannot run
 *   is parked again.
 * - Rescue: when every executor of a handler profile is gone, the work still queued on that
 *   profile's consumer is taken off it and dispatched again, to a profile that serves its types.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { decode, resent, validate, WIRE_VERSION } from '@jetsched/protocol';
import { msgContentType, type ExecutorRegistry, type Logger, type Topology } from '@jetsched/runtime';
import type { Dispatcher } from './dispatch.js';

/** Messages taken off a consumer per fetch. */
const FETCH = 64;

export class Parking {
  /** `<group>\0<type>` pairs some live executor serves, as last seen. */
  #served = new Set<string>();
  #draining: Promise<void> | undefined;
  #again = false;

  constructor(
    private readonly topo: Topology,
    private readonly registry: ExecutorRegistry,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {}

  /** Call when executor adverts change: parked work is tried again when something new is served. */
  onExecutorsChanged(): void {
    const served = new Set(this.registry.live().flatMap((a) => a.types.map((t) => `${a.group}\u0000${t}`)));
    const grew = [...served].some((k) => !this.#served.has(k));
    this.#served = served;
    if (grew) this.drainParked();
  }

  /** Takes every parked message once through dispatch (one drain at a time; a call meanwhile repeats it). */
  drainParked(): void {
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = this.#drain(this.topo.names.consumers.parked, async (m) => {
      await this.dispatcher.dispatch([
        { batch: validate('sched-batch', decode(m.data, msgContentType(m))), trusted: false },
      ]);
    })
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
      if (!name.startsWith(prefix) || info.num_pending === 0) continue;
      const [group, profile] = (info.config.filter_subject ?? '').split('.').slice(-2);
      if (!group || !profile) continue;
      if (this.registry.live(group).some((a) => a.profile === profile)) continue;
      this.log.info(
        { group, profile, pending: info.num_pending },
        'taking work off a profile no executor serves any more',
      );
      await this.#drain(
        name,
        async (m) => {
          const work = validate('work-batch', decode(m.data, msgContentType(m)));
          await this.dispatcher.dispatch([
            { batch: { v: WIRE_VERSION, kind: 'sched', items: work.items.map(resent) }, trusted: false },
          ]);
        },
        this.topo.names.streams.work,
        info.num_pending,
      );
    }
  }

  /** Fetches up to what is pending on a consumer now and handles each message (acked when handled). */
  async #drain(
    consumerName: string,
    handle: (m: JsMsg) => Promise<void>,
    stream = this.topo.names.streams.sched,
    limit?: number,
  ): Promise<void> {
    const consumer = await this.topo.js.consumers.get(stream, consumerName);
    let left = limit ?? (await consumer.info()).num_pending;
    while (left > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(FETCH, left), expires: 1_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        try {
          await handle(m);
          m.ack();
        } catch (err) {
          this.log.warn({ err, subject: m.subject }, 'could not move a message; it comes back later');
          m.nak(5_000);
        }
      }
      if (got === 0) return;
      left -= got;
    }
  }
}
