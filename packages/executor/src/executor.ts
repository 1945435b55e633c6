/**
 * The executor actor. Every member of a group pulls from the group's one durable consumer (JetStream's
 * queue group), so subtasks load-balance across members; each member pulls only as many subtasks as
 * it has free slots, so nothing waits in a local buffer while its ack_wait runs out.
 */
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import {
  decode,
  ErrorCode,
  Header,
  JetschedError,
  kindOf,
  toErrorRecord,
  validate,
  type WorkBatchMessage,
  type WorkMessage,
} from '@jetsched/protocol';
import {
  ActorBase,
  rejectMessage,
  ensureExecutorConsumer,
  PULL_EXPIRES_MS,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { compileExecutorOptions, type ExecutorConfig, type ExecutorOptions } from './options.js';
import { ExecutorShutdown, reportUnrunnable, runBatch, runSubtask, type Slots } from './run-subtask.js';

/** Cancelled task ids remembered, so their queued subtasks are skipped. */
const CANCELLED_MEMORY = 10_000;

export interface Executor extends Actor {
  readonly group: string;
  /** Subtasks running now. */
  readonly running: number;
}

class ExecutorImpl extends ActorBase<ExecutorConfig> implements Executor {
  /** Work messages being processed. */
  readonly #inflight = new Set<Promise<void>>();
  readonly #controllers = new Map<string, Set<AbortController>>();
  readonly #cancelled = new Set<string>();
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
    this.#slots = new SlotPool(cfg.concurrency);
  }

  get group(): string {
    return this.cfg.group;
  }
  get running(): number {
    return this.#slots.busy;
  }

  protected async run(topo: Topology): Promise<void> {
    const durable = await ensureExecutorConsumer(topo, this.cfg.group, { ackWaitMs: this.cfg.ackWaitMs });
    const cancelSub = this.#listenForCancels();
    this.life.onClose('cancel-subscription', () => cancelSub.unsubscribe());
    const consumer = await topo.js.consumers.get(topo.names.streams.work, durable);
    const loop = (async () => {
      while (!this.#stopping) {
        const free = this.cfg.concurrency - this.#held;
        if (free <= 0) {
          await new Promise<void>((r) => (this.#slotFreed = r));
          continue;
        }
        try {
          const max = Math.max(1, Math.floor(free / this.#perMessage));
          this.#fetch = await consumer.fetch({ max_messages: max, expires: PULL_EXPIRES_MS });
          for await (const m of this.#fetch) this.#start(m);
        } catch (err) {
          if (this.#stopping) break;
          this.cfg.log.warn({ err }, 'pull failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
    // drain: stop pulling, let running handlers finish (abort them after the drain timeout)
    this.life.onClose('drain', async () => {
      this.#stopping = true;
      this.#fetch?.stop();
      this.#slotFreed?.();
      await loop;
      const all = Promise.allSettled([...this.#inflight]);
      const timer = setTimeout(() => {
        this.cfg.log.warn({ running: this.#slots.busy }, 'drain timeout; aborting running handlers');
        for (const set of this.#controllers.values()) {
          for (const c of set) c.abort(new ExecutorShutdown());
        }
      }, this.cfg.drainTimeoutMs);
      await all;
      clearTimeout(timer);
    });
  }

  #listenForCancels(): Subscription {
    return this.topo.nc.subscribe(this.topo.names.subjects.cancelAll, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const c = validate('cancel-message', decode(msg.data));
          if (this.#cancelled.size >= CANCELLED_MEMORY) this.#cancelled.clear();
          this.#cancelled.add(c.taskId);
          for (const ctl of this.#controllers.get(c.taskId) ?? []) {
            ctl.abort(new JetschedError(ErrorCode.Cancelled, c.reason ?? 'task cancelled'));
          }
        } catch (e) {
          this.cfg.log.debug({ err: e }, 'ignored a malformed cancel notice');
        }
      },
    });
  }

  #start(msg: JsMsg): void {
    // a batch announces its size in a header, so slots are counted before the body is decoded
    const size = Math.max(1, Number(msg.headers?.get(Header.Subtasks)) || 1);
    this.#perMessage = this.#perMessage * 0.8 + size * 0.2;
    this.#held += size;
    const p = this.#process(msg).finally(() => {
      this.#held -= size;
      this.#inflight.delete(p);
      this.#slotFreed?.();
    });
    this.#inflight.add(p);
  }

  async #process(msg: JsMsg): Promise<void> {
    let work: WorkMessage | WorkBatchMessage;
    try {
      work = decodeWork(msg.data);
    } catch (err) {
      const reason = toErrorRecord(err, ErrorCode.BadRequest);
      await reportUnrunnable(this.topo, this.cfg, msg, reason).catch((e: unknown) =>
        this.cfg.log.error({ err: e }, 'could not report an unrunnable subtask'),
      );
      await rejectMessage(this.topo, this.cfg.log, 'work', this.cfg.id, msg, reason);
      return;
    }
    if (this.#cancelled.has(work.taskId)) {
      msg.ack(); // the task is terminal; the coordinator would ignore an outcome
      return;
    }
    const count = work.kind === 'subtasks' ? work.items.length : 1;
    const controllers = Array.from({ length: count }, () => this.#track(work.taskId));
    const heartbeat = setInterval(() => msg.working(), Math.max(1000, this.cfg.ackWaitMs / 3));
    try {
      if (work.kind === 'subtasks') {
        await runBatch(this.topo, this.cfg, msg, work, controllers, this.#slots);
      } else {
        const [controller] = controllers as [AbortController];
        await this.#slots.run(() => runSubtask(this.topo, this.cfg, msg, work, controller));
      }
    } catch (err) {
      // the outcome could not be published: leave the message unacked so it is redelivered
      this.cfg.log.error({ err, taskId: work.taskId }, 'could not report an outcome');
    } finally {
      clearInterval(heartbeat);
      const set = this.#controllers.get(work.taskId);
      for (const c of controllers) set?.delete(c);
      if (set?.size === 0) this.#controllers.delete(work.taskId);
    }
  }

  /** A controller for one subtask of `taskId`, reachable by the task's cancel notice. */
  #track(taskId: string): AbortController {
    const controller = new AbortController();
    let set = this.#controllers.get(taskId);
    if (!set) this.#controllers.set(taskId, (set = new Set()));
    set.add(controller);
    return controller;
  }
}

/** A work message's body: one subtask, or several of one task. */
function decodeWork(data: Uint8Array): WorkMessage | WorkBatchMessage {
  const body = decode(data);
  return kindOf(body) === 'subtasks' ? validate('work-batch-message', body) : validate('work-message', body);
}

/** At most `size` handlers at once; the rest wait in arrival order. */
class SlotPool implements Slots {
  busy = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(private readonly size: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy >= this.size) await new Promise<void>((r) => this.#waiting.push(r));
    else this.busy++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}

export function createExecutor(opts: ExecutorOptions): Executor {
  return new ExecutorImpl(compileExecutorOptions(opts));
}
