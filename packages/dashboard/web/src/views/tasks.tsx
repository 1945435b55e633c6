/**
 * The task list: newest change first, filtered by state, type and tenant (through the list API)
 * and by how recently a task changed (here: the list is in that order, so paging stops at the first
 * older task). The first page reads again every two seconds, so new tasks appear on their own.
 */
import { useState } from 'preact/hooks';
import { TASK_STATES, type TaskRecord, type TaskState } from '@jetsched/protocol';
import { href, useCluster } from '../context.js';
import { date, duration } from '../format.js';
import { usePoll } from '../hooks.js';

const PAGE = 50;
const SINCE: [string, number | undefined][] = [
  ['any time', undefined],
  ['last 5 minutes', 5 * 60_000],
  ['last hour', 3_600_000],
  ['last 24 hours', 86_400_000],
];

export function Tasks({ query }: { query: URLSearchParams }) {
  const { client } = useCluster();
  const state = (query.get('state') ?? undefined) as TaskState | undefined;
  const type = query.get('type') ?? undefined;
  const tenant = query.get('tenant') ?? undefined;
  const since = query.get('since') ?? undefined;
  const sinceMs = SINCE.find(([l]) => l === since)?.[1];
  // cursors of the pages before this one: the first page has none
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const filter = { state, type, tenant, since };
  const page = usePoll(
    async () => {
      const r = await client.list({
        limit: PAGE,
        ...(state ? { state } : {}),
        ...(type ? { type } : {}),
        ...(tenant ? { tenant } : {}),
        ...(cursor ? { cursor } : {}),
      });
      const after = sinceMs === undefined ? undefined : Date.now() - sinceMs;
      const tasks = after === undefined ? r.tasks : r.tasks.filter((t) => t.updatedAt >= after);
      const ended = after !== undefined && tasks.length < r.tasks.length;
      return { tasks, next: ended ? undefined : r.nextCursor };
    },
    cursor === undefined ? 2_000 : 0,
    [state, type, tenant, since, cursor],
  );
  const set = (k: string, v: string | undefined): void => {
    setCursors([undefined]);
    location.hash = href(['tasks'], { ...filter, [k]: v || undefined });
  };
  return (
    <section>
      <h1>Tasks</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          State
          <select
            data-testid="filter-state"
            value={state ?? ''}
            onChange={(e) => set('state', e.currentTarget.value)}
          >
            <option value="">any</option>
            {TASK_STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <TextFilter id="type" label="Type" value={type} set={set} />
        <TextFilter id="tenant" label="Tenant" value={tenant} set={set} />
        <label>
          Changed
          <select value={since ?? 'any time'} onChange={(e) => set('since', e.currentTarget.value)}>
            {SINCE.map(([l]) => (
              <option value={l}>{l}</option>
            ))}
          </select>
        </label>
      </form>
      {page.error && <p class="error">{page.error}</p>}
      <table data-testid="task-list">
        <thead>
          <tr>
            <th>Task</th>
            <th>Type</th>
            <th>Tenant</th>
            <th>Group</th>
            <th class="num">Prio</th>
            <th>State</th>
            <th>Subtasks</th>
            <th>Created</th>
            <th>Took</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.tasks.map((t) => (
            <Row t={t} />
          ))}
          {page.data && page.data.tasks.length === 0 && (
            <tr>
              <td colSpan={9} class="muted">
                No task matches.
              </td>
            </tr>
          )}
          {!page.data && !page.error && (
            <tr>
              <td colSpan={9} class="muted">
                Loading…
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div class="pager">
        <button disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          ← Newer
        </button>
        <span class="muted">page {cursors.length}</span>
        <button
          data-testid="next-page"
          disabled={!page.data?.next}
          onClick={() => page.data?.next && setCursors([...cursors, page.data.next])}
        >
          Older →
        </button>
      </div>
    </section>
  );
}

/** A filter typed in: applied on Enter or when the field loses focus. */
function TextFilter(p: {
  id: string;
  label: string;
  value: string | undefined;
  set: (k: string, v: string) => void;
}) {
  return (
    <label>
      {p.label}
      <input
        data-testid={`filter-${p.id}`}
        value={p.value ?? ''}
        placeholder="any"
        onChange={(e) => p.set(p.id, e.currentTarget.value.trim())}
      />
    </label>
  );
}

function Row({ t }: { t: TaskRecord }) {
  const s = t.subtasks;
  const took = t.finishedAt === undefined ? undefined : t.finishedAt - t.createdAt;
  return (
    <tr data-task={t.id} class="link" onClick={() => (location.hash = href(['task', t.id]))}>
      <td class="mono">
        <a href={href(['task', t.id])}>{t.id}</a>
      </td>
      <td>{t.type}</td>
      <td>{t.tenant}</td>
      <td>{t.group}</td>
      <td class="num">{t.priority}</td>
      <td>
        <span class={`state ${t.state}`}>{t.state}</span>
      </td>
      <td>{s ? `${s.succeeded + s.failed}/${s.total}${s.failed ? ` (${s.failed} failed)` : ''}` : '-'}</td>
      <td>{date(t.createdAt)}</td>
      <td>{duration(took)}</td>
    </tr>
  );
}
