/**
 * The coordinator's request/reply API, served as a NATS queue group so any number of coordinators
 * share it. Each request is decoded as `unknown`, validated, and answered with `{ ok: true, ... }`
 * or `{ ok: false, error }`; a bad request is also dead-lettered. Nothing here throws past a handler.
 */
import type { Msg, Subscription } from '@nats-io/transport-node';
import {
  ErrorCode,
  isTerminal,
  JetschedError,
  toErrorRecord,
  validate,
  type ContentType,
  type ListReply,
  type ListRequest,
  type SubmitReply,
  type TaskRecord,
  type TaskReply,
  type ApiReply,
  decode,
  encode,
  WIRE_VERSION,
  type CancelMessage,
} from '@jetsched/protocol';
import {
  deadLetter,
  decodeMsg,
  msgContentType,
  replyError,
  replyOk,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import { DEFAULT_LIST_LIMIT, DEFAULT_WAIT_MS, type CoordinatorConfig } from './options.js';
import type { Submitter } from './submit.js';

type Handler = (body: unknown, msg: Msg) => Promise<object>;

export class Api {
  private readonly routes: Map<string, Handler>;

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly submitter: Submitter,
    private readonly cfg: CoordinatorConfig,
  ) {
    const a = topo.names.api;
    this.routes = new Map<string, Handler>([
      [a.submit, (b, m) => this.submit(b, m.data.length)],
      [a.submitMany, (b) => this.submitMany(b)],
      [a.get, (b) => this.get(b)],
      [a.list, (b) => this.list(b)],
      [a.cancel, (b) => this.cancel(b)],
      [a.wait, (b) => this.wait(b)],
    ]);
  }

  /** Subscribes the queue group; returns the subscription (drained on close). */
  listen(): Subscription {
    const sub = this.topo.nc.subscribe(this.topo.names.api.all, {
      queue: this.topo.names.queueGroups.coordinator,
      callback: (err, msg) => {
        if (err) {
          this.cfg.log.error({ err }, 'api subscription error');
          return;
        }
        void this.serve(msg);
      },
    });
    return sub;
  }

  private async serve(msg: Msg): Promise<void> {
    const ct: ContentType = msgContentType(msg);
    const route = this.routes.get(msg.subject);
    try {
      if (!route) throw new JetschedError(ErrorCode.NotFound, `no API operation at ${msg.subject}`);
      if (msg.data.length > this.cfg.maxRequestBytes) {
        throw new JetschedError(
          ErrorCode.PayloadTooLarge,
          `request is ${msg.data.length} bytes, over the ${this.cfg.maxRequestBytes}-byte limit; ` +
            'store a large payload in the payloads object store and submit a payloadRef (the client SDK does this)',
          { details: { size: msg.data.length, limit: this.cfg.maxRequestBytes } },
        );
      }
      const body = decodeMsg(msg);
      const reply = await route(body, msg);
      if (msg.reply) replyOk(msg, reply, ct);
    } catch (err) {
      const rec = toErrorRecord(err, ErrorCode.Internal);
      if (rec.code === ErrorCode.Internal)
        this.cfg.log.error({ err, subject: msg.subject }, 'request failed');
      if (isBadInput(rec.code)) {
        await deadLetter(this.topo, this.cfg.log, 'api', this.cfg.id, msg, rec);
      }
      if (msg.reply) replyError(msg, rec, ct);
    }
  }

  private async submit(body: unknown, size: number): Promise<SubmitReply> {
    return this.submitter.submit(validate('submit-request', body), size);
  }

  private async submitMany(body: unknown): Promise<{ results: ApiReply<SubmitReply>[] }> {
    const { tasks } = validate('submit-many-request', body);
    const results = new Array<ApiReply<SubmitReply>>(tasks.length);
    // bounded parallelism: enough to hide JetStream round trips, not enough to flood the server
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tasks.length) {
        const i = next++;
        try {
          const req = validate('submit-request', tasks[i]);
          results[i] = { ok: true, ...(await this.submitter.submit(req, encode(req).length)) };
        } catch (err) {
          results[i] = { ok: false, error: toErrorRecord(err, ErrorCode.Internal) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(64, tasks.length) }, worker));
    return { results };
  }

  private async load(id: string, includeResult: boolean | undefined): Promise<TaskReply> {
    const found = await this.store.get(id);
    if (!found) throw new JetschedError(ErrorCode.NotFound, `no task ${id}`);
    const reply: TaskReply = { task: found.record };
    if (includeResult && found.record.state === 'succeeded') {
      const stored = found.record.hasResult ? await this.store.getResult(id) : undefined;
      if (stored && 'ref' in stored) reply.resultRef = stored.ref;
      else reply.result = stored ? stored.value : null;
    }
    return reply;
  }

  private async get(body: unknown): Promise<TaskReply> {
    const req = validate('get-request', body);
    return this.load(req.id, req.includeResult);
  }

  private async list(body: unknown): Promise<ListReply> {
    const req: ListRequest = validate('list-request', body ?? {});
    const limit = req.limit ?? DEFAULT_LIST_LIMIT;
    const matching: TaskRecord[] = [];
    for await (const t of this.store.all()) {
      if (req.state && t.state !== req.state) continue;
      if (req.type && t.type !== req.type) continue;
      if (req.tenant && t.tenant !== req.tenant) continue;
      matching.push(t);
    }
    // newest first; the cursor is the sort key of the last task returned
    matching.sort((x, y) => y.createdAt - x.createdAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
    let start = 0;
    if (req.cursor) {
      const [at, id] = decodeCursor(req.cursor);
      start = matching.findIndex((t) => t.createdAt < at || (t.createdAt === at && t.id > id));
      if (start < 0) start = matching.length;
    }
    const page = matching.slice(start, start + limit);
    const reply: ListReply = { tasks: page };
    const last = page[page.length - 1];
    if (last && start + limit < matching.length) reply.nextCursor = encodeCursor(last);
    return reply;
  }

  private async cancel(body: unknown): Promise<TaskReply> {
    const req = validate('cancel-request', body);
    const res = await this.store.update(req.id, (cur) => {
      if (isTerminal(cur.state)) {
        throw new JetschedError(ErrorCode.InvalidState, `task ${req.id} is already ${cur.state}`, {
          details: { state: cur.state },
        });
      }
      const next: TaskRecord = { ...cur, state: 'cancelled', finishedAt: Date.now() };
      if (req.reason !== undefined) next.cancelReason = req.reason;
      return next;
    });
    if (!res) throw new JetschedError(ErrorCode.NotFound, `no task ${req.id}`);
    const notice: CancelMessage = { v: WIRE_VERSION, kind: 'cancel', taskId: req.id };
    if (req.reason !== undefined) notice.reason = req.reason;
    this.topo.nc.publish(this.topo.names.cancelSubject(req.id), encode(notice));
    return { task: res.record };
  }

  /**
   * Holds the request until the task is terminal or the timeout passes. Terminal events wake it at
   * once; it also re-reads the record every {@link WAIT_RECHECK_MS}, because a core event can be
   * missed while this coordinator's connection moves to another server.
   */
  private async wait(body: unknown): Promise<TaskReply> {
    const req = validate('wait-request', body);
    const timeoutMs = req.timeoutMs ?? DEFAULT_WAIT_MS;
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | undefined;
    // subscribe before reading, so a completion between the two is not missed
    const sub = this.topo.nc.subscribe(this.topo.names.eventSubject(req.id, '*'), {
      callback: (_err, m) => {
        try {
          if (isTerminal(validate('task-event', decode(m.data)).state)) wake?.();
        } catch {
          // a malformed event is not ours to judge here; keep waiting
        }
      },
    });
    try {
      for (;;) {
        // the result is read only once the task has succeeded, so this is one read per round
        const now = await this.load(req.id, req.includeResult);
        if (isTerminal(now.task.state)) return now;
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new JetschedError(
            ErrorCode.Timeout,
            `task ${req.id} is still ${now.task.state} after ${timeoutMs} ms`,
            {
              retryable: true,
              details: { state: now.task.state },
            },
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, WAIT_RECHECK_MS));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } finally {
      sub.unsubscribe();
    }
  }
}

/** How often a held `wait` re-reads the task record besides watching its events. */
const WAIT_RECHECK_MS = 2_000;

function isBadInput(code: string): boolean {
  return (
    code === ErrorCode.BadEncoding || code === ErrorCode.BadRequest || code === ErrorCode.PayloadTooLarge
  );
}

function encodeCursor(t: TaskRecord): string {
  return Buffer.from(`${t.createdAt}:${t.id}`).toString('base64url');
}

function decodeCursor(cursor: string): [number, string] {
  const text = Buffer.from(cursor, 'base64url').toString();
  const i = text.indexOf(':');
  const at = Number(text.slice(0, i));
  if (i < 0 || !Number.isFinite(at)) throw new JetschedError(ErrorCode.BadRequest, 'invalid list cursor');
  return [at, text.slice(i + 1)];
}
