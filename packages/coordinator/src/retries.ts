/**
 * Failed subtasks tried again (ADR 0021). When the outcome recorder decides that a failure is
 * followed by another attempt (@jetsched/protocol's `recordOutcomes`, under the task's retry policy),
 * the record names the new attempt as current first; then the attempt is sent here:
 * - without a wait, to the ready queue at once, as a one-subtask ready message (released like any
 *   other work: priorities, fairness, limits and pauses apply);
 * - after a backoff, under a server-held schedule (`@at`, in the delayed stream, one subject per
 *   subtask and attempt) whose notice the due path (./due.ts) brings back here when it fires.
 * Each is sent under a dedupe id of its task, subtask and attempt, so a send repeated after a crash
 * (the recorder sends again when an outcome it already counted comes back: `retryOwed`) is dropped,
 * and an attempt that is no longer the subtask's current one when its schedule fires is not sent.
 */
import {
  Bitmap,
  currentAttempt,
  encode,
  fairnessKeyOf,
  Header,
  isTerminal,
  retryPolicyOf,
  WIRE_VERSION,
  type GroupSettings,
  type RetryPolicy,
  type SchedBatch,
  type TaskRecord,
  type WorkItem,
} from '@jetsched/protocol';
import { readGroupSettings, SIGNATURE_HEADER, type OutMsg, type Topology } from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';
import type { Records } from './records.js';

/** A group's settings (its retry policies) are read again after this long. */
const SETTINGS_TTL_MS = 5_000;

/** A next attempt to send. */
export interface NextAttempt {
  record: TaskRecord;
  index: number;
  total: number;
  attempt: number;
  input: unknown;
  delayMs: number;
}

export class Retries {
  constructor(
    private readonly topo: Topology,
    private readonly records: Records,
    private readonly cfg: CoordinatorConfig,
  ) {}

  readonly #settings = new Map<string, { at: number; settings: Promise<GroupSettings | undefined> }>();

  /** The policy of a task: its own, else its group's for its type (the group's settings cached a while). */
  async policyOf(rec: TaskRecord): Promise<RetryPolicy> {
    if (rec.retry) return rec.retry;
    let cached = this.#settings.get(rec.group);
    if (!cached || Date.now() - cached.at > SETTINGS_TTL_MS) {
      const previous = cached?.settings;
      const settings = readGroupSettings(this.topo, rec.group).then(
        (r) => r.settings,
        async (err: unknown) => {
          this.cfg.log.warn(
            { err, group: rec.group },
            'could not read the group settings; using the last ones',
          );
          return previous ? await previous : undefined;
        },
      );
      cached = { at: Date.now(), settings };
      this.#settings.set(rec.group, cached);
    }
    return retryPolicyOf(rec, await cached.settings);
  }

  /** Sends next attempts: at once to the ready queue, or under a schedule that fires after the wait. */
  async send(next: readonly NextAttempt[]): Promise<void> {
    if (next.length === 0) return;
    const now = Date.now();
    const msgs = next.map((n) => {
      const item = workItem(n);
      return n.delayMs > 0 ? this.#scheduled(n.record, item, now + n.delayMs) : this.#ready(n.record, item);
    });
    await this.topo.publisher.publishAllOrThrow(msgs);
    for (const n of next) this.topo.metrics.of(n.record.group, n.record.type).retried.inc();
  }

  /**
   * A retry's schedule fired: each attempt still current (its task not ended, its subtask without
   * an outcome) goes to the ready queue. Throws when that could not be stored (the notice comes back).
   */
  async due(items: readonly WorkItem[]): Promise<void> {
    const { found } = await this.records.load([...new Set(items.map((i) => i.taskId))]);
    const msgs: OutMsg[] = [];
    for (const item of items) {
      const rec = found.get(item.taskId)?.record;
      if (!rec || !isCurrent(rec, item)) continue;
      msgs.push(this.#ready(rec, item));
    }
    await this.topo.publisher.publishAllOrThrow(msgs);
  }

  /** The attempt as a ready message of its task's group, priority, fairness key and type. */
  #ready(rec: TaskRecord, item: WorkItem): OutMsg {
    const data = encode(batchOf(item));
    return {
      subject: this.topo.names.readySubject(rec.group, rec.priority, fairnessKeyOf(rec), rec.type),
      data,
      headers: [
        [Header.Items, '1'],
        [Header.Subtasks, '1'],
        [Header.TaskId, rec.id],
        [SIGNATURE_HEADER, this.topo.signer.sign(data)],
      ],
      msgId: `retry.${rec.id}.${item.index}.${item.attempt}`,
    };
  }

  /** The attempt under a schedule of its own that fires its notice at `at` (never earlier). */
  #scheduled(rec: TaskRecord, item: WorkItem, at: number): OutMsg {
    const data = encode(batchOf(item));
    return {
      subject: this.topo.names.retrySubject(rec, item.index, item.attempt),
      data,
      headers: [
        ['Nats-Schedule', `@at ${new Date(at).toISOString()}`],
        ['Nats-Schedule-Target', this.topo.names.dueSubject()],
        [Header.Items, '1'],
        [Header.TaskId, rec.id],
        [SIGNATURE_HEADER, this.topo.signer.sign(data)],
      ],
      msgId: `retry-at.${rec.id}.${item.index}.${item.attempt}`,
    };
  }
}

/** True while `item` is the attempt its subtask waits for. */
function isCurrent(rec: TaskRecord, item: WorkItem): boolean {
  if (isTerminal(rec.state) || currentAttempt(rec, item.index) !== item.attempt) return false;
  return !(rec.subtasks && Bitmap.decode(rec.subtasks.done).has(item.index));
}

function batchOf(item: WorkItem): SchedBatch {
  return { v: WIRE_VERSION, kind: 'sched', items: [item] };
}

function workItem(n: NextAttempt): WorkItem {
  return subtaskItem(n.record, n);
}

/** The work item of subtask `s.index` of task `r` on attempt `s.attempt`, with its input. */
export function subtaskItem(
  r: TaskRecord,
  n: { index: number; total: number; attempt: number; input: unknown },
): WorkItem {
  const item: WorkItem = {
    taskId: r.id,
    type: r.type,
    index: n.index,
    total: n.total,
    attempt: n.attempt,
    priority: r.priority,
    tenant: r.tenant,
    input: n.input,
  };
  if (r.fairnessKey !== undefined) item.fairnessKey = r.fairnessKey;
  if (r.timeoutMs !== undefined) item.timeoutMs = r.timeoutMs;
  if (r.trace !== undefined) item.trace = r.trace;
  return item;
}
