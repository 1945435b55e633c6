/**
 * The executor actor. It advertises the task types it serves (its handler profile) and pulls work
 * from the consumer its profile shares within the group (JetStream's queue group), only as many
 * subtasks as it has free slots, so nothing waits in a local buffer while its ack wait runs out. It
 * follows the stops stream: a stopped task's running subtasks are aborted and its queued ones
 * skipped, here and on any executor started later.
 */
import { JetStreamApiError, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import {
  encode,
  ErrorCode,
  Header,
  JetschedError,
  WIRE_VERSION,
  type CreditNotice,
} from '@jetsched/protocol';
import {
  ActorBase,
  Advertiser,
  executorConsumerSpec,
  PULL_EXPIRES_MS,
  StopGate,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { Leases } from './leases.js';
import { compileExecutorOptions, type ExecutorConfig, type ExecutorOptions } from './options.js';
import { OutcomeSender } from './outcome-sender.js';
import { RunningNotices } from './running-notices.js';
import { ExecutorShutdown, TaskStopped } from './run-handler.js';
import { SlotPool } from './slots.js';
import { processWork, type WorkContext } from './work.js';

const CONSUMER_NOT_FOUND = 10014;

export interface Executor extends Actor {
  readonly group: string;
  /** The handler profile this executor shares a consumer with. */
  readonly profile: string;
  /** Subtasks running now. */
  readonly running: number;
}

class ExecutorImpl extends ActorBase<ExecutorConfig> implements Executor {
  /** Work messages being processed. */
  readonly #inflight = new Map<JsMsg, Promise<void>>();
  readonly #controllers = new Map<string, Set<AbortController>>();
  readonly #slots: SlotPool;
  /** Subtasks held: running, or waiting for a slot in a message being processed. */
  #held = 0;
  /** Subtasks per work message, averaged over recent messages: sizes the next pull. */
  #perMessage = 1;
  #fetch: ConsumerMessages | undefined;
  #stopping = false;
  #slotFreed: (() => void) | undefined;

  constructor(cfg: ExecutorConfig) {
    super(cfg);
    // a handler that ran on after its abort frees its slot late: the pull loop may take more then
    this.#slots = new SlotPool(cfg.concurrency, () => this.#slotFreed?.());
  }

  get group(): string {
    return this.cfg.group;
  }
  get profile(): string {
    return this.cfg.profile;
  }
  get running(): number {
    return this.#slots.busy;
  }

  protected async run(topo: Topology): Promise<void> {
    const cfg = this.cfg;
    const durable = await this.#bindConsumer(topo);
    const gate = await StopGate.open(topo, cfg.log);
    this.life.onClose('stop-gate', () => gate.close());
    gate.onStop((n) => {
      for (const c of this.#controllers.get(n.taskId) ?? [])
        c.abort(new TaskStopped(`task ${n.state}${n.reason ? `: ${n.reason}` : ''}`));
      // the coordinator replies to a cancel once the live executors confirm they know
      topo.nc.publish(topo.names.stoppedSubject(n.taskId), cfg.id);
    });
    const running = new RunningNotices(topo, cfg.group, cfg.id, cfg.log, cfg.runningNoticeMs);
    this.life.onClose('running-notices', () => running.close());
    // one timer renews every held message (not a timer per message), and notices lost leases
    const ackWait = topo.manifest.consumers.work.ackWaitMs;
    const leases = new Leases(ackWait, (m, sinceMs) =>
      cfg.log.warn(
        { subject: m.subject, deliveries: m.info.deliveryCount, sinceMs, ackWaitMs: ackWait },
        'could not renew a work message within its ack wait (paused or starved): it is no longer ours to ack',
      ),
    );
    this.life.onClose('renew', () => leases.close());
    const work: WorkContext = {
      topo,
      cfg,
      slots: this.#slots,
      gate,
      running,
      leases,
      sender: new OutcomeSender(topo, cfg.group, cfg.id),
      track: (taskId, c) => this.#track(taskId, c),
      credit: (items) => {
        if (items.length === 0) return;
        const n: CreditNotice = {
          v: WIRE_VERSION,
          kind: 'credit',
          executor: cfg.id,
          profile: cfg.profile,
          items: items.map((i) => ({ taskId: i.taskId, index: i.index })),
        };
        try {
          topo.nc.publish(topo.names.creditSubject(cfg.group), encode(n));
        } catch (err) {
          cfg.log.debug({ err }, 'could not send a credit notice');
        }
      },
    };
    const advertiser = new Advertiser(
      topo,
      {
        id: cfg.id,
        group: cfg.group,
        profile: cfg.profile,
        types: cfg.types,
        concurrency: cfg.concurrency,
        running: () => this.#slots.busy,
      },
      cfg.log,
      cfg.heartbeatMs,
    );
    await advertiser.start();
    this.life.onClose('advert', () => advertiser.close());

    const labels = { group: cfg.group, executor: cfg.id };
    const stopCollecting = topo.metrics.onCollect(() => {
      topo.metrics.slots.set(labels, cfg.concurrency);
      topo.metrics.slotsInUse.set(labels, this.#slots.busy);
    });
    this.life.onClose('metrics', () => {
      stopCollecting();
      topo.metrics.slots.remove(labels);
      topo.metrics.slotsInUse.remove(labels);
    });
    const consumer = await topo.js.consumers.get(topo.names.streams.work, durable);
    const loop = (async () => {
      while (!this.#stopping) {
        // slots of messages held, and of handlers that run on after their message was done with
        const free = cfg.concurrency - this.#held - this.#slots.lingering;
        if (free <= 0) {
          await new Promise<void>((r) => (this.#slotFreed = r));
          continue;
        }
        try {
          const max = Math.max(1, Math.floor(free / this.#perMessage));
          this.#fetch = await consumer.fetch({ max_messages: max, expires: PULL_EXPIRES_MS });
          for await (const m of this.#fetch) {
            // a delivery that arrives while draining goes back at once (not after its ack wait)
            if (this.#stopping) m.nak();
            else this.#start(m, work);
          }
        } catch (err) {
          if (this.#stopping) break;
          cfg.log.warn({ err }, 'pull failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    // drain: stop pulling, let running handlers finish (abort them after the drain timeout)
    this.life.onClose('drain', async () => {
      this.#stopping = true;
      // the pull under way is left to end (within PULL_EXPIRES_MS): stopping it would unsubscribe,
      // and a message the server had already sent would be lost until its ack wait ran out
      this.#slotFreed?.();
      await loop;
      const all = Promise.allSettled([...this.#inflight.values()]);
      const timer = setTimeout(() => {
        cfg.log.warn({ running: this.#slots.busy }, 'drain timeout; aborting running handlers');
        for (const set of this.#controllers.values()) for (const c of set) c.abort(new ExecutorShutdown());
      }, cfg.drainTimeoutMs);
      await all;
      clearTimeout(timer);
    });
  }

  /**
   * The consumer of this executor's profile: bound if it exists, created with the provisioned work
   * settings if this is the first executor of its profile. A consumer whose settings differ from the
   * provisioned ones is refused: `jetsched provision` brings it in line.
   */
  async #bindConsumer(topo: Topology): Promise<string> {
    const spec = executorConsumerSpec(topo.names, topo.manifest, this.cfg.group, this.cfg.profile);
    try {
      const info = await topo.jsm.consumers.info(topo.names.streams.work, spec.durable_name);
      const differs = (['ack_wait', 'max_deliver', 'max_ack_pending', 'filter_subject'] as const).filter(
        (k) => info.config[k] !== spec[k],
      );
      if (differs.length > 0) {
        throw new JetschedError(
          ErrorCode.NotProvisioned,
          `consumer ${spec.durable_name} differs from the provisioned work settings (${differs.join(', ')}): run \`jetsched provision\``,
        );
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === CONSUMER_NOT_FOUND)) throw err;
      await topo.jsm.consumers.add(topo.names.streams.work, spec);
      this.cfg.log.info(
        { consumer: spec.durable_name, types: this.cfg.types },
        'created the consumer of a new handler profile',
      );
    }
    return spec.durable_name;
  }

  #start(msg: JsMsg, work: WorkContext): void {
    // a message announces its size in a header, so slots are counted before the body is decoded
    const size = Math.max(1, Number(msg.headers?.get(Header.Items)) || 1);
    this.#perMessage = this.#perMessage * 0.8 + size * 0.2;
    this.#held += size;
    work.leases.hold(msg);
    const p = processWork(work, msg)
      .catch((err: unknown) => {
        // an outcome could not be stored, or a claim went unanswered: the message comes back later
        this.cfg.log.error(
          { err, subject: msg.subject },
          'could not finish a work message; it will be redelivered',
        );
        work.leases.nak(msg, 1_000);
      })
      .finally(() => {
        work.leases.release(msg);
        this.#held -= size;
        this.#inflight.delete(msg);
        this.#slotFreed?.();
      });
    this.#inflight.set(msg, p);
  }

  /** Tracks the controller of a running subtask so that its task's stop aborts it; returns the untrack. */
  #track(taskId: string, controller: AbortController): () => void {
    let set = this.#controllers.get(taskId);
    if (!set) this.#controllers.set(taskId, (set = new Set()));
    set.add(controller);
    return () => {
      const s = this.#controllers.get(taskId);
      s?.delete(controller);
      if (s?.size === 0) this.#controllers.delete(taskId);
    };
  }
}

export function createExecutor(opts: ExecutorOptions): Executor {
  return new ExecutorImpl(compileExecutorOptions(opts));
}
