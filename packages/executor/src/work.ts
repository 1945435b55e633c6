/**
 * One work message, from delivery to ack. It carries subtasks of any tasks; each runs in a slot of
 * its own and its outcome goes out with the group-committed outcomes. Before anything runs:
 * - a message of several subtasks delivered again (its executor died or stalled with it) is split:
 *   each subtask goes out again in a message of its own, and this one is acked unrun, so that a
 *   subtask that kills its executor every time uses up its own message's deliveries, not those of
 *   the subtasks it was packed with;
 * - the last delivery the consumer allows is not run but given up (the message is dead-lettered,
 *   its tasks fail with MAX_DELIVERIES), so a message that kills its executor every time cannot loop
 *   for ever;
 * - a redelivery claims its subtasks first, so the delivery it replaces (an executor that stalled
 *   past its ack wait) can no longer report; subtasks refused the claim do not run;
 * - subtasks of stopped tasks (cancelled, failed) are skipped, and subtasks of a type this executor
 *   has no handler for are given back to the schedulers.
 * The message is acked once every outcome is stored, or nak'd whole when a shutdown aborted part of
 * it; neither when its lease was lost meanwhile (./leases.ts).
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  ContentType,
  decode,
  encode,
  ErrorCode,
  Header,
  resent,
  subtaskDelivery,
  toErrorRecord,
  validate,
  WIRE_VERSION,
  workMsgId,
  type ClaimReply,
  type TaskFailure,
  type ErrorRecord,
  type WorkBatch,
  type WorkItem,
} from '@jetsched/protocol';
import {
  contentHeaders,
  givenBackMessages,
  isLastDelivery,
  maxBodyBytes,
  msgContentType,
  rejectMessage,
  type OutMsg,
  type StopGate,
  type Topology,
} from '@jetsched/runtime';
import type { Leases } from './leases.js';
import type { ExecutorConfig } from './options.js';
import type { OutcomeSender } from './outcome-sender.js';
import type { RunningNotices } from './running-notices.js';
import { ExecutorShutdown, runHandler, TaskStopped, type Ran } from './run-handler.js';
import type { SlotPool } from './slots.js';

/** How stale the executor's knowledge of stopped tasks may be when a message arrives. */
const STOP_SYNC_MS = 1_000;
/**
 * On a shutdown, how long a message whose handlers ignore their abort waits for them before it is
 * left to its ack wait rather than given back (given back, it could run elsewhere beside them).
 */
const SHUTDOWN_LINGER_MS = 2_000;
/** How long a claim request may take. */
const CLAIM_TIMEOUT_MS = 10_000;

export interface WorkContext {
  topo: Topology;
  cfg: ExecutorConfig;
  slots: SlotPool;
  gate: StopGate;
  sender: OutcomeSender;
  running: RunningNotices;
  /** The leases of the messages held: acks and naks go through them. */
  leases: Leases;
  /** Registers the controller of a running subtask, so that a stop of its task aborts it. */
  track(taskId: string, c: AbortController): () => void;
  /** Tells the group's releaser these subtasks left this executor's hands (core NATS). */
  credit(items: readonly WorkItem[]): void;
}

export async function processWork(w: WorkContext, msg: JsMsg): Promise<void> {
  const { topo, cfg } = w;
  let items: WorkItem[];
  try {
    items = validate('work-batch', decode(msg.data, msgContentType(msg))).items;
  } catch (err) {
    // dead-lettered with its reason; it does not fail the task its headers name: anyone may write a
    // header, and only a token from the scheduler lets an outcome change a task (ADR 0026)
    await rejectMessage(topo, cfg.log, 'work', cfg.id, msg, toErrorRecord(err, ErrorCode.BadRequest));
    return;
  }
  const deliveryCount = msg.info.deliveryCount;
  if (deliveryCount > 1 && items.length > 1) {
    await splitUp(w, msg, items);
    return;
  }
  if (isLastDelivery(msg, topo.manifest.consumers.work.maxDeliver)) {
    await giveUp(w, msg, items);
    return;
  }
  await w.gate.syncIfStale(STOP_SYNC_MS);
  let runnable = items.filter((it) => !w.gate.get(it.taskId));
  const foreign = runnable.filter((it) => !cfg.handlers[it.type]);
  if (foreign.length > 0) {
    await handBack(w, foreign);
    runnable = runnable.filter((it) => cfg.handlers[it.type]);
  }
  // a redelivery, or a subtask sent again in a new message, claims before it runs
  const delivery = (it: WorkItem): number => subtaskDelivery(it, deliveryCount);
  const claiming = runnable.filter((it) => delivery(it) > 1);
  if (claiming.length > 0) {
    const granted = new Set(await claim(w, claiming, delivery));
    runnable = runnable.filter((it) => delivery(it) === 1 || granted.has(it));
  }
  if (runnable.length === 0) {
    if (w.leases.ack(msg)) w.credit(items);
    return;
  }

  const maxBytes = maxBodyBytes(topo.nc);
  const controllers = runnable.map(() => new AbortController());
  const untrack = runnable.map((it, i) => w.track(it.taskId, controllers[i] as AbortController));
  try {
    /** Handlers that outlived their abort: the message's fate waits for them on a shutdown. */
    const lingering: Promise<void>[] = [];
    const ran = await Promise.all(
      runnable.map((it, i) =>
        // the outcome is reported at once (an abort included); the slot is given back only when the
        // handler really ends, so an executor never runs more handlers than its concurrency
        w.slots.runReporting<Ran | undefined>(async (report) => {
          const c = controllers[i] as AbortController;
          // a stop that arrived while this waited for a slot: do not start
          if (c.signal.aborted || w.gate.get(it.taskId)) return;
          const done = w.running.started(it);
          const r = await runHandler(topo, cfg, it, delivery(it), c, maxBytes).finally(done);
          report(outcomeOf(w, it, r, c));
          if (r.runningOn) {
            lingering.push(r.runningOn);
            w.cfg.log.warn(
              { taskId: it.taskId, type: it.type, subtask: it.index, attempt: it.attempt },
              'a handler runs on after its abort (it ignores its signal): its slot stays taken until it returns',
            );
            await r.runningOn;
            w.cfg.log.info(
              { taskId: it.taskId, subtask: it.index },
              'the handler that ran on after its abort returned',
            );
          }
        }),
      ),
    );
    if (controllers.some((c) => c.signal.reason instanceof ExecutorShutdown)) {
      // what finished is reported; the message goes back whole and the rest runs elsewhere, but not
      // while a handler of it still runs here: after a while it is left to its ack wait instead
      // (by then this process has exited, and the handler with it)
      await w.sender.send(
        ran.flatMap((r, i) =>
          r && !((controllers[i] as AbortController).signal.reason instanceof ExecutorShutdown)
            ? [r.bytes]
            : [],
        ),
      );
      if (await settlesWithin(Promise.all(lingering), SHUTDOWN_LINGER_MS)) w.leases.nak(msg);
      else
        w.cfg.log.warn(
          { subject: msg.subject, lingering: lingering.length },
          'handlers still run after their abort: their message comes back after its ack wait, not now',
        );
      return;
    }
    await w.sender.send(ran.flatMap((r) => (r ? [r.bytes] : [])));
    if (w.leases.ack(msg)) w.credit(items);
  } finally {
    for (const u of untrack) u();
  }
}

/** True when `p` settles within `ms`. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What becomes of a handler's run: its outcome, or nothing (its task stopped). A failure does not
 * stop the task's other subtasks here: whether it fails the task is the coordinator's to decide
 * (retries, a fan-in that survives it); when it does, the task's stop aborts them.
 */
function outcomeOf(w: WorkContext, it: WorkItem, r: Ran, c: AbortController): Ran | undefined {
  const reason: unknown = c.signal.reason;
  if (reason instanceof TaskStopped) return undefined;
  if (!r.item.ok && !(reason instanceof ExecutorShutdown)) {
    w.cfg.log.warn(
      {
        taskId: it.taskId,
        type: it.type,
        subtask: it.index,
        attempt: it.attempt,
        executor: w.cfg.id,
        error: r.item.error,
      },
      'subtask failed',
    );
  }
  return r;
}

/** The last delivery: dead-letter the message, then fail the tasks whose subtasks never ran to an outcome. */
async function giveUp(w: WorkContext, msg: JsMsg, items: WorkItem[]): Promise<void> {
  const deliveries = msg.info.deliveryCount;
  const error = (it: WorkItem): ErrorRecord => ({
    code: ErrorCode.MaxDeliveries,
    message: `subtask ${it.index} was delivered ${deliveries} times without an outcome (an executor died or stalled each time); giving it up`,
    retryable: false,
    details: { subtask: it.index, deliveries },
  });
  const seen = new Set<string>();
  // each names the item given up on, with its token: what lets an executor fail a task
  const failures: TaskFailure[] = items
    .filter((it) => !seen.has(it.taskId) && seen.add(it.taskId))
    .map((it) => ({
      taskId: it.taskId,
      error: error(it),
      index: it.index,
      attempt: it.attempt,
      ...(it.token === undefined ? {} : { token: it.token }),
    }));
  // dead letter first: whoever sees the task failed finds the dead letter
  await rejectMessage(
    w.topo,
    w.cfg.log,
    'work',
    w.cfg.id,
    msg,
    {
      code: ErrorCode.MaxDeliveries,
      message: `work message delivered ${deliveries} times without an outcome`,
      retryable: false,
    },
    () =>
      w.sender
        .fail(failures)
        .then(() => w.credit(items))
        .catch((e: unknown) =>
          w.cfg.log.error(
            { err: e, tasks: failures.map((f) => f.taskId) },
            'could not fail the tasks of a work message given up',
          ),
        ),
  );
}

/**
 * A message of several subtasks delivered again: each subtask goes out in a message of its own on
 * the same subject, as a new carrier (`resends` one higher: a dedupe id of its own, and a delivery
 * that outranks whatever this carrier's deliveries claimed), and this message is acked unrun. No
 * claim is made here: nothing runs on this delivery, and each new carrier claims before it runs.
 * Done subtasks are refused there (`done`); subtasks of stopped tasks are left out here.
 */
async function splitUp(w: WorkContext, msg: JsMsg, items: WorkItem[]): Promise<void> {
  await w.gate.syncIfStale(STOP_SYNC_MS);
  const stopped = items.filter((it) => w.gate.get(it.taskId));
  const msgs: OutMsg[] = items
    .filter((it) => !w.gate.get(it.taskId))
    .map((it) => {
      const item = resent(it);
      const batch: WorkBatch = { v: WIRE_VERSION, kind: 'work', items: [item] };
      return {
        subject: msg.subject,
        data: encode(batch),
        headers: [
          [Header.Items, '1'],
          [Header.TaskId, item.taskId],
          [Header.TaskType, item.type],
        ],
        msgId: workMsgId([item]),
      };
    });
  await w.topo.publisher.publishAllOrThrow(msgs);
  w.cfg.log.info(
    { subject: msg.subject, deliveries: msg.info.deliveryCount, subtasks: items.length, sent: msgs.length },
    'a work message came back: sent each of its subtasks again on its own',
  );
  // the subtasks sent again stay in flight; those of stopped tasks are done with
  if (w.leases.ack(msg)) w.credit(stopped);
}

/** Subtasks of a type this executor cannot run go back to the ready queue, to be released again. */
async function handBack(w: WorkContext, items: WorkItem[]): Promise<void> {
  w.cfg.log.warn(
    { types: [...new Set(items.map((i) => i.type))], subtasks: items.length },
    'gave back subtasks this executor has no handler for',
  );
  await w.topo.publisher.publishAllOrThrow(givenBackMessages(w.topo, w.cfg.group, items.map(resent)));
}

/** Redelivered (or re-sent) subtasks claim their delivery; only granted ones run. */
async function claim(
  w: WorkContext,
  items: WorkItem[],
  delivery: (it: WorkItem) => number,
): Promise<WorkItem[]> {
  const req = {
    executor: w.cfg.id,
    items: items.map((it) => ({
      taskId: it.taskId,
      index: it.index,
      total: it.total,
      attempt: it.attempt,
      delivery: delivery(it),
    })),
  };
  const reply = await w.topo.nc.request(w.topo.names.api.claim, encode(req), {
    timeout: CLAIM_TIMEOUT_MS,
    headers: contentHeaders(ContentType.MsgPack),
  });
  const r = validate('api-reply', decode(reply.data));
  if (!r.ok) throw new Error(`claim refused: ${r.error.message}`);
  const { results } = r as unknown as ClaimReply;
  const granted = items.filter((_, i) => results[i]?.granted === true);
  const refused = items.length - granted.length;
  if (refused > 0)
    w.cfg.log.info(
      { refused, granted: granted.length },
      'redelivered subtasks refused: done, stopped or claimed by a later delivery',
    );
  return granted;
}
