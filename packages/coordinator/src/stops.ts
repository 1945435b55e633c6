/**
 * Stop notices: when a task is cancelled or fails, a tombstone on `<prefix>.stops.<taskId>` tells
 * every executor (now or started later) to abort its running subtasks and skip its queued ones, and
 * every scheduler to release none of them. And when a task ends in any way, the server-held
 * schedules it still has (its deadline, retries waiting out their backoff) are removed.
 */
import { encode, isTerminal, WIRE_VERSION, type StopNotice, type TaskRecord } from '@jetsched/protocol';
import type { OutMsg, Topology } from '@jetsched/runtime';

/** The stop notice of a task that is cancelled or failed; undefined for any other state. */
export function stopNoticeOf(task: TaskRecord): StopNotice | undefined {
  if (task.state !== 'cancelled' && task.state !== 'failed') return undefined;
  const n: StopNotice = {
    v: WIRE_VERSION,
    kind: 'stop',
    taskId: task.id,
    state: task.state,
    at: task.finishedAt ?? task.updatedAt,
  };
  const reason = task.cancelReason ?? task.error?.message;
  if (reason !== undefined) n.reason = reason;
  return n;
}

/**
 * Publishes the stop notices of the given tasks (deduped per task), then removes the schedules of
 * those that ended; throws when a notice is not stored.
 */
export async function publishStops(topo: Topology, tasks: readonly TaskRecord[]): Promise<void> {
  const msgs: OutMsg[] = [];
  for (const t of tasks) {
    const n = isTerminal(t.state) ? stopNoticeOf(t) : undefined;
    if (n) msgs.push({ subject: topo.names.stopSubject(t.id), data: encode(n), msgId: `stop.${t.id}` });
  }
  if (msgs.length > 0) await topo.publisher.publishAllOrThrow(msgs);
  await dropSchedules(topo, tasks);
}

/**
 * Removes the deadline and the pending retries' schedules of tasks that ended (only tasks that have
 * them: a purge per task). Best effort: a schedule left fires, and its notice finds the task ended.
 */
async function dropSchedules(topo: Topology, tasks: readonly TaskRecord[]): Promise<void> {
  const stream = topo.names.streams.delayed;
  const filters: string[] = [];
  for (const t of tasks) {
    if (!isTerminal(t.state)) continue;
    if (t.deadline !== undefined) filters.push(topo.names.deadlineSubject(t.id));
    if (t.subtasks?.attempts) filters.push(topo.names.retriesFilter(t));
  }
  await Promise.all(
    filters.map((filter) => topo.jsm.streams.purge(stream, { filter }).catch(() => undefined)),
  );
}
