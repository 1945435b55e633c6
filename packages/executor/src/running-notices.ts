/**
 * Subtasks that have run for a while are announced to the coordinators (core NATS, one notice per
 * round for all of them), which record their tasks `running`. Subtasks that finish sooner are never
 * announced: a short task goes from `pending` to its end in one record write.
 */
import { encode, WIRE_VERSION, type StartedNotice, type WorkItem } from '@jetsched/protocol';
import type { Logger, Topology } from '@jetsched/runtime';

/** How long a subtask runs before its task is recorded `running`. @defaultValue 200 ms */
export const DEFAULT_RUNNING_NOTICE_MS = 200;

export class RunningNotices {
  readonly #running = new Map<object, { item: WorkItem; since: number }>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly topo: Topology,
    private readonly group: string,
    private readonly executor: string,
    private readonly log: Logger,
    private readonly afterMs = DEFAULT_RUNNING_NOTICE_MS,
  ) {
    // one timer for every running subtask
    this.#timer = setInterval(() => this.#announce(), Math.max(10, afterMs / 2));
    this.#timer.unref();
  }

  /** Notes a subtask that starts now; returns what to call when it ends. */
  started(item: WorkItem): () => void {
    const key = {};
    this.#running.set(key, { item, since: Date.now() });
    return () => this.#running.delete(key);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #announce(): void {
    const due = Date.now() - this.afterMs;
    const items: StartedNotice['items'] = [];
    for (const [key, r] of this.#running) {
      if (r.since > due) continue;
      items.push({ taskId: r.item.taskId, index: r.item.index, attempt: r.item.attempt });
      this.#running.delete(key); // announced once
    }
    if (items.length === 0) return;
    const n: StartedNotice = { v: WIRE_VERSION, kind: 'started', executor: this.executor, items };
    try {
      this.topo.nc.publish(this.topo.names.startedSubject(this.group), encode(n));
    } catch (err) {
      this.log.debug({ err }, 'could not announce running subtasks');
    }
  }
}
