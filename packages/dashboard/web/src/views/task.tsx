/**
 * One task: its record as it changes (the record's own change stream), a live progress bar, its
 * subtasks' recorded attempts (timings, executor, errors with stacks, inputs), its result, and
 * cancel (while it runs) and retry (its dead-lettered subtasks, each as a new task).
 */
import { useEffect, useState } from 'preact/hooks';
import { isTerminal, type ErrorRecord, type SubtaskRecord, type TaskRecord } from '@jetsched/protocol';
import { href, useCluster } from '../context.js';
import { bytes, date, duration, json } from '../format.js';
import { useAction } from '../hooks.js';

export function TaskView({ id }: { id: string }) {
  const { client } = useCluster();
  const [task, setTask] = useState<TaskRecord | undefined>(undefined);
  const [progress, setProgress] = useState<Map<number, unknown>>(new Map());
  const [subtasks, setSubtasks] = useState<SubtaskRecord[]>([]);
  const [result, setResult] = useState<{ value: unknown } | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const action = useAction();

  // the record and progress, live, until the task ends
  useEffect(() => {
    let live = true;
    setTask(undefined);
    setProgress(new Map());
    setResult(undefined);
    setError(undefined);
    const stop = new AbortController();
    void (async () => {
      try {
        for await (const e of client.watch(id, { signal: stop.signal })) {
          if (!live) return;
          if (e.kind === 'state') setTask(e.task);
          else setProgress((p) => new Map(p).set(e.progress.index, e.progress.progress));
        }
      } catch (err) {
        if (live) setError(err instanceof Error ? err.message : String(err));
      }
    })();
    return () => {
      live = false;
      stop.abort();
    };
  }, [id]);

  // subtask records and the result, read again when the record changes
  const revision = task ? `${task.state}:${task.updatedAt}` : '';
  useEffect(() => {
    if (!task) return;
    let live = true;
    void client
      .subtasks(id)
      .then((s) => live && setSubtasks(s))
      .catch((err: unknown) => live && setError(String(err)));
    if (task.state === 'succeeded' && task.hasResult !== false)
      void client
        .get(id, { includeResult: true })
        .then((r) => live && setResult({ value: r.result }))
        .catch((err: unknown) => live && setError(String(err)));
    return () => {
      live = false;
    };
  }, [revision]);

  const cancel = (): Promise<void> =>
    action.run(async () => `cancelled: ${(await client.cancel(id, 'cancelled from the dashboard')).state}`);
  const retry = (): Promise<void> =>
    action.run(async () => {
      const r = await client.retryDeadLetters({ all: true, taskId: id });
      if (r.retried.length === 0) return 'nothing to retry: no dead-lettered subtask of this task';
      return `retried as ${r.retried.map((x) => x.taskId).join(', ')}`;
    });

  if (error && !task) return <p class="error">{error}</p>;
  if (!task) return <p class="muted">Loading {id}…</p>;
  const s = task.subtasks;
  const done = s ? s.succeeded + s.failed : 0;
  const failedAttempts = subtasks.filter((x) => !x.ok);
  return (
    <section data-testid="task-view">
      <h1>
        Task <span class="mono">{task.id}</span>{' '}
        <span class={`state ${task.state}`} data-testid="task-state">
          {task.state}
        </span>
      </h1>
      <div class="bar">
        {!isTerminal(task.state) && (
          <button data-testid="cancel" disabled={action.busy} onClick={() => void cancel()}>
            Cancel
          </button>
        )}
        {task.state === 'failed' && (
          <button data-testid="retry" disabled={action.busy} onClick={() => void retry()}>
            Retry dead-lettered subtasks
          </button>
        )}
        {action.note && (
          <span class="note" data-testid="action-note">
            {action.note
              .split(/(\b[0-9A-Za-z_-]{16,}\b)/)
              .map((part, i) => (i % 2 === 1 ? <a href={href(['task', part])}>{part}</a> : part))}
          </span>
        )}
      </div>
      {s && s.total > 0 && (
        <div class="progress" data-testid="progress" title={`${done}/${s.total}`}>
          <div class="fill ok" style={{ width: `${(100 * s.succeeded) / s.total}%` }} />
          <div class="fill bad" style={{ width: `${(100 * s.failed) / s.total}%` }} />
          <span>
            {done}/{s.total} subtasks{s.failed ? `, ${s.failed} failed` : ''}
          </span>
        </div>
      )}
      {progress.size > 0 && !isTerminal(task.state) && (
        <p class="small" data-testid="handler-progress">
          Handler progress: {[...progress].map(([i, p]) => `#${i}: ${JSON.stringify(p)}`).join(' · ')}
        </p>
      )}
      <dl class="facts">
        <Fact k="Type" v={task.type} />
        <Fact k="Group" v={task.group} />
        <Fact k="Tenant" v={task.tenant} />
        <Fact k="Priority" v={String(task.priority)} />
        <Fact k="Created" v={date(task.createdAt)} />
        <Fact k="Started" v={date(task.startedAt)} />
        <Fact k="Finished" v={date(task.finishedAt)} />
        <Fact
          k="Took"
          v={duration(task.finishedAt === undefined ? undefined : task.finishedAt - task.createdAt)}
        />
        {task.runAt !== undefined && <Fact k="Runs at" v={date(task.runAt)} />}
        {task.deadline !== undefined && <Fact k="Deadline" v={date(task.deadline)} />}
        <Fact k="Input" v={bytes(task.payloadBytes)} />
        <Fact k="Split" v={json(task.split)} />
        {task.schedule && <Fact k="Schedule" v={task.schedule.id} />}
        {task.trace && <Fact k="Trace" v={task.trace} />}
        {task.cancelReason && <Fact k="Cancelled" v={task.cancelReason} />}
      </dl>
      {task.error && (
        <>
          <h2>Error</h2>
          <ErrorBox e={task.error} />
        </>
      )}
      {result && (
        <>
          <h2>Result</h2>
          <pre data-testid="result">{json(result.value)}</pre>
        </>
      )}
      <h2>Subtask attempts</h2>
      <table data-testid="subtasks">
        <thead>
          <tr>
            <th class="num">Subtask</th>
            <th class="num">Attempt</th>
            <th>Outcome</th>
            <th>Executor</th>
            <th>Started</th>
            <th>Ran</th>
          </tr>
        </thead>
        <tbody>
          {subtasks.map((x) => (
            <tr>
              <td class="num">{x.index}</td>
              <td class="num">{x.attempt}</td>
              <td>
                {x.ok ? (
                  <span class="state succeeded">ok</span>
                ) : (
                  <span class="state failed">{x.error?.code ?? 'error'}</span>
                )}
              </td>
              <td class="mono">{x.executor}</td>
              <td>{date(x.startedAt)}</td>
              <td>{duration(x.finishedAt - x.startedAt)}</td>
            </tr>
          ))}
          {subtasks.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No attempt recorded on its own (subtasks that succeeded at once are counted in the task).
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {failedAttempts.map((x) => (
        <div class="card" data-testid="attempt-error">
          <h3>
            Subtask {x.index}, attempt {x.attempt} · {x.executor} · {date(x.finishedAt)}
          </h3>
          {x.error && <ErrorBox e={x.error} />}
          {x.input !== undefined && (
            <>
              <h4>Input</h4>
              <pre>{json(x.input)}</pre>
            </>
          )}
        </div>
      ))}
    </section>
  );
}

function Fact({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd>{v}</dd>
    </>
  );
}

function ErrorBox({ e }: { e: ErrorRecord }) {
  return (
    <div class="errorbox">
      <p>
        <b>{e.code}</b>: {e.message} {e.retryable ? '(retryable)' : ''}
      </p>
      {e.stack && <pre data-testid="stack">{e.stack}</pre>}
      {e.details !== undefined && <pre>{json(e.details)}</pre>}
    </div>
  );
}
