/**
 * The coordinator actor: front door and owner of task state. Any number run at once: the API is a
 * queue group, outcomes come from one shared durable consumer, and every write is compare-and-set.
 */
import { AckPolicy } from '@nats-io/jetstream';
import { nanos, type Subscription } from '@nats-io/transport-node';
import { decode, validate } from '@jetsched/protocol';
import {
  ActorBase,
  consumeInBatches,
  ensureConsumer,
  TaskStore,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { Api } from './api.js';
import { compileCoordinatorOptions, type CoordinatorConfig, type CoordinatorOptions } from './options.js';
import { OutcomeRecorder } from './outcomes.js';
import { Submitter } from './submit.js';

/** How long after its first subtask starts a task is marked `running`, unless finished by then. */
const RUNNING_DELAY_MS = 200;

export interface Coordinator extends Actor {
  readonly topology: Topology | undefined;
}

class CoordinatorImpl extends ActorBase<CoordinatorConfig> implements Coordinator {
  protected async run(topo: Topology): Promise<void> {
    const cfg = this.cfg;
    const store = new TaskStore(topo);
    const recorder = new OutcomeRecorder(topo, store, cfg);
    const api = new Api(topo, store, new Submitter(topo, store, cfg), cfg);

    await ensureConsumer(topo.jsm, topo.names.streams.outcomes, {
      durable_name: topo.names.consumers.coordinatorOutcomes,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(cfg.ackWaitMs),
      max_ack_pending: 20_000,
    });
    const consumer = await topo.js.consumers.get(
      topo.names.streams.outcomes,
      topo.names.consumers.coordinatorOutcomes,
    );
    const outcomes = await consumeInBatches(consumer, {
      maxBatch: cfg.outcomeBatch,
      log: cfg.log,
      handle: (batch) => recorder.handleBatch(batch),
    });
    this.life.onClose('outcomes', () => outcomes.stop());

    const started = this.#watchStarted(topo, store, recorder);
    this.life.onClose('started-notices', () => started.drain());
    const apiSub = api.listen();
    this.life.onClose('api', () => apiSub.drain());
  }

  /**
   * Executors announce a subtask start with a core `started` notice; the first one moves the task
   * from `scheduled` to `running` if it is still unfinished {@link RUNNING_DELAY_MS} later (short
   * tasks then skip a write and an event). Losing a notice only delays the move to the first outcome.
   */
  #watchStarted(topo: Topology, store: TaskStore, recorder: OutcomeRecorder): Subscription {
    const seen = new Set<string>();
    const timers = new Set<NodeJS.Timeout>();
    this.life.onClose('running-timers', () => timers.forEach(clearTimeout));
    return topo.nc.subscribe(topo.names.subjects.progressAll, {
      queue: topo.names.queueGroups.coordinator,
      callback: (err, msg) => {
        if (err) return;
        let taskId: string;
        try {
          const p = validate('progress-message', decode(msg.data));
          if (p.kind !== 'started') return;
          taskId = p.taskId;
        } catch {
          return; // progress notices are advisory; a bad one is ignored, not dead-lettered
        }
        if (seen.has(taskId)) return;
        seen.add(taskId);
        if (seen.size > 10_000) seen.clear();
        const startedAt = Date.now();
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (recorder.recentlyFinished.has(taskId)) return;
          store.transition(taskId, 'running', { startedAt }).catch((e: unknown) => {
            this.cfg.log.warn({ err: e, taskId }, 'could not mark task running');
          });
        }, RUNNING_DELAY_MS);
        timers.add(timer);
      },
    });
  }
}

export function createCoordinator(opts: CoordinatorOptions): Coordinator {
  return new CoordinatorImpl(compileCoordinatorOptions(opts));
}
