/**
 * From hand-offs to work messages. Each hand-off message carries tasks (or subtasks given back) of
 * one group; the scheduler reads their records (the record, not the message, says what a task is),
 * splits them, routes each subtask to a handler profile that serves its type, and releases it in
 * work messages packed by the backlog: alone while the executors have free slots for everything,
 * many per message when more waits than they can take. Work of a type nobody serves is parked.
 *
 * A hand-off is acked only once all of its work is stored. A redelivered one (this or another
 * scheduler died mid-way) is dispatched again, less the subtasks already recorded; work messages
 * carry dedupe ids, and the coordinators record an outcome once whatever runs twice.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  Bitmap,
  decode,
  encode,
  ErrorCode,
  Header,
  isJetschedErrorLike,
  isTerminal,
  itemsMsgId,
  itemsPerMessage,
  packMessages,
  packWithItems,
  subtaskRef,
  toErrorRecord,
  validate,
  WIRE_VERSION,
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
  isLastDelivery,
  maxBodyBytes,
  msgContentType,
  rejectMessage,
  SIGNATURE_HEADER,
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

interface Received {
  msg: JsMsg;
  batch: SchedBatch;
}

/** Hand-offs to dispatch; `trusted`: signed and first delivered, so the records inside are current. */
export interface Handoff {
  batch: SchedBatch;
  trusted: boolean;
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

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly router: Router,
    private readonly gate: StopGate,
    private readonly cfg: SchedulerConfig,
  ) {}

  /** Handles a batch of hand-off (or parked) messages: dispatches them, acks them. */
  async handle(msgs: JsMsg[], maxDeliver: number): Promise<void> {
    const good: Received[] = [];
    for (const msg of msgs) {
      try {
        good.push({ msg, batch: validate('sched-batch', decode(msg.data, msgContentType(msg))) });
      } catch (err) {
        await rejectMessage(
          this.topo,
          this.cfg.log,
          'sched',
          this.cfg.id,
          msg,
          toErrorRecord(err, ErrorCode.BadRequest),
        );
      }
    }
    if (good.length === 0) return;
    const heartbeat = setInterval(() => good.forEach((g) => g.msg.working()), 5_000);
    const handoffs = good.map((g) => ({ batch: g.batch, trusted: this.#trusted(g.msg) }));
    try {
      await this.dispatch(handoffs);
      for (const g of good) g.msg.ack();
    } catch (err) {
      // a message that cannot be dispatched must not hold back the others: try each on its own
      this.cfg.log.warn(
        { err, messages: good.length },
        'dispatching a batch failed; dispatching each message on its own',
      );
      for (const g of good) {
        try {
          await this.dispatch([{ batch: g.batch, trusted: this.#trusted(g.msg) }]);
          g.msg.ack();
        } catch (e) {
          await this.#failed(g, e, maxDeliver);
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * A hand-off signed by a coordinator, delivered for the first time: the records inside are as
   * written and may be used as they are. A redelivery is not (the task may have moved on since), nor
   * is anything unsigned: for those the scheduler reads the records.
   */
  #trusted(msg: JsMsg): boolean {
    return !msg.info.redelivered && this.topo.signer.verify(msg.data, msg.headers?.get(SIGNATURE_HEADER));
  }

  /** A hand-off that could not be dispatched: again later, or, on its last delivery, given up. */
  async #failed(g: Received, err: unknown, maxDeliver: number): Promise<void> {
    if (!isLastDelivery(g.msg, maxDeliver)) {
      this.cfg.log.warn({ err, subject: g.msg.subject }, 'dispatching a hand-off failed; will retry');
      g.msg.nak(1_000 * g.msg.info.deliveryCount);
      return;
    }
    const error: ErrorRecord = {
      code: ErrorCode.MaxDeliveries,
      message: `could not be scheduled after ${g.msg.info.deliveryCount} deliveries: ${(err as Error).message}`,
      retryable: false,
    };
    const ids = [...(g.batch.tasks ?? []).map((t) => t.id), ...(g.batch.items ?? []).map((i) => i.taskId)];
    const pending = [...new Set(ids)].filter((id) => !this.#recent.has(id));
    try {
      const { found } = await this.store.getMany(pending);
      await this.#fail(
        [...found.values()].map((s) => ({ taskId: s.record.id, error })),
        new Map([...found].map(([id, s]) => [id, s.record.group])),
      );
    } catch (e) {
      this.cfg.log.error({ err: e, tasks: pending }, 'could not fail the tasks of a hand-off given up');
    }
    await rejectMessage(this.topo, this.cfg.log, 'sched', this.cfg.id, g.msg, error);
  }

  /**
   * Dispatches the tasks and given-back subtasks of some hand-off batches. Throws when something
   * could not be stored (the caller retries the messages); what was released before stays released.
   */
  async dispatch(handoffs: readonly Handoff[]): Promise<void> {
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
    const unknown: SchedTask[] = [];
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
      const items = await this.#split(rec, task, failures);
      for (const item of items ?? []) add(rec, route, item);
    }
    for (const item of returned) {
      const rec = found.get(item.taskId);
      if (!rec || isTerminal(rec.state) || this.gate.get(rec.id)) continue;
      const route = this.router.pick(rec.group, item.type);
      if (route) add(rec, route, item);
      else park(rec.group, { item });
    }

    await failpoint('scheduler.before-release');
    await Promise.all([...releases.values()].map((r) => this.#release(r, failures)));
    await this.#park(parked);
    await this.#fail(failures, groupOf);
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
  }

  /** The subtasks of a task still to run, or undefined when it cannot be split (added to failures). */
  async #split(rec: TaskRecord, task: SchedTask, failures: TaskFailure[]): Promise<WorkItem[] | undefined> {
    let inputs: unknown[];
    try {
      inputs = await splitTask(this.cfg, rec, await loadPayload(this.topo, task));
    } catch (err) {
      // retryable as far as the thrower says (whichever copy of jetsched made the error)
      if (isJetschedErrorLike(err) && err.retryable) throw err;
      failures.push({ taskId: rec.id, error: toErrorRecord(err, ErrorCode.SplitFailed) });
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
        msgId: itemsMsgId(
          'work',
          items.map((it) => subtaskRef(it.taskId, it.index, it.attempt)),
        ),
      };
    });
    await this.topo.publisher.publishAllOrThrow(msgs);
    this.router.released(r.group, r.route.profile, fitting.length);
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
  }

  /** Tells the coordinators of tasks that cannot go on (one message per group). */
  async #fail(failures: readonly TaskFailure[], groupOf: Map<string, string>): Promise<void> {
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

function unreadableError(err: Error | undefined): ErrorRecord {
  return {
    code: ErrorCode.Internal,
    message: `the task record cannot be read: ${err?.message ?? 'invalid'}`,
    retryable: false,
  };
}
