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
  JetschedError,
  toErrorRecord,
  validate,
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
import { ExecutorShutdown, reportUnrunnable, runSubtask } from './run-subtask.js';

/** Cancelled task ids remembered, so their queued subtasks are skipped. */
const CANCELLED_MEMORY = 10_000;

export interface Executor extends Actor {
  readonly group: string;
  /** Subtasks running now. */
  readonly running: number;
}

class ExecutorImpl extends ActorBase<ExecutorConfig> implements Executor {
  readonly #inflight = new Set<Promise<void>>();
  readonly #controllers = new Map<string, Set<AbortController>>();
  readonly #cancelled = new Set<string>();
  #fetch: ConsumerMessages | undefined;
  #stopping = false;
  #slotFreed: (() => void) | undefined;

  get group(): string {
    return this.cfg.group;
  }
  get running(): number {
    return this.#inflight.size;
  }

  protected async run(topo: Topology): Promise<void> {
    const durable = await ensureExecutorConsumer(topo, this.cfg.group, { ackWaitMs: this.cfg.ackWaitMs });
    const cancelSub = this.#listenForCancels();
    this.life.onClose('cancel-subscription', () => cancelSub.unsubscribe());
    const consumer = await topo.js.consumers.get(topo.names.streams.work, durable);
    const loop = (async () => {
      while (!this.#stopping) {
        const free = this.cfg.concurrency - this.#inflight.size;
        if (free <= 0) {
          await new Promise<void>((r) => (this.#slotFreed = r));
          continue;
        }
        try {
          this.#fetch = await consumer.fetch({ max_messages: free, expires: PULL_EXPIRES_MS });
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
        this.cfg.log.warn({ running: this.#inflight.size }, 'drain timeout; aborting running handlers');
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
    const p = this.#process(msg).finally(() => {
      this.#inflight.delete(p);
      this.#slotFreed?.();
    });
    this.#inflight.add(p);
  }

  async #process(msg: JsMsg): Promise<void> {
    let work: WorkMessage;
    try {
      work = validate('work-message', decode(msg.data));
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
    const controller = new AbortController();
    let set = this.#controllers.get(work.taskId);
    if (!set) this.#controllers.set(work.taskId, (set = new Set()));
    set.add(controller);
    try {
      await runSubtask(this.topo, this.cfg, msg, work, controller);
    } catch (err) {
      // the outcome could not be published: leave the message unacked so it is redelivered
      this.cfg.log.error({ err, taskId: work.taskId, subtask: work.index }, 'could not report an outcome');
    } finally {
      set.delete(controller);
      if (set.size === 0) this.#controllers.delete(work.taskId);
    }
  }
}

export function createExecutor(opts: ExecutorOptions): Executor {
  return new ExecutorImpl(compileExecutorOptions(opts));
}
