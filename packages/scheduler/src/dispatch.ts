/**
 * Splitting a task and publishing its subtasks to the executor group's work subject. Publishing is
 * repeatable: each message carries the dedupe id `<taskId>.<index>.<attempt>` (or
 * `<taskId>.<first>-<last>.<attempt>` for a group of subtasks), and a re-dispatch skips subtasks
 * whose outcome is already recorded (the task's done bitmap).
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import {
  Bitmap,
  checkSplitterOutput,
  decode,
  encode,
  ErrorCode,
  Header,
  JetschedError,
  planWorkMessages,
  splitPayload,
  subtaskBatchMsgId,
  subtaskMsgId,
  WIRE_VERSION,
  type SchedMessage,
  type TaskRecord,
  type WorkBatchMessage,
  type WorkMessage,
  type WorkMessagePlan,
} from '@jetsched/protocol';
import { maxBodyBytes, publishDeduped, subtaskHeaders, type Topology } from '@jetsched/runtime';
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
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new JetschedError(
        ErrorCode.SplitFailed,
        `splitter for "${task.type}" did not finish within ${cfg.splitTimeoutMs} ms`,
        { retryable: false },
      );
      controller.abort(err);
      reject(err);
    }, cfg.splitTimeoutMs);
  });
  try {
    out = await Promise.race([
      Promise.resolve(splitter(payload, { signal: controller.signal, taskId: task.id })),
      timedOut,
    ]);
  } catch (err) {
    if (err instanceof JetschedError && err.code === ErrorCode.SplitFailed) throw err;
    throw new JetschedError(
      ErrorCode.SplitFailed,
      `splitter for "${task.type}" threw: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  return checkSplitterOutput(out, cfg.maxSubtasks);
}

/** A message ready to publish: its body, headers and dedupe id. */
interface Outgoing {
  data: Uint8Array;
  headers: MsgHdrs;
  msgID: string;
}

/**
 * Publishes every subtask not yet done, at most `window` messages awaiting acks at once. A task with
 * `subtasksPerMessage` > 1 sends its subtasks in groups (one {@link WorkBatchMessage} each); a
 * group too large for the server's max_payload is sent in halves.
 */
export async function publishSubtasks(
  topo: Topology,
  cfg: SchedulerConfig,
  task: TaskRecord,
  inputs: unknown[],
): Promise<number> {
  const done = task.subtasks ? Bitmap.decode(task.subtasks.done) : undefined;
  const plans = planWorkMessages(inputs.length, task.subtasksPerMessage ?? 1, (i) => done?.has(i) ?? false);
  const maxBytes = maxBodyBytes(topo.nc);
  const subject = topo.names.workSubject(task.group);
  let next = 0;
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const plan = plans[next++];
      if (!plan) continue;
      for (const out of workMessages(task, inputs, plan, maxBytes)) {
        await publishDeduped(topo.js, subject, out.data, { msgID: out.msgID, headers: out.headers });
      }
      sent += plan.indexes.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(cfg.publishWindow, plans.length) }, worker));
  return sent;
}

/** The message(s) for one planned group: a single subtask, a batch, or a too-large batch in halves. */
function workMessages(
  task: TaskRecord,
  inputs: unknown[],
  plan: WorkMessagePlan,
  maxBytes: number,
): Outgoing[] {
  const attempt = 1;
  const h = subtaskHeaders(task.id, task.type, plan.indexes[0] ?? plan.first, attempt);
  if ((task.subtasksPerMessage ?? 1) <= 1) {
    const index = plan.first;
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
    return [{ data: encode(work), headers: h, msgID: subtaskMsgId(task.id, index, attempt) }];
  }
  const batch: WorkBatchMessage = {
    v: WIRE_VERSION,
    kind: 'subtasks',
    taskId: task.id,
    type: task.type,
    group: task.group,
    total: inputs.length,
    attempt,
    items: plan.indexes.map((index) => ({ index, input: inputs[index] ?? null })),
  };
  if (task.timeoutMs !== undefined) batch.timeoutMs = task.timeoutMs;
  const data = encode(batch);
  if (data.length > maxBytes && plan.first < plan.last) {
    const mid = Math.floor((plan.first + plan.last) / 2);
    const halves = [
      { first: plan.first, last: mid, indexes: plan.indexes.filter((i) => i <= mid) },
      { first: mid + 1, last: plan.last, indexes: plan.indexes.filter((i) => i > mid) },
    ];
    return halves.filter((p) => p.indexes.length > 0).flatMap((p) => workMessages(task, inputs, p, maxBytes));
  }
  h.set(Header.Subtasks, String(plan.indexes.length));
  return [{ data, headers: h, msgID: subtaskBatchMsgId(task.id, plan.first, plan.last, attempt) }];
}
