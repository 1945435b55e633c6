/**
 * Stop notices: when a task is cancelled or fails, a tombstone on `<prefix>.stops.<taskId>` tells
 * every executor (now or started later) to abort its running subtasks and skip its queued ones, and
 * every scheduler to release none of them.
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

/** Publishes the stop notices of the given tasks (deduped per task); throws when one is not stored. */
export async function publishStops(topo: Topology, tasks: readonly TaskRecord[]): Promise<void> {
  const msgs: OutMsg[] = [];
  for (const t of tasks) {
    const n = isTerminal(t.state) ? stopNoticeOf(t) : undefined;
    if (n) msgs.push({ subject: topo.names.stopSubject(t.id), data: encode(n), msgId: `stop.${t.id}` });
  }
  if (msgs.length > 0) await topo.publisher.publishAllOrThrow(msgs);
}
