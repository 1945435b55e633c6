/**
 * Dead letters, as the API serves them (`<prefix>.api.dlq.*`), and the dead letters of subtasks
 * that failed their last attempt.
 *
 * A subtask whose failure fails its task (not retryable, or its attempts used up) is dead-lettered on
 * `<prefix>.dlq.subtask` after the record write, with its error (stack included), its work item as
 * it last ran (input included), and its attempts; under the dedupe id `dl.<taskId>.<index>.<attempt>`,
 * so the copy sent again when its outcome comes back after a crash is dropped. The other dead letters
 * are messages an actor gave up on (runtime/src/dead-letter.ts).
 *
 * `retry` runs a subtask's dead letter again as a new task of the same type, group, priority, tenant
 * and timeout, with the subtask's input (a task that ended stays ended: its states are final), and
 * removes the dead letter; `purge` removes dead letters.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import {
  contentTypeOf,
  decode,
  encode,
  ErrorCode,
  JetschedError,
  validate,
  WIRE_VERSION,
  type DeadLetter,
  type DeadLetterEntry,
  type DlqGetReply,
  type DlqListReply,
  type DlqPurgeReply,
  type DlqRetryReply,
  type DlqSelectRequest,
  type OutcomeItem,
  type SubmitRequest,
  type TaskRecord,
  type WorkItem,
} from '@jetsched/protocol';
import type { Topology } from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';
import { subtaskItem } from './retries.js';
import type { Submitter } from './submit.js';

/** The source of subtasks' dead letters. */
export const SUBTASK_SOURCE = 'subtask';
/** Dead letters a list or a filtered retry or purge reads at most per request. */
const SCAN_MAX = 10_000;
const DEFAULT_LIMIT = 100;

export class DeadLetters {
  constructor(
    private readonly topo: Topology,
    private readonly submitter: Submitter,
    private readonly cfg: CoordinatorConfig,
  ) {}

  /** Dead-letters the subtask whose failure `item` failed `rec` (its last attempt). */
  async subtask(rec: TaskRecord, item: OutcomeItem & { ok: false }): Promise<void> {
    const work = subtaskItem(rec, { ...item, input: 'input' in item ? item.input : null });
    const letter: DeadLetter = {
      v: WIRE_VERSION,
      kind: 'dead-letter',
      source: SUBTASK_SOURCE,
      subject: this.topo.names.outcomeSubject(rec.group),
      reason: item.error,
      actor: this.cfg.id,
      at: Date.now(),
      deliveries: item.attempt,
      task: { id: rec.id, type: rec.type, group: rec.group, index: item.index, attempt: item.attempt },
      data: encode(work),
    };
    // the failure itself is logged once, as the task's end ('task failed')
    this.cfg.log.debug(
      { taskId: rec.id, type: rec.type, subtask: item.index, attempts: item.attempt },
      'dead-lettered a subtask after its last attempt',
    );
    await this.topo.publisher.publishAllOrThrow([
      {
        subject: this.topo.names.dlqSubject(SUBTASK_SOURCE),
        data: encode(letter),
        msgId: `dl.${rec.id}.${item.index}.${item.attempt}`,
      },
    ]);
    this.topo.metrics.deadLettered.inc({ source: SUBTASK_SOURCE });
  }

  async list(body: unknown): Promise<DlqListReply> {
    const req = validate('dlq-list-request', body);
    const limit = req.limit ?? DEFAULT_LIMIT;
    const items: DeadLetterEntry[] = [];
    let last = req.after ?? 0;
    let more = false;
    for await (const { seq, letter } of this.#scan(req.after ?? 0, req)) {
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(entryOf(seq, letter));
      last = seq;
    }
    return more ? { items, next: last } : { items };
  }

  async get(body: unknown): Promise<DlqGetReply> {
    const { seq } = validate('dlq-get-request', body);
    const stored = await this.topo.jsm.streams
      .getMessage(this.topo.names.streams.dlq, { seq })
      .catch(() => null);
    if (!stored) throw new JetschedError(ErrorCode.NotFound, `no dead letter ${seq}`);
    const letter = validate('dead-letter', decode(stored.data));
    const entry: DlqGetReply['entry'] = { ...entryOf(seq, letter), message: readable(letter) };
    if (letter.headers) entry.headers = letter.headers;
    return { entry };
  }

  /** Runs subtasks' dead letters again as new tasks, then removes them. */
  async retry(body: unknown): Promise<DlqRetryReply> {
    const req = validate('dlq-select-request', body);
    const out: DlqRetryReply = { retried: [], skipped: 0 };
    for (const { seq, letter } of await this.#select(req)) {
      if (letter.source !== SUBTASK_SOURCE || !letter.task) {
        out.skipped++;
        continue;
      }
      const item = validate('work-batch', { v: WIRE_VERSION, kind: 'work', items: [decode(letter.data)] })
        .items[0] as WorkItem;
      const task: SubmitRequest = {
        type: item.type,
        payload: item.input,
        group: letter.task.group,
        metadata: { redriveOf: `${letter.task.id}.${letter.task.index}` },
      };
      if (item.priority !== undefined) task.priority = item.priority;
      if (item.tenant !== undefined) task.tenant = item.tenant;
      if (item.fairnessKey !== undefined) task.fairnessKey = item.fairnessKey;
      if (item.timeoutMs !== undefined) task.timeoutMs = item.timeoutMs;
      // keyed by the dead letter: a retry repeated (its reply lost) runs it once
      task.idempotencyKey = `redrive:${letter.task.id}:${letter.task.index}:${letter.task.attempt}`;
      const { id } = await this.submitter.submit(task);
      await this.#remove(seq);
      out.retried.push({ seq, taskId: id });
    }
    return out;
  }

  async purge(body: unknown): Promise<DlqPurgeReply> {
    const req = validate('dlq-select-request', body);
    let purged = 0;
    for (const { seq } of await this.#select(req)) {
      await this.#remove(seq);
      purged++;
    }
    return { purged };
  }

  async #remove(seq: number): Promise<void> {
    await this.topo.jsm.streams
      .deleteMessage(this.topo.names.streams.dlq, seq, false)
      .catch((err: unknown) => {
        // removed meanwhile (another request): nothing left to do
        if (!/no message found|not found/i.test((err as Error).message)) throw err;
      });
  }

  async #select(req: DlqSelectRequest): Promise<{ seq: number; letter: DeadLetter }[]> {
    if (req.seq !== undefined) {
      const stored = await this.topo.jsm.streams
        .getMessage(this.topo.names.streams.dlq, { seq: req.seq })
        .catch(() => null);
      if (!stored) throw new JetschedError(ErrorCode.NotFound, `no dead letter ${req.seq}`);
      return [{ seq: req.seq, letter: validate('dead-letter', decode(stored.data)) }];
    }
    const out: { seq: number; letter: DeadLetter }[] = [];
    for await (const x of this.#scan(0, req)) out.push(x);
    return out;
  }

  /** Dead letters after `after` that match the filter, oldest first, reading at most {@link SCAN_MAX}. */
  async *#scan(
    after: number,
    f: { source?: string | undefined; type?: string | undefined; taskId?: string | undefined },
  ): AsyncGenerator<{ seq: number; letter: DeadLetter }> {
    const stream = this.topo.names.streams.dlq;
    const info = await this.topo.jsm.streams.info(stream);
    if (info.state.messages === 0 || info.state.last_seq <= after) return;
    const consumer = await this.topo.js.consumers.get(stream, {
      filter_subjects: [f.source ? this.topo.names.dlqSubject(f.source) : this.topo.names.subjects.dlqAll],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: after + 1,
    });
    const msgs = await consumer.fetch({ max_messages: SCAN_MAX, expires: 2_000 });
    try {
      for await (const m of msgs) {
        let letter: DeadLetter | undefined;
        try {
          letter = validate('dead-letter', decode(m.data));
        } catch {
          // not a dead letter jetsched wrote: listed by nobody, removed by a purge of its seq only
        }
        if (letter && matches(letter, f)) yield { seq: m.seq, letter };
        if (m.info.pending === 0 || m.seq >= info.state.last_seq) break;
      }
    } finally {
      msgs.stop();
    }
  }
}

function matches(l: DeadLetter, f: { type?: string | undefined; taskId?: string | undefined }): boolean {
  if (f.type !== undefined && l.task?.type !== f.type) return false;
  return f.taskId === undefined || l.task?.id === f.taskId;
}

function entryOf(seq: number, l: DeadLetter): DeadLetterEntry {
  const e: DeadLetterEntry = {
    seq,
    source: l.source,
    subject: l.subject,
    reason: l.reason,
    actor: l.actor,
    at: l.at,
  };
  if (l.deliveries !== undefined) e.deliveries = l.deliveries;
  if (l.task !== undefined) e.task = l.task;
  return e;
}

/** The dead message decoded as its content type or msgpack, else as its bytes. */
function readable(l: DeadLetter): unknown {
  const data = l.data instanceof Uint8Array ? l.data : new Uint8Array();
  try {
    return decode(data, contentTypeOf(l.headers?.['Content-Type']?.[0]));
  } catch {
    return { bytes: Buffer.from(data).toString('base64') };
  }
}
