import { describe, expect, it } from 'vitest';
import {
  pointBetween,
  quantile,
  rate,
  reading,
  snapshot,
  total,
  type Metric,
  type MetricsReply,
} from './series.js';

function reply(registry: string, at: number, metrics: Metric[], role = 'coordinator'): MetricsReply {
  return { role, id: `${role}-${registry}`, host: 'h', registry, at, metrics };
}

const submitted = (n: number, type = 'a'): Metric => ({
  name: 'jetsched_tasks_submitted_total',
  type: 'counter',
  values: [{ labels: { group: 'default', type }, value: n }],
});

/** A histogram of end-to-end seconds with cumulative counts at 0.01, 0.1, 1 and +Inf. */
const seconds = (c: [number, number, number, number]): Metric => ({
  name: 'jetsched_task_duration_seconds',
  type: 'histogram',
  values: [
    ...([0.01, 0.1, 1, '+Inf'] as const).map((le, i) => ({
      labels: { le, group: 'default', type: 'a' },
      value: c[i]!,
      metricName: 'jetsched_task_duration_seconds_bucket',
    })),
    { labels: { group: 'default', type: 'a' }, value: 1, metricName: 'jetsched_task_duration_seconds_sum' },
    {
      labels: { group: 'default', type: 'a' },
      value: c[3],
      metricName: 'jetsched_task_duration_seconds_count',
    },
  ],
});

describe('overview series from metrics replies', () => {
  it('counts a process once however many of its actors answered', () => {
    const rd = reading([reply('p1', 1_000, [submitted(5)]), reply('p1', 1_000, [submitted(5)], 'executor')]);
    expect(total(rd, 'jetsched_tasks_submitted_total')).toBe(5);
  });

  it('rates come from each process own change; a process first seen now adds nothing yet', () => {
    const prev = reading([reply('p1', 1_000, [submitted(10)]), reply('p2', 1_000, [submitted(100)])]);
    const now = reading([
      reply('p1', 3_000, [submitted(30)]),
      reply('p2', 2_000, [submitted(150)]),
      reply('p3', 3_000, [submitted(1_000)]),
    ]);
    // p1: 20 in 2 s, p2: 50 in 1 s
    expect(rate(prev, now, 'jetsched_tasks_submitted_total')).toBe(60);
  });

  it('quantiles interpolate within the bucket, as histogram_quantile does', () => {
    const b = [
      { le: 0.01, n: 50 },
      { le: 0.1, n: 90 },
      { le: 1, n: 100 },
      { le: Infinity, n: 100 },
    ];
    expect(quantile(b, 0.5)).toBeCloseTo(0.01);
    expect(quantile(b, 0.7)).toBeCloseTo(0.01 + 0.09 * 0.5);
    expect(quantile(b, 0.99)).toBeCloseTo(0.1 + 0.9 * 0.9);
    expect(quantile([{ le: Infinity, n: 0 }], 0.5)).toBeUndefined();
  });

  it('a point has the latency of what ended between the two readings only', () => {
    const prev = reading([reply('p1', 1_000, [submitted(0), seconds([100, 100, 100, 100])])]);
    // since: 10 more, all between 0.1 s and 1 s
    const now = reading([reply('p1', 2_000, [submitted(10), seconds([100, 100, 110, 110])])]);
    const p = pointBetween(prev, now, 2_000);
    expect(p).toMatchObject({ t: 2, submitted: 10 });
    expect(p.p50).toBeCloseTo(550);
    expect(pointBetween(now, now, 2_000).p50).toBeUndefined();
  });

  it('a snapshot sums gauges by group and finished tasks by state', () => {
    const rd = reading([
      reply('p1', 1, [
        {
          name: 'jetsched_tasks_finished_total',
          type: 'counter',
          values: [
            { labels: { group: 'g', type: 'a', state: 'succeeded' }, value: 7 },
            { labels: { group: 'g', type: 'b', state: 'succeeded' }, value: 3 },
            { labels: { group: 'g', type: 'a', state: 'failed' }, value: 1 },
          ],
        },
      ]),
      reply('p2', 1, [
        {
          name: 'jetsched_queue_ready_subtasks',
          type: 'gauge',
          values: [
            { labels: { group: 'g', priority: 5 }, value: 4 },
            { labels: { group: 'g', priority: 9 }, value: 2 },
            { labels: { group: 'h', priority: 5 }, value: 1 },
          ],
        },
      ]),
    ]);
    const s = snapshot(rd);
    expect(s.finished).toEqual({ succeeded: 10, failed: 1 });
    expect([...s.readyByGroup]).toEqual([
      ['g', 6],
      ['h', 1],
    ]);
  });
});
