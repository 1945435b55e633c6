/**
 * Prometheus metrics (prom-client). One registry per process: the CLI makes it and serves it on
 * `--metrics-port` (./health-server.ts); every actor of the process records into it. An actor given
 * no registry records into one of its own that nobody reads, so instrumented code never checks.
 *
 * Every metric is named `jetsched_*` and labelled by group and task type where it has them (both
 * bounded: they appear in subjects). Which role records what is in docs/operations.md (Metrics and health).
 */
import { newTaskId } from '@jetsched/protocol';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';

/** Seconds buckets from 5 ms to 10 minutes: handlers and tasks both. */
const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** The metrics of every role, made once per registry. */
export interface Metrics {
  readonly registry: Registry;
  // coordinator
  readonly submitted: Counter<'group' | 'type'>;
  readonly finished: Counter<'group' | 'type' | 'state'>;
  readonly taskSeconds: Histogram<'group' | 'type'>;
  readonly retried: Counter<'group' | 'type'>;
  readonly deadLettered: Counter<'source'>;
  // executor
  readonly started: Counter<'group' | 'type'>;
  readonly subtasksFinished: Counter<'group' | 'type' | 'outcome'>;
  readonly handlerSeconds: Histogram<'group' | 'type'>;
  readonly slots: Gauge<'group' | 'executor'>;
  readonly slotsInUse: Gauge<'group' | 'executor'>;
  // scheduler
  readonly released: Counter<'group'>;
  readonly heldBack: Counter<'group' | 'reason'>;
  readonly queueReady: Gauge<'group' | 'priority'>;
  readonly queueOldest: Gauge<'group' | 'priority'>;
  /** Runs `fn` before each scrape (a role refreshes its gauges); returns the unregister. */
  onCollect(fn: () => void): () => void;
  /**
   * The per-task metrics of one group and type, bound to their labels once (a label set hashed on
   * every call costs more than the increment): what the hot paths use.
   */
  of(group: string, type: string): TaskMetrics;
}

/** {@link Metrics} bound to one group and type. */
export interface TaskMetrics {
  submitted: Counter.Internal;
  finished(state: string): Counter.Internal;
  taskSeconds: Histogram.Internal<'group' | 'type'>;
  retried: Counter.Internal;
  started: Counter.Internal;
  subtaskOk: Counter.Internal;
  subtaskError: Counter.Internal;
  handlerSeconds: Histogram.Internal<'group' | 'type'>;
}

const made = new WeakMap<Registry, Metrics>();
const ids = new WeakMap<Registry, string>();

/**
 * A name for `registry`, the same for every actor that records into it: readers of the metrics
 * endpoint count a process's metrics once, however many of its actors answered.
 */
export function registryId(registry: Registry): string {
  let id = ids.get(registry);
  if (id === undefined) ids.set(registry, (id = newTaskId()));
  return id;
}

/**
 * The `jetsched_*` metrics of `registry` in prom-client's JSON form, gauges refreshed: what the
 * `metrics` endpoint answers (./service.ts). Node's process metrics are left out: nobody plots them
 * from there, and reading them (from /proc) is most of the cost of a reading.
 */
export function jetschedMetricsJson(
  registry: Registry,
): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  // the registration order: the first, `submitted`, runs the collect hooks that refresh the gauges
  const ours = registry.getMetricsAsArray().filter((m) => m.name.startsWith('jetsched_'));
  return Promise.all(ours.flatMap((m) => registry.getSingleMetric(m.name)?.get() ?? []));
}

/** A registry with Node's process metrics (CPU, memory, event loop lag), for one process. */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The metrics of `registry` (made on first use), or of a private registry. */
export function metricsOf(registry: Registry = new Registry()): Metrics {
  const known = made.get(registry);
  if (known) return known;
  const collectors = new Set<() => void>();
  const bound = new Map<string, TaskMetrics>();
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    new Counter({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: L[]): Gauge<L> =>
    new Gauge({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: L[]): Histogram<L> =>
    new Histogram({ name, help, labelNames, buckets: SECONDS, registers });
  const m: Metrics = {
    registry,
    submitted: new Counter({
      name: 'jetsched_tasks_submitted_total',
      help: 'Tasks accepted by a coordinator (recorded and handed on)',
      labelNames: ['group', 'type'],
      registers,
      // the first jetsched metric a scrape reads: the roles refresh their gauges here, before any
      collect: () => collectors.forEach((fn) => fn()),
    }),
    finished: counter(
      'jetsched_tasks_finished_total',
      'Tasks that ended, by end state (succeeded, failed, cancelled)',
      ['group', 'type', 'state'],
    ),
    taskSeconds: histogram(
      'jetsched_task_duration_seconds',
      'End to end: from a task being recorded to its end (succeeded tasks)',
      ['group', 'type'],
    ),
    retried: counter(
      'jetsched_subtask_retries_total',
      'Failed subtask attempts tried again by their retry policy',
      ['group', 'type'],
    ),
    deadLettered: counter(
      'jetsched_dead_letters_total',
      'Messages and subtask failures put on the dead-letter stream, by source',
      ['source'],
    ),
    started: counter('jetsched_subtasks_started_total', 'Subtask handler runs started by an executor', [
      'group',
      'type',
    ]),
    subtasksFinished: counter(
      'jetsched_subtasks_finished_total',
      'Subtask handler runs that ended, by outcome (ok, error)',
      ['group', 'type', 'outcome'],
    ),
    handlerSeconds: histogram('jetsched_handler_duration_seconds', 'How long subtask handlers ran', [
      'group',
      'type',
    ]),
    slots: gauge('jetsched_executor_slots', 'Handlers an executor runs at once (its concurrency)', [
      'group',
      'executor',
    ]),
    slotsInUse: gauge(
      'jetsched_executor_slots_in_use',
      'Slots taken by running handlers (a handler that ignores its abort keeps its slot)',
      ['group', 'executor'],
    ),
    released: counter('jetsched_released_subtasks_total', 'Subtasks a releaser sent to executors', ['group']),
    heldBack: counter(
      'jetsched_release_held_back_total',
      'Ready queues a release round held back, by what held them (paused, rate, concurrency, capacity, no_executor)',
      ['group', 'reason'],
    ),
    queueReady: gauge(
      'jetsched_queue_ready_subtasks',
      'Subtasks waiting in the ready queue, by priority (as the group releaser sees it)',
      ['group', 'priority'],
    ),
    queueOldest: gauge(
      'jetsched_queue_oldest_wait_seconds',
      'How long the oldest loaded ready subtask has waited, by priority',
      ['group', 'priority'],
    ),
    onCollect(fn) {
      collectors.add(fn);
      return () => collectors.delete(fn);
    },
    of(group, type) {
      const key = `${group}\u0000${type}`;
      let t = bound.get(key);
      if (!t) {
        const finished = new Map<string, Counter.Internal>();
        t = {
          submitted: m.submitted.labels(group, type),
          finished: (state) => {
            let c = finished.get(state);
            if (!c) finished.set(state, (c = m.finished.labels(group, type, state)));
            return c;
          },
          taskSeconds: m.taskSeconds.labels(group, type),
          retried: m.retried.labels(group, type),
          started: m.started.labels(group, type),
          subtaskOk: m.subtasksFinished.labels(group, type, 'ok'),
          subtaskError: m.subtasksFinished.labels(group, type, 'error'),
          handlerSeconds: m.handlerSeconds.labels(group, type),
        };
        bound.set(key, t);
      }
      return t;
    },
  };
  made.set(registry, m);
  return m;
}
