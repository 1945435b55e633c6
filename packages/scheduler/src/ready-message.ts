/**
 * A ready-queue message, loaded for release: its tasks split into subtasks, its given-back subtasks
 * and retried attempts checked against their records. A message is a list of positions (its tasks, then its items, in
 * order); a position is the subtasks of one task (or one given-back subtask), so a cursor
 * `[seq, pos, sub]` names the same subtask whoever loads the message, as long as splitters are
 * deterministic.
 *
 * Records come from the message when a coordinator signed it (their fields that matter here never
 * change after submit), else from the tasks bucket. A task that cannot run (its split failed, its
 * payload is gone) is reported as a failure for the coordinators and has no subtasks here; a
 * subtask given back that does not match its record is dead-lettered.
 */
import {
  Bitmap,
  currentAttempt,
  decode,
  encode,
  ErrorCode,
  isJetschedErrorLike,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  type ErrorRecord,
  type SchedBatch,
  type SchedTask,
  type TaskFailure,
  type TaskRecord,
  type WorkItem,
} from '@jetsched/protocol';
import { deadLetter, type TaskStore, type Topology } from '@jetsched/runtime';
import type { SchedulerConfig } from './options.js';
import { loadPayload, splitTask } from './split.js';

/** One position of a ready message. */
export interface Position {
  /** The subtasks to release, by subtask index (`items[sub]`); empty when the task cannot run. */
  items: WorkItem[];
  /** Subtask indexes (of `items`) already done when the message was loaded: skipped at release. */
  done: Set<number>;
  record: TaskRecord | undefined;
}

export interface LoadedMessage {
  subject: string;
  seq: number;
  /** When the message was stored (ms): how long its work has waited. */
  at: number;
  /** Size of its body: what it costs to keep loaded. */
  bytes: number;
  positions: Position[];
}

/** A ready message as read from the stream. */
export interface RawReady {
  subject: string;
  seq: number;
  at: number;
  data: Uint8Array;
  bytes: number;
  /** The coordinator's signature verified: the records inside may be used as they are. */
  trusted: boolean;
}

/** What loading found that others must hear of. */
export interface LoadReport {
  /** Tasks that cannot run: the coordinators fail them. */
  failures: TaskFailure[];
  /** Tasks given up after their splitter kept failing: dead-lettered before they fail. */
  givenUp: { task: SchedTask; error: ErrorRecord; attempts: number }[];
}

/**
 * A splitter asked to be tried again (a retryable error). The message stays unloaded; its position
 * does not move until it loads.
 */
export class RetryLater extends Error {
  constructor(
    readonly taskId: string,
    readonly error: ErrorRecord,
  ) {
    super(`splitting task ${taskId} failed, will retry: ${error.message}`);
  }
}

export async function loadReadyMessage(
  topo: Topology,
  store: TaskStore,
  cfg: SchedulerConfig,
  raw: RawReady,
  /** A task's splitter asked to retry: how many attempts it has had, and whether to give it up now. */
  giveUp: (taskId: string) => { attempts: number; now: boolean },
): Promise<{ loaded: LoadedMessage; report: LoadReport }> {
  const report: LoadReport = { failures: [], givenUp: [] };
  let batch: SchedBatch;
  try {
    batch = validate('sched-batch', decode(raw.data));
  } catch (err) {
    await deadLetter(
      topo,
      cfg.log,
      'ready',
      cfg.id,
      { subject: raw.subject, data: raw.data },
      toErrorRecord(err, ErrorCode.BadRequest),
    );
    return {
      loaded: { subject: raw.subject, seq: raw.seq, at: raw.at, bytes: raw.bytes, positions: [] },
      report,
    };
  }
  const tasks = batch.tasks ?? [];
  const given = batch.items ?? [];
  const records = new Map<string, TaskRecord>();
  if (raw.trusted) for (const t of tasks) if (t.record?.id === t.id) records.set(t.id, t.record);
  const toRead = [...tasks.map((t) => t.id), ...given.map((i) => i.taskId)].filter((id) => !records.has(id));
  if (toRead.length > 0) {
    const { found } = await store.getMany(toRead);
    for (const [id, s] of found) records.set(id, s.record);
  }
  const positions: Position[] = [];
  const unknown: string[] = [];
  for (const task of tasks) {
    const rec = records.get(task.id);
    if (!rec) {
      unknown.push(task.id);
      positions.push({ items: [], done: new Set(), record: undefined });
      continue;
    }
    positions.push(await splitPosition(topo, cfg, rec, task, report, giveUp));
  }
  for (const item of given) {
    const rec = records.get(item.taskId);
    const why = rec ? mismatch(rec, item) : 'its task does not exist';
    if (why || !rec) {
      // each on its own, with what is wrong with it
      await deadLetter(
        topo,
        cfg.log,
        'ready',
        cfg.id,
        { subject: raw.subject, data: encode(item) },
        {
          code: rec ? ErrorCode.BadRequest : ErrorCode.NotFound,
          message: `a given-back subtask does not match its record: ${why ?? ''}`,
          retryable: false,
        },
      );
      positions.push({ items: [], done: new Set(), record: rec });
      continue;
    }
    // done, or an attempt a later one replaced (a retry sent again after a crash): passed over
    const done =
      (rec.subtasks && Bitmap.decode(rec.subtasks.done).has(item.index)) ||
      item.attempt !== currentAttempt(rec, item.index);
    positions.push({ items: [{ ...item, type: rec.type }], done: new Set(done ? [0] : []), record: rec });
  }
  if (unknown.length > 0) {
    await deadLetter(
      topo,
      cfg.log,
      'ready',
      cfg.id,
      {
        subject: raw.subject,
        data: encode({ v: WIRE_VERSION, kind: 'sched', tasks: tasks.filter((t) => unknown.includes(t.id)) }),
      },
      { code: ErrorCode.NotFound, message: `no task record ${unknown.join(', ')}`, retryable: false },
    );
  }
  return { loaded: { subject: raw.subject, seq: raw.seq, at: raw.at, bytes: raw.bytes, positions }, report };
}

/** Why a given-back subtask does not belong to its record, if it does not. */
function mismatch(rec: TaskRecord, item: WorkItem): string | undefined {
  const total = rec.subtasks?.total;
  if (total !== undefined && item.total !== total) return `total ${item.total}, the task has ${total}`;
  if (item.index >= item.total) return `index ${item.index} is not one of its ${item.total} subtasks`;
  return undefined;
}

/** The subtasks of one task, or none (and a failure reported) when it cannot be split. */
async function splitPosition(
  topo: Topology,
  cfg: SchedulerConfig,
  rec: TaskRecord,
  task: SchedTask,
  report: LoadReport,
  giveUp: (taskId: string) => { attempts: number; now: boolean },
): Promise<Position> {
  let inputs: unknown[];
  try {
    inputs = await splitTask(cfg, rec, await loadPayload(topo, task));
  } catch (err) {
    const error = toErrorRecord(err, ErrorCode.SplitFailed);
    if (isJetschedErrorLike(err) && err.retryable) {
      const g = giveUp(rec.id);
      if (!g.now) throw new RetryLater(rec.id, error);
      const final: ErrorRecord = {
        code: ErrorCode.SplitFailed,
        message: `could not be split after ${g.attempts} attempts: ${error.message}`,
        retryable: false,
        details: { attempts: g.attempts, cause: error },
      };
      report.givenUp.push({ task, error: final, attempts: g.attempts });
      report.failures.push({ taskId: rec.id, error: final });
      return { items: [], done: new Set(), record: rec };
    }
    report.failures.push({ taskId: rec.id, error });
    return { items: [], done: new Set(), record: rec };
  }
  if (rec.subtasks && rec.subtasks.total !== inputs.length) {
    report.failures.push({
      taskId: rec.id,
      error: {
        code: ErrorCode.SplitFailed,
        message: `split gave ${inputs.length} subtasks, but the task has ${rec.subtasks.total}: the splitter is not deterministic`,
        retryable: false,
      },
    });
    return { items: [], done: new Set(), record: rec };
  }
  const bits = rec.subtasks ? Bitmap.decode(rec.subtasks.done) : undefined;
  const done = new Set<number>();
  const items = inputs.map((input, index): WorkItem => {
    if (bits?.has(index)) done.add(index);
    const item: WorkItem = {
      taskId: rec.id,
      type: rec.type,
      index,
      total: inputs.length,
      attempt: 1,
      priority: rec.priority,
      tenant: rec.tenant,
      input: input ?? null,
    };
    if (rec.fairnessKey !== undefined) item.fairnessKey = rec.fairnessKey;
    if (rec.timeoutMs !== undefined) item.timeoutMs = rec.timeoutMs;
    if (rec.trace !== undefined) item.trace = rec.trace;
    return item;
  });
  return { items, done, record: rec };
}
