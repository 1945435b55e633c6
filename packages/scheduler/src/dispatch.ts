/**
 * Splitting a task and publishing its subtasks to the executor group's work subject. Publishing is
 * repeatable: each subtask carries the dedupe id `<taskId>.<index>.<attempt>`, and a re-dispatch
 * skips subtasks whose outcome is already recorded (the task's done bitmap).
 */
import { headers } from '@nats-io/transport-node';
import {
  Bitmap,
  checkSplitterOutput,
  decode,
  encode,
  ErrorCode,
  Header,
  JetschedError,
  splitPayload,
  subtaskMsgId,
  WIRE_VERSION,
  type SchedMessage,
  type TaskRecord,
  type WorkMessage,
} from '@jetsched/protocol';
import { publishDeduped, type Topology } from '@jetsched/runtime';
import type { SchedulerConfig } from './options.js';

/** Loads the payload, inline or claim-checked in the payloads object store. */
export async function loadPayload(topo: Topology, msg: SchedMessage): Promise<unknown> {
  if (!msg.payloadRef) return msg.payload;
  const store = await topo.payloads();
  const bytes = await store.getBlob(msg.payloadRef.name);
  if (!bytes) {
    throw new JetschedError(
      ErrorCode.NotFound,
      `payload ${msg.payloadRef.name} not found in the payloads store`,
    );
  }
  return decode(bytes);
}

export async function splitTask(
  cfg: SchedulerConfig,
  task: TaskRecord,
  payload: unknown,
): Promise<unknown[]> {
  if (task.split.kind !== 'custom') return splitPayload(task.split, payload, cfg.maxSubtasks);
  const splitter = cfg.splitters[task.type];
  if (!splitter) {
    throw new JetschedError(
      ErrorCode.NoSplitter,
      `no splitter registered for type "${task.type}" in the scheduler`,
    );
  }
  let out: unknown;
  try {
    out = await splitter(payload);
  } catch (err) {
    throw new JetschedError(
      ErrorCode.SplitFailed,
      `splitter for "${task.type}" threw: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return checkSplitterOutput(out, cfg.maxSubtasks);
}

/** Publishes every subtask not yet done, at most `window` awaiting acks at once. */
export async function publishSubtasks(
  topo: Topology,
  cfg: SchedulerConfig,
  task: TaskRecord,
  inputs: unknown[],
): Promise<number> {
  const done = task.subtasks ? Bitmap.decode(task.subtasks.done) : undefined;
  const subject = topo.names.workSubject(task.group);
  const attempt = 1;
  let next = 0;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (next < inputs.length) {
      const index = next++;
      if (done?.has(index)) continue;
      const work: WorkMessage = {
        v: WIRE_VERSION,
        kind: 'subtask',
        taskId: task.id,
        type: task.type,
        group: task.group,
        index,
        total: inputs.length,
        attempt,
        input: inputs[index] ?? null,
      };
      if (task.timeoutMs !== undefined) work.timeoutMs = task.timeoutMs;
      const h = headers();
      h.set(Header.TaskId, task.id);
      h.set(Header.TaskType, task.type);
      h.set(Header.Subtask, String(index));
      h.set(Header.Attempt, String(attempt));
      await publishDeduped(topo.js, subject, encode(work), {
        msgID: subtaskMsgId(task.id, index, attempt),
        headers: h,
      });
      sent++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.publishWindow, inputs.length) }, worker));
  return sent;
}
