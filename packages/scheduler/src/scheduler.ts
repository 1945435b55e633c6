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
    const dispatcher = new Dispatcher(topo, new TaskStore(topo), new Router(registry), gate, cfg);
    const parking = new Parking(topo, registry, dispatcher, cfg.log);
    registry.onChange(() => parking.onExecutorsChanged());
    parking.onExecutorsChanged();

    const maxDeliver = topo.manifest.consumers.sched.maxDeliver;
    const consumer = await topo.js.consumers.get(topo.names.streams.sched, topo.names.consumers.scheduler);
    const handoffs = await consumeInBatches(consumer, {
      maxBatch: cfg.handoffBatch,
      log: cfg.log,
      handle: (batch) => dispatcher.handle(batch, maxDeliver),
    });
    this.life.onClose('hand-offs', () => handoffs.stop());

    const rescue = setInterval(() => {
      parking.rescue().catch((err: unknown) => cfg.log.warn({ err }, 'rescue round failed'));
    }, cfg.rescueIntervalMs);
    this.life.onClose('rescue', () => clearInterval(rescue));
  }
}

export function createScheduler(opts: SchedulerOptions): Scheduler {
  return new SchedulerImpl(compileSchedulerOptions(opts));
}
