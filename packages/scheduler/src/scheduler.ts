/**
 * The scheduler actor: takes hand-offs from the sched stream (one durable consumer shared by every
 * scheduler), splits tasks, routes their subtasks to the executor profiles that serve their types,
 * and releases them in work messages packed by the backlog (./dispatch.ts). It keeps a live view of
 * the executors (their adverts), parks work nobody serves and rescues work left on consumers of
 * executors that are gone (./parking.ts). It writes no task record: what it learns (a failed split)
 * it tells the coordinators on the outcomes stream.
 */
import {
  ActorBase,
  consumeInBatches,
  ExecutorRegistry,
  StopGate,
  TaskStore,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { Dispatcher } from './dispatch.js';
import { HandoffHandler } from './handoffs.js';
import { compileSchedulerOptions, type SchedulerConfig, type SchedulerOptions } from './options.js';
import { Parking } from './parking.js';
import { Router } from './router.js';

export type Scheduler = Actor;

class SchedulerImpl extends ActorBase<SchedulerConfig> implements Scheduler {
  protected async run(topo: Topology): Promise<void> {
    const cfg = this.cfg;
    const registry = await ExecutorRegistry.watch(topo, cfg.log);
    this.life.onClose('executor-registry', () => registry.close());
    const gate = await StopGate.open(topo, cfg.log);
    this.life.onClose('stop-gate', () => gate.close());
    const store = new TaskStore(topo);
    const dispatcher = new Dispatcher(topo, store, new Router(registry), gate, cfg);
    const handoffs = new HandoffHandler(topo, store, dispatcher, cfg);
    const parking = new Parking(topo, registry, dispatcher, handoffs, cfg.log, cfg.id, cfg.parkedRecheckMs);
    registry.onChange(() => parking.onExecutorsChanged());
    parking.onExecutorsChanged();

    const settings = topo.manifest.consumers.sched;
    const consumer = await topo.js.consumers.get(topo.names.streams.sched, topo.names.consumers.scheduler);
    const handoffConsumer = await consumeInBatches(consumer, {
      maxBatch: cfg.handoffBatch,
      log: cfg.log,
      handle: (batch) => handoffs.handle(batch, settings),
    });
    this.life.onClose('hand-offs', () => handoffConsumer.stop());

    // one round at a time: a round that takes longer than the interval is not stacked
    let round: Promise<void> | undefined;
    const rescue = setInterval(() => {
      round ??= parking
        .tick()
        .catch((err: unknown) => cfg.log.warn({ err }, 'rescue round failed'))
        .finally(() => (round = undefined));
    }, cfg.rescueIntervalMs);
    this.life.onClose('rescue', () => clearInterval(rescue));
  }
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  return new SchedulerImpl(compileSchedulerOptions(opts));
}
