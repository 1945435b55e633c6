/**
 * Throughput and end-to-end latency over time (from the roles' metrics, read every second), tasks
 * by state, and what waits and runs per group.
 */
import {
  actorsByRole,
  pointBetween,
  reading,
  snapshot,
  type Point,
  type Reading,
} from '../../../src/series.js';
import { Chart } from '../chart.js';
import { useCluster } from '../context.js';
import { count } from '../format.js';
import { usePoll } from '../hooks.js';
import { readMetrics } from '../reads.js';

/** How many points the plots keep (one a second: ten minutes). */
const KEEP = 600;

/** Kept across views: the plots go on where they were when the overview is shown again. */
const history: { prev: Reading | undefined; points: Point[] } = { prev: undefined, points: [] };

export function Overview() {
  const { nc, names } = useCluster();
  const polled = usePoll(
    async () => {
      const replies = await readMetrics(nc, names);
      const now = reading(replies);
      if (history.prev)
        history.points = [...history.points, pointBetween(history.prev, now, Date.now())].slice(-KEEP);
      history.prev = now;
      return { snap: snapshot(now), roles: actorsByRole(replies) };
    },
    1_000,
    [nc],
  );
  const points = history.points;
  const snap = polled.data?.snap;
  const roles = polled.data?.roles ?? new Map<string, number>();
  const error = polled.error;

  const col = (k: 'submitted' | 'succeeded' | 'failed' | 'p50' | 'p99'): (number | null)[] =>
    points.map((p) => p[k] ?? null);
  const ended = (state: string): number | undefined => (snap ? (snap.finished[state] ?? 0) : undefined);
  const groups = snap
    ? [...new Set([...snap.readyByGroup.keys(), ...snap.runningByGroup.keys()])].sort()
    : [];
  return (
    <section>
      <h1>Overview</h1>
      {error && <p class="error">{error}</p>}
      <div class="tiles" data-testid="tiles">
        <Tile label="Submitted" value={snap?.submitted} />
        <Tile label="Succeeded" value={ended('succeeded')} cls="ok" />
        <Tile label="Failed" value={ended('failed')} cls="bad" />
        <Tile label="Cancelled" value={ended('cancelled')} />
        <Tile
          label="Running"
          value={snap?.running}
          note={snap ? `of ${count(snap.slots)} slots` : undefined}
        />
        <Tile label="Ready" value={snap ? sum(snap.readyByGroup) : undefined} note="waiting to be released" />
      </div>
      <p class="muted small">
        Counts since each coordinator started ·{' '}
        {[...roles].map(([r, n]) => `${n} ${r}${n === 1 ? '' : 's'}`).join(', ') || 'no role answers'}
      </p>
      <div class="charts">
        <Chart
          testId="throughput"
          title="Throughput"
          unit="tasks/s"
          series={[
            { label: 'submitted', color: '#5b8def' },
            { label: 'succeeded', color: '#2fa36b' },
            { label: 'failed', color: '#d9534f' },
          ]}
          data={[points.map((p) => p.t), col('submitted'), col('succeeded'), col('failed')]}
        />
        <Chart
          testId="latency"
          title="End-to-end latency (succeeded tasks)"
          unit="ms"
          log
          series={[
            { label: 'p50', color: '#8e6bd8' },
            { label: 'p99', color: '#e08a2e' },
          ]}
          data={[points.map((p) => p.t), col('p50'), col('p99')]}
        />
      </div>
      <h2>Backlog per group</h2>
      <table data-testid="backlog">
        <thead>
          <tr>
            <th>Group</th>
            <th class="num">Ready</th>
            <th class="num">Running</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g) => (
            <tr>
              <td>
                <a href={`#/groups/${encodeURIComponent(g)}`}>{g}</a>
              </td>
              <td class="num">{count(snap?.readyByGroup.get(g) ?? 0)}</td>
              <td class="num">{count(snap?.runningByGroup.get(g) ?? 0)}</td>
            </tr>
          ))}
          {groups.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                No group has executors or ready work.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function sum(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

function Tile({
  label,
  value,
  note,
  cls,
}: {
  label: string;
  value: number | undefined;
  note?: string | undefined;
  cls?: string;
}) {
  return (
    <div class={`tile ${cls ?? ''}`} data-testid={`tile-${label.toLowerCase()}`}>
      <div class="label">{label}</div>
      <div class="value">{value === undefined ? '–' : count(value)}</div>
      {note && <div class="note">{note}</div>}
    </div>
  );
}
