/** Cron and interval schedules: when they run next, what they ran, and pause, resume, trigger, delete. */
import { href, useCluster } from '../context.js';
import { date } from '../format.js';
import { useAction, usePoll } from '../hooks.js';

export function Schedules() {
  const { client } = useCluster();
  const list = usePoll(() => client.schedules(), 3_000, []);
  const action = useAction(list.refresh);
  const act = (what: () => Promise<string>): void => void action.run(what);
  return (
    <section>
      <h1>Schedules</h1>
      {list.error && <p class="error">{list.error}</p>}
      {action.note && <p class="note">{action.note}</p>}
      <table data-testid="schedules">
        <thead>
          <tr>
            <th>Schedule</th>
            <th>When</th>
            <th>Task</th>
            <th>State</th>
            <th>Next run</th>
            <th>Last run</th>
            <th class="num">Runs</th>
            <th class="num">Skipped</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.map(({ schedule: s, nextRunAt }) => (
            <tr data-schedule={s.id}>
              <td class="mono">{s.id}</td>
              <td>{s.cron ? `${s.cron} ${s.timezone ?? 'UTC'}` : `every ${s.every}`}</td>
              <td>
                {s.task.type} ({s.task.group ?? 'default'})
              </td>
              <td>{s.paused ? <b class="bad">paused</b> : 'active'}</td>
              <td>{date(nextRunAt)}</td>
              <td>{s.lastRun ? <a href={href(['task', s.lastRun.taskId])}>{date(s.lastRun.at)}</a> : '-'}</td>
              <td class="num">{s.runs}</td>
              <td class="num">{s.skipped}</td>
              <td class="actions">
                {s.paused ? (
                  <button
                    onClick={() => act(() => client.resumeSchedule(s.id).then(() => `resumed ${s.id}`))}
                  >
                    Resume
                  </button>
                ) : (
                  <button onClick={() => act(() => client.pauseSchedule(s.id).then(() => `paused ${s.id}`))}>
                    Pause
                  </button>
                )}
                <button
                  onClick={() =>
                    act(() => client.triggerSchedule(s.id).then((r) => `triggered ${s.id}: task ${r.taskId}`))
                  }
                >
                  Trigger now
                </button>
                <button
                  onClick={() =>
                    confirm(`Delete schedule ${s.id}?`) &&
                    act(() => client.deleteSchedule(s.id).then(() => `deleted ${s.id}`))
                  }
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {list.data && list.data.length === 0 && (
            <tr>
              <td colSpan={9} class="muted">
                No schedules.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
