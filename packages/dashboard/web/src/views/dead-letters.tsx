/**
 * Dead letters, oldest first: subtasks that failed their last attempt and messages an actor gave
 * up on, each with its reason; one opened shows its message (a subtask's work item, input
 * included). Retry runs a subtask's dead letter again as a new task; purge removes it.
 */
import { href, useCluster } from '../context.js';
import { date, json } from '../format.js';
import { useAction, usePoll } from '../hooks.js';

export function DeadLetters({ selected }: { selected: number | undefined }) {
  const { client } = useCluster();
  const list = usePoll(() => client.deadLetters({ limit: 200 }), 3_000, []);
  const action = useAction(list.refresh);
  const open = usePoll(
    () => (selected === undefined ? Promise.resolve(undefined) : client.deadLetter(selected)),
    0,
    [selected],
  );
  const retry = (seq: number): Promise<void> =>
    action.run(() =>
      client
        .retryDeadLetters({ seq })
        .then((r) =>
          r.retried[0] ? `retried as task ${r.retried[0].taskId}` : 'not a subtask: nothing to run again',
        ),
    );
  const purge = (seq: number): Promise<void> =>
    action.run(() => client.purgeDeadLetters({ seq }).then((r) => `purged ${r.purged}`));
  return (
    <section>
      <h1>Dead letters</h1>
      {list.error && <p class="error">{list.error}</p>}
      {action.note && <p class="note">{action.note}</p>}
      <table data-testid="dead-letters">
        <thead>
          <tr>
            <th class="num">Seq</th>
            <th>When</th>
            <th>Source</th>
            <th>Task</th>
            <th>Reason</th>
            <th class="num">Deliveries</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((d) => (
            <tr class={d.seq === selected ? 'selected' : ''}>
              <td class="num">
                <a href={`#/dlq/${d.seq}`}>{d.seq}</a>
              </td>
              <td>{date(d.at)}</td>
              <td>{d.source}</td>
              <td class="mono">
                {d.task ? (
                  <a href={href(['task', d.task.id])}>
                    {d.task.id} #{d.task.index} ({d.task.type})
                  </a>
                ) : (
                  d.subject
                )}
              </td>
              <td>
                <b>{d.reason.code}</b> {d.reason.message}
              </td>
              <td class="num">{d.deliveries ?? '-'}</td>
              <td class="actions">
                {d.task && <button onClick={() => void retry(d.seq)}>Retry</button>}
                <button onClick={() => void purge(d.seq)}>Purge</button>
              </td>
            </tr>
          ))}
          {list.data && list.data.items.length === 0 && (
            <tr>
              <td colSpan={7} class="muted">
                No dead letters.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {open.data && (
        <div class="card" data-testid="dead-letter">
          <h2>Dead letter {open.data.seq}</h2>
          <p>
            <b>{open.data.reason.code}</b>: {open.data.reason.message}
          </p>
          {open.data.reason.stack && <pre>{open.data.reason.stack}</pre>}
          <h3>Message</h3>
          <pre>{json(open.data.message)}</pre>
        </div>
      )}
    </section>
  );
}
