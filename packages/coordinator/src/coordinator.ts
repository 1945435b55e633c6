/**
 * The coordinator actor: front door and owner of task state. Any number run at once: the API is a
 * queue group, outcomes and record changes come from shared durable consumers, and every record
 * write is a compare-and-set of a next record computed by @jetsched/protocol's transitions.
 */
import type { Subscription } from '@nats-io/transport-node';
import { decode, startTask, validate } from '@jetsched/protocol';
import {
  ActorBase,
  consumeInBatches,
  ExecutorRegistry,
  RecordCache,
  TaskStore,
  type Actor,
  type Topology,
} from '@jetsched/runtime';
import { Api } from './api.js';
import { Backstops } from './backstops.js';
import { DUE_NOTICE_BATCH, DueNotices } from './due.js';
import { DeadLetters } from './dead-letters.js';
import { Retries } from './retries.js';
import { ListIndex } from './list-index.js';
import { compileCoordinatorOptions, type CoordinatorConfig, type CoordinatorOptions } from './options.js';
import { OutcomeRecorder } from './outcomes.js';
import { Schedules } from './schedules.js';
import { Records } from './records.js';
import { Submitter } from './submit.js';

export interface Coordinator extends Actor {
  readonly topology: Topology | undefined;
}

class CoordinatorImpl extends ActorBase<CoordinatorConfig> implements Coordinator {
  protected async run(topo: Topology): Promise<void> {
    const cfg = this.cfg;
    const store = new TaskStore(topo);
    const index = new ListIndex(topo);
    const m = cfg.metrics;
    const records = new Records(store, new RecordCache(), index, (rec) => {
      const t = m.of(rec.group, rec.type);
      t.finished(rec.state).inc();
      if (rec.state === 'succeeded' && rec.finishedAt !== undefined)
        t.taskSeconds.observe(Math.max(0, rec.finishedAt - rec.createdAt) / 1000);
    });
    const registry = await ExecutorRegistry.watch(topo, cfg.log);
    this.life.onClose('executor-registry', () => registry.close());
    const retries = new Retries(topo, records, cfg);
    const backstops = new Backstops(topo, store, cfg);
    this.life.onClose('backstops', () => backstops.close());
    const submitter = new Submitter(topo, store, records.cache, index, registry, backstops, cfg);
    const deadLetters = new DeadLetters(topo, submitter, cfg);
    const recorder = new OutcomeRecorder(topo, store, records, index, retries, deadLetters, cfg);
    const schedules = new Schedules(topo, store, submitter, cfg);
    const api = new Api(topo, store, records, index, submitter, schedules, deadLetters, registry, cfg);

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

    const dueNotices = new DueNotices(
      topo,
      records,
      submitter,
      backstops,
      schedules,
      retries,
      (f) => recorder.failTasks(f),
      cfg,
    );
    const dueConsumer = await topo.js.consumers.get(topo.names.streams.delayed, topo.names.consumers.due);
    const due = await consumeInBatches(dueConsumer, {
      maxBatch: DUE_NOTICE_BATCH,
      log: cfg.log,
      handle: (batch) => dueNotices.handleBatch(batch),
    });
    this.life.onClose('due', async () => {
      // no more notices; those held are handed on if due at once, else given back
      const stopped = due.stop();
      await dueNotices.close();
      await stopped;
    });

    const started = this.#watchStarted(topo, records);
    this.life.onClose('started-notices', () => started.drain());
    const apiSub = api.listen();
    this.life.onClose('api', () => apiSub.drain());
    // the server knows every subscription before the role says it started: a request sent right
    // after `started` finds a responder
    await topo.nc.flush();
  }

  /**
   * Executors announce subtasks that have run for a while (core NATS, one notice per round); their
   * tasks are recorded `running`. Short tasks are never announced and skip that write. Losing a
   * notice only delays `running` to the first outcome of a task with several subtasks.
   */
  #watchStarted(topo: Topology, records: Records): Subscription {
    return topo.nc.subscribe(topo.names.subjects.startedAll, {
      queue: topo.names.queueGroups.coordinator,
      callback: (err, msg) => {
        if (err) return;
        let ids: string[];
        try {
          ids = [...new Set(validate('started-notice', decode(msg.data)).items.map((i) => i.taskId))];
        } catch (e) {
          this.cfg.log.debug({ err: e }, 'ignored a malformed start notice');
          return;
        }
        const now = Date.now();
        records
          .update(ids, (cur) => ({ next: startTask(cur.record, now, now), out: undefined }))
          .then(({ indexFailed }) => {
            if (indexFailed) throw indexFailed;
            this.cfg.log.debug({ taskIds: ids }, 'tasks announced running (recorded so where still pending)');
          })
          .catch((e: unknown) => this.cfg.log.warn({ err: e }, 'could not record tasks as running'));
      },
    });
  }
}

export function createCoordinator(opts: CoordinatorOptions): Coordinator {
  return new CoordinatorImpl(compileCoordinatorOptions(opts));
}
