/**
 * What the overview plots, from the roles' `metrics` endpoint (`<prefix>.metrics`, one request,
 * a reply from every actor; see docs/protocol.md): pure functions over those replies, used by the
 * page and tested on their own.
 *
 * Counters are per process and start at zero with it, so rates come from the change of each
 * process's counters between two readings (a process seen once adds nothing yet); latency
 * quantiles come from the change of the histogram buckets, as Prometheus's `histogram_quantile`
 * reads them.
 */

/** One value of a metric, in prom-client's JSON form. */
export interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  /** A histogram's series: `<name>_bucket` (with `le`), `<name>_sum`, `<name>_count`. */
  metricName?: string;
}

export interface Metric {
  name: string;
  type: string;
  values: MetricValue[];
}

/** One actor's answer (the fields the page reads). */
export interface MetricsReply {
  role: string;
  id: string;
  host: string;
  /** The process's registry: actors of one process share it, and their replies are the same. */
  registry: string;
  at: number;
  metrics: Metric[];
}

/** One reading of the cluster: the latest reply of each process. */
export type Reading = Map<string, MetricsReply>;

/** The replies of one request, each process once. */
export function reading(replies: MetricsReply[]): Reading {
  const out: Reading = new Map();
  for (const r of replies) if (!out.has(r.registry)) out.set(r.registry, r);
  return out;
}

type LabelTest = (labels: MetricValue['labels']) => boolean;

function values(r: MetricsReply, name: string, metricName = name): MetricValue[] {
  const m = r.metrics.find((x) => x.name === name);
  return m ? m.values.filter((v) => (v.metricName ?? m.name) === metricName) : [];
}

/** The sum of a metric over every process of a reading (and label set `where` accepts). */
export function total(rd: Reading, name: string, where: LabelTest = () => true): number {
  let n = 0;
  for (const r of rd.values()) for (const v of values(r, name)) if (where(v.labels)) n += v.value;
  return n;
}

/** The sum of a metric over every process, by the value of one label. */
export function totalBy(rd: Reading, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rd.values())
    for (const v of values(r, name)) {
      const k = String(v.labels[label] ?? '');
      out.set(k, (out.get(k) ?? 0) + v.value);
    }
  return out;
}

/** How much a counter grew from `prev` to `now`, per second, over the processes in both. */
export function rate(prev: Reading, now: Reading, name: string, where: LabelTest = () => true): number {
  let perSecond = 0;
  for (const [id, r] of now) {
    const p = prev.get(id);
    if (!p || r.at <= p.at) continue;
    const grew = total(new Map([[id, r]]), name, where) - total(new Map([[id, p]]), name, where);
    perSecond += Math.max(0, grew) / ((r.at - p.at) / 1_000);
  }
  return perSecond;
}

/** Cumulative bucket counts by upper bound (`le`), summed over label sets and processes. */
function buckets(rd: Reading, name: string, only?: Set<string>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [id, r] of rd) {
    if (only && !only.has(id)) continue;
    for (const v of values(r, name, `${name}_bucket`)) {
      const le = v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']);
      out.set(le, (out.get(le) ?? 0) + v.value);
    }
  }
  return out;
}

/**
 * The `q` quantile (0-1) of what a histogram observed between two readings, in its unit (linear
 * within a bucket; the highest finite bound when it falls in `+Inf`); undefined when nothing was
 * observed.
 */
export function quantileBetween(prev: Reading, now: Reading, name: string, q: number): number | undefined {
  const both = new Set([...now.keys()].filter((id) => prev.has(id)));
  const before = buckets(prev, name, both);
  const counts = [...buckets(now, name, both)]
    .map(([le, n]) => ({ le, n: n - (before.get(le) ?? 0) }))
    .sort((a, b) => a.le - b.le);
  return quantile(counts, q);
}

/** `histogram_quantile` over cumulative buckets sorted by bound. */
export function quantile(cumulative: { le: number; n: number }[], q: number): number | undefined {
  const all = cumulative.at(-1)?.n ?? 0;
  if (all <= 0) return undefined;
  const rank = q * all;
  let lower = 0;
  let below = 0;
  for (const { le, n } of cumulative) {
    if (n >= rank) {
      if (le === Infinity) return lower;
      const inBucket = n - below;
      return inBucket <= 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    if (le !== Infinity) lower = le;
    below = n;
  }
  return lower;
}

/** One point of the overview's plots. */
export interface Point {
  /** Seconds since the epoch (what uPlot's time axis takes). */
  t: number;
  /** Per second. */
  submitted: number;
  succeeded: number;
  failed: number;
  /** End to end, succeeded tasks, in ms (undefined: none finished in the interval). */
  p50: number | undefined;
  p99: number | undefined;
}

const FINISHED = 'jetsched_tasks_finished_total';

/** The point between two readings. */
export function pointBetween(prev: Reading, now: Reading, at: number): Point {
  const ms = (s: number | undefined): number | undefined => (s === undefined ? undefined : s * 1_000);
  return {
    t: at / 1_000,
    submitted: rate(prev, now, 'jetsched_tasks_submitted_total'),
    succeeded: rate(prev, now, FINISHED, (l) => l['state'] === 'succeeded'),
    failed: rate(prev, now, FINISHED, (l) => l['state'] === 'failed'),
    p50: ms(quantileBetween(prev, now, 'jetsched_task_duration_seconds', 0.5)),
    p99: ms(quantileBetween(prev, now, 'jetsched_task_duration_seconds', 0.99)),
  };
}

/** What the overview shows now, from one reading. */
export interface Snapshot {
  /** Tasks that ended since their coordinators started, by end state. */
  finished: Record<string, number>;
  submitted: number;
  /** Handlers running now, and slots in all. */
  running: number;
  slots: number;
  /** Subtasks in the ready queue, by group (as their releasers see it). */
  readyByGroup: Map<string, number>;
  runningByGroup: Map<string, number>;
  /** Release rounds that held work back, since the schedulers started, by reason. */
  heldBack: Map<string, number>;
}

export function snapshot(rd: Reading): Snapshot {
  return {
    finished: Object.fromEntries(totalBy(rd, FINISHED, 'state')),
    submitted: total(rd, 'jetsched_tasks_submitted_total'),
    running: total(rd, 'jetsched_executor_slots_in_use'),
    slots: total(rd, 'jetsched_executor_slots'),
    readyByGroup: totalBy(rd, 'jetsched_queue_ready_subtasks', 'group'),
    runningByGroup: totalBy(rd, 'jetsched_executor_slots_in_use', 'group'),
    heldBack: totalBy(rd, 'jetsched_release_held_back_total', 'reason'),
  };
}

/** The actors that answered, by role (actors of one process each answer). */
export function actorsByRole(replies: MetricsReply[]): Map<string, number> {
  const roles = new Map<string, number>();
  for (const r of replies) roles.set(r.role, (roles.get(r.role) ?? 0) + 1);
  return roles;
}
