/**
 * From hand-offs to work messages. Each hand-off message carries tasks (or subtasks given back) of
 * one group; the scheduler reads their records (the record, not the message, says what a task is),
 * splits them, routes each subtask to a handler profile that serves its type, and releases it in
 * work messages packed by the backlog: alone while the executors have free slots for everything,
 * many per message when more waits than they can take. Work of a type nobody serves is parked.
 *
 * Each task is dispatched on its own: a task whose splitter says "not now" (a retryable error) is
 * left out and reported back to the caller (./handoffs.ts retries just those), the others go out.
 * A redelivered hand-off is dispatched again, less the tasks this scheduler released already and
 * the subtasks already recorded; work messages carry dedupe ids, and the coordinators record an
 * outcome once whatever runs twice.
 */
import {
  Bitmap,
  encode,
  ErrorCode,
  Header,
  isJetschedErrorLike,
  isTerminal,
  itemsPerMessage,
  packMessages,
  packWithItems,
  toErrorRecord,
  WIRE_VERSION,
  workMsgId,
  type ErrorRecord,
  type OutcomeBatch,
  type SchedBatch,
  type SchedTask,
  type TaskFailure,
  type TaskRecord,
  type WorkItem,
} from '@jetsched/protocol';
import {
  deadLetter,
  failpoint,
  maxBodyBytes,
  toError,
  type StopGate,
  type OutMsg,
  type StoredTask,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import type { SchedulerConfig } from './options.js';
import type { Route, Router } from './router.js';
import { loadPayload, splitTask } from './split.js';

/** Task ids remembered as released by this scheduler, so a repeated hand-off is not released twice. */
const RECENT_MAX = 100_000;

/** Hand-offs to dispatch; `trusted`: signed and first delivered, so the records inside are current. */
export interface Handoff {
  batch: SchedBatch;
  trusted: boolean;
}

/** What a dispatch left undone, to be tried again. */
export interface DispatchResult {
  /** Tasks whose split failed with a retryable error, with that error: none of their work went out. */
  retry: Map<string, ErrorRecord>;
}

/** Work bound for one profile of one group. */
interface Release {
  group: string;
  route: Route;
  items: { item: WorkItem; perTask: number | undefined }[];
  tasks: Set<string>;
}

export class Dispatcher {
  readonly #recent = new Set<string>();
  #parked: ((groups: string[]) => void) | undefined;

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly router: Router,
    private readonly gate: StopGate,
    private readonly cfg: SchedulerConfig,
  ) {}

  /** Calls `fn` whenever work is parked (./parking.ts then watches for its type to become served). */
  onParked(fn: (groups: string[]) => void): void {
    this.#parked = fn;
  }

  /** True when this scheduler released (or failed) the task lately: a repeated hand-off skips it. */
  released(taskId: string): boolean {
    return this.#recent.has(taskId);
  }

  /**
   * Dispatches the tasks and given-back subtasks of some hand-off batches. Throws when something
   * could not be stored (the caller retries the messages); what was released before stays released.
   * Tasks whose splitter asked to be tried again are left out and returned.
   */
  async dispatch(handoffs: readonly Handoff[]): Promise<DispatchResult> {
    const tasks = handoffs.flatMap((h) => h.batch.tasks ?? []);
    const returned = handoffs.flatMap((h) => h.batch.items ?? []);
    const found = new Map<string, TaskRecord>();
    for (const h of handoffs) {
      if (!h.trusted) continue;
      for (const t of h.batch.tasks ?? []) if (t.record?.id === t.id) found.set(t.id, t.record);
    }
    const toRead = [...tasks.map((t) => t.id), ...returned.map((i) => i.taskId)].filter(
      (id) => !found.has(id),
    );
    const read =
      toRead.length > 0
        ? await this.store.getMany(toRead)
        : { found: new Map<string, StoredTask>(), unreadable: new Map<string, Error>() };
    for (const [id, s] of read.found) found.set(id, s.record);
    const unreadable = read.unreadable;
    const releases = new Map<string, Release>();
    const parked = new Map<string, SchedBatch>();
    const failures: TaskFailure[] = [];
    const retry = new Map<string, ErrorRecord>();
    const unknown: SchedTask[] = [];
    const invalid: { item: WorkItem; group: string; reason: ErrorRecord }[] = [];
    const groupOf = new Map([...found].map(([id, rec]) => [id, rec.group]));

    const park = (group: string, what: { task?: SchedTask; item?: WorkItem }): void => {
      const p = parked.get(group) ?? { v: WIRE_VERSION, kind: 'sched' };
      if (what.task) (p.tasks ??= []).push(what.task);
      if (what.item) (p.items ??= []).push(what.item);
      parked.set(group, p);
    };
    const add = (rec: TaskRecord, route: Route, item: WorkItem): void => {
      const key = `${rec.group}\u0000${route.profile}`;
      const r = releases.get(key) ?? { group: rec.group, route, items: [], tasks: new Set<string>() };
      r.items.push({ item, perTask: rec.subtasksPerMessage });
      r.tasks.add(rec.id);
      releases.set(key, r);
    };

    for (const task of tasks) {
      const rec = found.get(task.id);
      if (!rec) {
        if (unreadable.has(task.id))
          failures.push({ taskId: task.id, error: unreadableError(unreadable.get(task.id)) });
        else unknown.push(task);
        continue;
      }
      // ended, stopped since it was recorded (its stop notice is here), or released already
      if (isTerminal(rec.state) || this.gate.get(rec.id) || this.#recent.has(rec.id)) continue;
      const route = this.router.pick(rec.group, rec.type);
      if (!route) {
        park(rec.group, { task });
        continue;
      }
      const items = await this.#split(rec, task, failures, retry);
      for (const item of items ?? []) add(rec, route, item);
    }
    // subtasks given back are checked against their task's record: the record, not the item, says
    // what the task is, how many subtasks it has and which are done
    const done = new Map<string, Bitmap | undefined>();
    for (const item of returned) {
      const rec = found.get(item.taskId);
      if (!rec || isTerminal(rec.state) || this.gate.get(rec.id)) continue;
      const reason = disagreement(rec, item);
      if (reason) {
        invalid.push({ item, group: rec.group, reason });
        continue;
      }
      if (!done.has(rec.id)) done.set(rec.id, rec.subtasks && Bitmap.decode(rec.subtasks.done));
      if (done.get(rec.id)?.has(item.index)) continue;
      let it = item;
      if (item.type !== rec.type) {
        this.cfg.log.warn(
          { taskId: rec.id, subtask: item.index, itemType: item.type, type: rec.type },
          "a subtask given back named another type than its task's; routed by the task's",
        );
        it = { ...item, type: rec.type };
      }
      const route = this.router.pick(rec.group, rec.type);
      if (route) add(rec, route, it);
      else park(rec.group, { item: it });
    }

    await failpoint('scheduler.before-release');
    await Promise.all([...releases.values()].map((r) => this.#release(r, failures)));
    await this.#park(parked);
    await this.fail(failures, groupOf);
    for (const task of unknown) {
      await deadLetter(
        this.topo,
        this.cfg.log,
        'sched',
        this.cfg.id,
        { subject: this.topo.names.subjects.schedAll, data: encode(task) },
        {
          code: ErrorCode.NotFound,
          message: `no task record ${task.id}`,
          retryable: false,
        },
      );
    }
    for (const { item, group, reason } of invalid) {
      await deadLetter(
        this.topo,
        this.cfg.log,
        'sched',
        this.cfg.id,
        { subject: this.topo.names.schedSubject(group), data: encode(item) },
        reason,
      );
    }
    return { retry };
  }

  /**
   * The subtasks of a task still to run, or undefined when it cannot be split now: added to
   * failures, or, when the splitter said to try again later, to `retry`.
   */
  async #split(
    rec: TaskRecord,
    task: SchedTask,
    failures: TaskFailure[],
    retry: Map<string, ErrorRecord>,
  ): Promise<WorkItem[] | undefined> {
    let inputs: unknown[];
    try {
      inputs = await splitTask(this.cfg, rec, await loadPayload(this.topo, task));
    } catch (err) {
      // retryable as far as the thrower says (whichever copy of jetsched made the error)
      if (isJetschedErrorLike(err) && err.retryable) retry.set(rec.id, toErrorRecord(err));
      else failures.push({ taskId: rec.id, error: toErrorRecord(err, ErrorCode.SplitFailed) });
      return undefined;
    }
    if (rec.subtasks && rec.subtasks.total !== inputs.length) {
      failures.push({
        taskId: rec.id,
        error: {
          code: ErrorCode.SplitFailed,
          message: `split gave ${inputs.length} subtasks, but the task has ${rec.subtasks.total}: the splitter is not deterministic`,
          retryable: false,
        },
      });
      return undefined;
    }
    // a task handed off again (a redelivery, an idempotent re-submit) runs only what is not done
    const done = rec.subtasks ? Bitmap.decode(rec.subtasks.done) : undefined;
    const items: WorkItem[] = [];
    inputs.forEach((input, index) => {
      if (done?.has(index)) return;
      const item: WorkItem = {
        taskId: rec.id,
        type: rec.type,
        index,
        total: inputs.length,
        attempt: 1,
        input: input ?? null,
      };
      if (rec.timeoutMs !== undefined) item.timeoutMs = rec.timeoutMs;
      items.push(item);
    });
    return items;
  }

  /** Publishes a profile's subtasks in work messages packed by backlog, size and per-task bound. */
  async #release(r: Release, failures: TaskFailure[]): Promise<void> {
    const max = maxBodyBytes(this.topo.nc);
    const encoded: Uint8Array[] = [];
    const fitting: Release['items'] = [];
    const tooLarge = new Set<string>();
    for (const it of r.items) {
      const bytes = encode(it.item);
      if (bytes.length > max) {
        if (!tooLarge.has(it.item.taskId)) {
          tooLarge.add(it.item.taskId);
          failures.push({
            taskId: it.item.taskId,
            error: {
              code: ErrorCode.SplitFailed,
              message: `subtask ${it.item.index} has an input of ${bytes.length} bytes, more than a message carries (${max}): split finer`,
              retryable: false,
            },
          });
        }
        continue;
      }
      encoded.push(bytes);
      fitting.push(it);
    }
    const perMessage = itemsPerMessage(
      fitting.length,
      r.route.free,
      Math.min(this.cfg.maxItemsPerMessage, r.route.perExecutor),
    );
    const packs = packMessages(
      fitting.map((it, i) => ({
        size: (encoded[i] as Uint8Array).length,
        taskId: it.item.taskId,
        perTask: it.perTask,
      })),
      perMessage,
      max,
    );
    const subject = this.topo.names.workSubject(r.group, r.route.profile);
    const msgs: OutMsg[] = packs.map((pack) => {
      const items = pack.map((i) => (fitting[i] as Release['items'][number]).item);
      return {
        subject,
        data: packWithItems(
          { v: WIRE_VERSION, kind: 'work' },
          'items',
          pack.map((i) => encoded[i] as Uint8Array),
        ),
        headers: [
          [Header.Items, String(items.length)],
          [Header.TaskId, (items[0] as WorkItem).taskId],
          [Header.TaskType, (items[0] as WorkItem).type],
        ],
        msgId: workMsgId(items),
      };
    });
    const results = await this.topo.publisher.publishAll(msgs);
    let copies = 0;
    let dropped = 0;
    results.forEach((res, k) => {
      if (!res.ok) throw toError(res.error);
      if (res.duplicate) {
        copies++;
        dropped += (packs[k] as number[]).length;
      }
    });
    // a copy means the same items went out in the same packing within the dedupe window (a hand-off
    // redelivered, or released by two schedulers): expected, and nothing is lost, since that earlier
    // message is still queued or ran. A carrier acked unrun (given back, rescued, split off) never
    // collides: its items went out again with one more `resends`, which is part of the id.
    if (copies > 0)
      this.cfg.log.info(
        { group: r.group, profile: r.route.profile, messages: copies, subtasks: dropped },
        'work released already (dropped as a copy by its dedupe id)',
      );
    this.router.released(r.group, r.route.profile, fitting.length - dropped);
    for (const id of r.tasks) this.#remember(id);
    this.cfg.log.debug(
      { group: r.group, profile: r.route.profile, subtasks: fitting.length, messages: msgs.length },
      'released',
    );
  }

  /** Work nobody can run yet waits on the group's parked subject (see ./parking.ts). */
  async #park(parked: Map<string, SchedBatch>): Promise<void> {
    const msgs: OutMsg[] = [...parked].map(([group, batch]) => {
      const types = new Set([...(batch.items ?? []).map((i) => i.type)]);
      this.cfg.log.info(
        { group, tasks: batch.tasks?.length ?? 0, subtasks: batch.items?.length ?? 0, types: [...types] },
        'parked work no executor serves',
      );
      return { subject: this.topo.names.parkedSubject(group), data: encode(batch) };
    });
    await this.topo.publisher.publishAllOrThrow(msgs);
    if (parked.size > 0) this.#parked?.([...parked.keys()]);
  }

  /** Tells the coordinators of tasks that cannot go on (one message per group). */
  async fail(failures: readonly TaskFailure[], groupOf: Map<string, string>): Promise<void> {
    const byGroup = new Map<string, TaskFailure[]>();
    for (const f of failures) {
      const g = groupOf.get(f.taskId);
      if (g === undefined) continue;
      byGroup.set(g, [...(byGroup.get(g) ?? []), f]);
    }
    const msgs: OutMsg[] = [...byGroup].map(([group, fs]) => {
      const out: OutcomeBatch = { v: WIRE_VERSION, kind: 'outcomes', from: this.cfg.id, failures: fs };
      return { subject: this.topo.names.outcomeSubject(group), data: encode(out) };
    });
    await this.topo.publisher.publishAllOrThrow(msgs);
    for (const f of failures) this.#remember(f.taskId);
  }

  #remember(id: string): void {
    if (this.#recent.size >= RECENT_MAX) {
      const oldest = this.#recent.values().next().value;
      if (oldest !== undefined) this.#recent.delete(oldest);
    }
    this.#recent.add(id);
  }
}

/** Why a subtask given back cannot be the subtask of its task it names, if it cannot. */
function disagreement(rec: TaskRecord, item: WorkItem): ErrorRecord | undefined {
  const total = rec.subtasks?.total ?? item.total;
  let why: string | undefined;
  if (item.total !== total) why = `it says the task has ${item.total} subtasks, the task has ${total}`;
  else if (!Number.isInteger(item.index) || item.index < 0 || item.index >= total)
    why = `index ${item.index} is not one of the task's ${total} subtasks`;
  if (!why) return undefined;
  return {
    code: ErrorCode.BadRequest,
    message: `subtask ${item.index} given back for task ${rec.id} does not match its record: ${why}`,
    retryable: false,
    details: { taskId: rec.id, subtask: item.index, total: item.total },
  };
}

function unreadableError(err: Error | undefined): ErrorRecord {
  return {
    code: ErrorCode.Internal,
    message: `the task record cannot be read: ${err?.message ?? 'invalid'}`,
    retryable: false,
  };
}
