/**
 * The client SDK: submit tasks and read them back over the coordinator's request/reply API, and
 * watch a task's lifecycle events and progress. Any NATS client can do the same with the wire
 * contract in docs/protocol.md; this is the TypeScript convenience.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { isSpanContextValid, trace } from '@opentelemetry/api';
import {
  ContentType,
  decode,
  decodeJson,
  DEFAULT_PREFIX,
  encode,
  ErrorCode,
  formatTraceparent,
  Header,
  isTraceparent,
  isTerminal,
  JetschedError,
  names,
  newTaskId,
  validate,
  type ApiReply,
  type GroupReply,
  type GroupSetRequest,
  type GroupSettings,
  type ListReply,
  type ListRequest,
  type Names,
  type ProgressMessage,
  type ReleaseStatus,
  type ScheduleDefinition,
  type ScheduleListReply,
  type ScheduleReply,
  type ScheduleTriggerReply,
  type DlqListRequest,
  type DlqListReply,
  type DlqGetReply,
  type DlqSelectRequest,
  type DlqRetryReply,
  type DlqPurgeReply,
  type SubmitReply,
  type SubmitRequest,
  type SubtaskRecord,
  type TaskRecord,
  type TaskReply,
} from '@jetsched/protocol';
import { contentHeaders, decodeMsg, isTransientNatsError, type ConnectOptions } from '@jetsched/runtime';

/** Request timeout. @defaultValue 10 s */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Payloads larger than this (msgpack-encoded) are claim-checked in the object store. @defaultValue 512 KiB */
export const DEFAULT_INLINE_PAYLOAD_LIMIT = 512 * 1024;

/** How long one `wait` request is held by the coordinator, and the extra time to wait for its reply. */
const WAIT_HOLD_MS = 5_000;
const WAIT_GRACE_MS = 2_000;

/** Tries of a submit that carries an idempotency key when a request gets no answer (backoff 0.2-1.6 s). */
const SUBMIT_ATTEMPTS = 5;

export interface ClientOptions {
  /** A connection to use; without one the client connects and owns it. */
  nc?: NatsConnection;
  connection?: ConnectOptions;
  /** @defaultValue `jetsched` */
  prefix?: string;
  /** @defaultValue {@link DEFAULT_REQUEST_TIMEOUT_MS} */
  requestTimeoutMs?: number;
  /** @defaultValue {@link DEFAULT_INLINE_PAYLOAD_LIMIT} */
  inlinePayloadLimit?: number;
}

/** A change of the task's record (its state and subtask counts), or a handler's progress value. */
export type WatchEvent =
  { kind: 'state'; task: TaskRecord } | { kind: 'progress'; progress: ProgressMessage };

export interface ResultOptions {
  /** Give up after this long. @defaultValue no limit */
  timeoutMs?: number;
}

export interface Client {
  readonly nc: NatsConnection;
  readonly names: Names;
  /**
   * Submits a task. Its trace context (W3C `traceparent`, carried to every run of it) is
   * `opts.traceparent`, else the active OpenTelemetry span's, if any.
   */
  submit(task: SubmitRequest, opts?: SubmitOptions): Promise<SubmitReply>;
  /** Submits many tasks in one request; each gets its own result, in order. */
  submitMany(tasks: SubmitRequest[], opts?: SubmitOptions): Promise<ApiReply<SubmitReply>[]>;
  get(id: string, opts?: { includeResult?: boolean }): Promise<TaskReply>;
  list(filter?: ListRequest): Promise<ListReply>;
  cancel(id: string, reason?: string): Promise<TaskRecord>;
  /**
   * The recorded subtask outcomes of a task, by index then attempt: each subtask's last attempt
   * (`<id>.<index>`) and every failed attempt that was tried again (`<id>.<index>.<attempt>`),
   * failures with their error, stack and input. Read from the tasks bucket.
   */
  subtasks(id: string): Promise<SubtaskRecord[]>;
  /** Waits until the task is terminal and returns it (with its result). */
  wait(id: string, opts?: ResultOptions): Promise<TaskReply>;
  /** Waits for the task's result; rejects with the task's error when it failed or was cancelled. */
  result<T = unknown>(id: string, opts?: ResultOptions): Promise<T>;
  /**
   * The task's record as it is now, then every change of it (from the record's own change stream,
   * so no state change is ever missed), and live handler progress; ends at a terminal state.
   */
  watch(id: string, opts?: WatchOptions): AsyncIterable<WatchEvent>;
  /** A group's settings: pause, fairness weights, rate and concurrency limits. */
  groupSettings(group: string): Promise<GroupSettings>;
  /** Replaces a group's settings (what is left out is cleared). */
  setGroupSettings(settings: Omit<GroupSetRequest, 'v'>): Promise<GroupSettings>;
  /** Pauses a group, or one task type of it: nothing of it is released until resumed. */
  pause(group: string, type?: string): Promise<GroupSettings>;
  resume(group: string, type?: string): Promise<GroupSettings>;
  /**
   * What waits in a group's ready queue and why, as its releaser saw it last (undefined when no
   * scheduler releases for the group right now).
   */
  queueStatus(group: string): Promise<ReleaseStatus | undefined>;
  /**
   * Creates a cron or interval schedule, or replaces the definition of the one with that id (what
   * it ran so far is kept): each occurrence creates one task from `task`.
   */
  createSchedule(def: ScheduleDefinition): Promise<ScheduleReply>;
  schedule(id: string): Promise<ScheduleReply>;
  schedules(): Promise<ScheduleReply[]>;
  /** A paused schedule creates no tasks; resuming does not catch up on what it skipped. */
  pauseSchedule(id: string): Promise<ScheduleReply>;
  resumeSchedule(id: string): Promise<ScheduleReply>;
  deleteSchedule(id: string): Promise<ScheduleReply>;
  /** Creates the schedule's task now (also while paused); returns its id. */
  triggerSchedule(id: string): Promise<ScheduleTriggerReply>;
  /**
   * Dead letters, oldest first: subtasks that failed their last attempt (source `subtask`) and
   * messages an actor gave up on. Pass the reply's `next` as `after` for the next page.
   */
  deadLetters(filter?: Omit<DlqListRequest, 'v'>): Promise<DlqListReply>;
  /** One dead letter with its message decoded (a subtask's: its work item, input included). */
  deadLetter(seq: number): Promise<DlqGetReply['entry']>;
  /**
   * Runs subtasks' dead letters again, each as a new task with the subtask's input (one by `seq`,
   * or `all: true` with a filter), and removes them.
   */
  retryDeadLetters(select: Omit<DlqSelectRequest, 'v'>): Promise<DlqRetryReply>;
  /** Removes dead letters (one by `seq`, or `all: true` with a filter). */
  purgeDeadLetters(select: Omit<DlqSelectRequest, 'v'>): Promise<DlqPurgeReply>;
  close(): Promise<void>;
}

class ClientImpl implements Client {
  readonly names: Names;
  readonly #js: JetStreamClient;
  #payloads: Promise<ObjectStore> | undefined;
  #tasks: Promise<KV> | undefined;

  constructor(
    readonly nc: NatsConnection,
    private readonly owned: boolean,
    private readonly opts: Required<Pick<ClientOptions, 'requestTimeoutMs' | 'inlinePayloadLimit'>> & {
      prefix: string;
    },
  ) {
    this.names = names(opts.prefix);
    this.#js = jetstream(nc);
  }

  async #request<T>(
    subject: string,
    body: unknown,
    timeoutMs = this.opts.requestTimeoutMs,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const msg = await this.nc.request(subject, encode(body), {
      timeout: timeoutMs,
      headers: contentHeaders(ContentType.MsgPack, extraHeaders),
    });
    const reply = validate('api-reply', decode(msg.data));
    if (!reply.ok) throw JetschedError.fromRecord(reply.error);
    return reply as unknown as T;
  }

  async #prepare(task: SubmitRequest): Promise<SubmitRequest> {
    if (task.payload === undefined) return task;
    const bytes = encode(task.payload);
    if (bytes.length <= this.opts.inlinePayloadLimit) return task;
    // claim check: the payload goes to the object store, the request carries a reference
    const store = await this.#payloadStore();
    const name = `payload-${newTaskId()}`;
    await store.putBlob({ name }, bytes);
    const { payload: _omit, ...rest } = task;
    return { ...rest, payloadRef: { bucket: this.names.buckets.payloads, name } };
  }

  #payloadStore(): Promise<ObjectStore> {
    return (this.#payloads ??= new Objm(this.#js).open(this.names.buckets.payloads));
  }

  /** The reply with its result in hand: a large result is fetched from the object store. */
  async #withResult(r: TaskReply): Promise<TaskReply> {
    if (r.resultRef) {
      const bytes = await (await this.#payloadStore()).getBlob(r.resultRef.name);
      if (!bytes)
        throw new JetschedError(
          ErrorCode.NotFound,
          `result ${r.resultRef.name} is gone from the object store`,
        );
      return { task: r.task, result: decode(bytes) };
    }
    const out: TaskReply = { task: r.task };
    if (r.result !== undefined) out.result = r.result;
    if (r.waiting !== undefined) out.waiting = r.waiting;
    return out;
  }

  async submit(task: SubmitRequest, opts: SubmitOptions = {}): Promise<SubmitReply> {
    const body = await this.#prepare(task);
    const trace = traceHeaders(opts);
    // a lost request is retried only with an idempotency key: then a second copy is the same task
    const attempts = task.idempotencyKey === undefined ? 1 : SUBMIT_ATTEMPTS;
    for (let i = 1; ; i++) {
      try {
        const r = await this.#request<SubmitReply>(this.names.api.submit, body, undefined, trace);
        return { id: r.id, duplicate: r.duplicate };
      } catch (err) {
        if (i >= attempts || !isTransientNatsError(err)) throw err;
        // "no responders" comes back at once while coordinators reconnect: back off before asking again
        await new Promise((r) => setTimeout(r, 100 * 2 ** i));
      }
    }
  }

  async submitMany(tasks: SubmitRequest[], opts: SubmitOptions = {}): Promise<ApiReply<SubmitReply>[]> {
    const prepared = await Promise.all(tasks.map((t) => this.#prepare(t)));
    const r = await this.#request<{ results: ApiReply<SubmitReply>[] }>(
      this.names.api.submitMany,
      { tasks: prepared },
      undefined,
      traceHeaders(opts),
    );
    return r.results;
  }

  async get(id: string, opts: { includeResult?: boolean } = {}): Promise<TaskReply> {
    const r = await this.#request<TaskReply>(this.names.api.get, { id, ...opts });
    return this.#withResult(r);
  }

  async list(filter: ListRequest = {}): Promise<ListReply> {
    const r = await this.#request<ListReply>(this.names.api.list, filter);
    return r.nextCursor === undefined ? { tasks: r.tasks } : { tasks: r.tasks, nextCursor: r.nextCursor };
  }

  async subtasks(id: string): Promise<SubtaskRecord[]> {
    const kv = await this.#tasksKv();
    const out: SubtaskRecord[] = [];
    for await (const key of await kv.keys(`${id}.>`)) {
      // subtask records only: `<id>.<index>` and `<id>.<index>.<attempt>` (not `<id>.result`)
      if (!/^\d+(\.\d+)?$/.test(key.slice(id.length + 1))) continue;
      const e = await kv.get(key);
      if (e?.operation !== 'PUT') continue;
      out.push(validate('subtask-record', decode(e.value)));
    }
    return out.sort((a, b) => a.index - b.index || a.attempt - b.attempt);
  }

  #tasksKv(): Promise<KV> {
    return (this.#tasks ??= new Kvm(this.#js).open(this.names.buckets.tasks));
  }

  async groupSettings(group: string): Promise<GroupSettings> {
    return (await this.#request<GroupReply>(this.names.api.groupGet, { group })).settings;
  }

  async setGroupSettings(settings: Omit<GroupSetRequest, 'v'>): Promise<GroupSettings> {
    return (await this.#request<GroupReply>(this.names.api.groupSet, settings)).settings;
  }

  async pause(group: string, type?: string): Promise<GroupSettings> {
    const body = type === undefined ? { group } : { group, type };
    return (await this.#request<GroupReply>(this.names.api.groupPause, body)).settings;
  }

  async resume(group: string, type?: string): Promise<GroupSettings> {
    const body = type === undefined ? { group } : { group, type };
    return (await this.#request<GroupReply>(this.names.api.groupResume, body)).settings;
  }

  async queueStatus(group: string): Promise<ReleaseStatus | undefined> {
    try {
      const m = await this.nc.request(this.names.releaseStatusSubject(group), undefined, { timeout: 2_000 });
      return decodeJson(m.data) as ReleaseStatus;
    } catch (err) {
      if (isTransientNatsError(err)) return undefined;
      throw err;
    }
  }

  async createSchedule(def: ScheduleDefinition): Promise<ScheduleReply> {
    return this.#scheduleReply(await this.#request<ScheduleReply>(this.names.api.scheduleCreate, def));
  }

  async schedule(id: string): Promise<ScheduleReply> {
    return this.#scheduleReply(await this.#request<ScheduleReply>(this.names.api.scheduleGet, { id }));
  }

  async schedules(): Promise<ScheduleReply[]> {
    return (await this.#request<ScheduleListReply>(this.names.api.scheduleList, {})).schedules;
  }

  async pauseSchedule(id: string): Promise<ScheduleReply> {
    return this.#scheduleReply(await this.#request<ScheduleReply>(this.names.api.schedulePause, { id }));
  }

  async resumeSchedule(id: string): Promise<ScheduleReply> {
    return this.#scheduleReply(await this.#request<ScheduleReply>(this.names.api.scheduleResume, { id }));
  }

  async deleteSchedule(id: string): Promise<ScheduleReply> {
    return this.#scheduleReply(await this.#request<ScheduleReply>(this.names.api.scheduleDelete, { id }));
  }

  async triggerSchedule(id: string): Promise<ScheduleTriggerReply> {
    const r = await this.#request<ScheduleTriggerReply>(this.names.api.scheduleTrigger, { id });
    return { ...this.#scheduleReply(r), taskId: r.taskId };
  }

  async deadLetters(filter: Omit<DlqListRequest, 'v'> = {}): Promise<DlqListReply> {
    const { items, next } = await this.#request<DlqListReply>(this.names.api.dlqList, filter);
    return next === undefined ? { items } : { items, next };
  }

  async deadLetter(seq: number): Promise<DlqGetReply['entry']> {
    return (await this.#request<DlqGetReply>(this.names.api.dlqGet, { seq })).entry;
  }

  async retryDeadLetters(select: Omit<DlqSelectRequest, 'v'>): Promise<DlqRetryReply> {
    const { retried, skipped } = await this.#request<DlqRetryReply>(this.names.api.dlqRetry, select);
    return { retried, skipped };
  }

  async purgeDeadLetters(select: Omit<DlqSelectRequest, 'v'>): Promise<DlqPurgeReply> {
    const { purged } = await this.#request<DlqPurgeReply>(this.names.api.dlqPurge, select);
    return { purged };
  }

  /** The reply without the envelope's `ok`. */
  #scheduleReply(r: ScheduleReply): ScheduleReply {
    return r.nextRunAt === undefined
      ? { schedule: r.schedule }
      : { schedule: r.schedule, nextRunAt: r.nextRunAt };
  }

  async cancel(id: string, reason?: string): Promise<TaskRecord> {
    const r = await this.#request<TaskReply>(
      this.names.api.cancel,
      reason === undefined ? { id } : { id, reason },
    );
    return r.task;
  }

  async wait(id: string, opts: ResultOptions = {}): Promise<TaskReply> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new JetschedError(ErrorCode.Timeout, `task ${id} did not finish in ${opts.timeoutMs} ms`);
      // short holds: a request lost with a dying connection costs at most hold + grace
      const hold = Math.max(1, Math.min(WAIT_HOLD_MS, left));
      try {
        const r = await this.#request<TaskReply>(
          this.names.api.wait,
          { id, timeoutMs: hold, includeResult: true },
          hold + WAIT_GRACE_MS,
        );
        if (isTerminal(r.task.state)) return await this.#withResult(r);
      } catch (err) {
        if (err instanceof JetschedError && err.code === ErrorCode.Timeout) continue;
        // wait is read-only: any retryable failure (a coordinator that could not read just now) is
        // worth asking again
        if (err instanceof JetschedError && err.retryable) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        // the coordinator holding the request died, or none is up right now: wait is read-only,
        // so asking again (another coordinator answers) is always safe
        if (!isTransientNatsError(err)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async result<T = unknown>(id: string, opts: ResultOptions = {}): Promise<T> {
    const { task, result } = await this.wait(id, opts);
    if (task.state === 'succeeded') return result as T;
    if (task.error) throw JetschedError.fromRecord(task.error);
    throw new JetschedError(
      ErrorCode.Cancelled,
      `task ${id} was ${task.state}${task.cancelReason ? `: ${task.cancelReason}` : ''}`,
    );
  }

  watch(id: string, opts: WatchOptions = {}): AsyncIterable<WatchEvent> {
    return { [Symbol.asyncIterator]: () => this.#watch(id, opts.signal)[Symbol.asyncIterator]() };
  }

  async *#watch(id: string, signal: AbortSignal | undefined): AsyncGenerator<WatchEvent> {
    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    // an abort ends the iteration at once, even while it waits for the next change
    const stop = (): void => wake?.();
    signal?.addEventListener('abort', stop, { once: true });
    const push = (e: WatchEvent): void => {
      queue.push(e);
      wake?.();
    };
    const progress = this.nc.subscribe(this.names.progressSubject(id), {
      callback: (err, m) => {
        if (err) return;
        try {
          push({ kind: 'progress', progress: validate('progress-message', decodeMsg(m)) });
        } catch {
          // a malformed progress notice is skipped
        }
      },
    });
    // the record, then every change of it: an ordered consumer on the task's key in the tasks bucket
    const kv = await this.#tasksKv();
    const changes = await kv.watch({ key: id });
    let seen = false;
    const pump = (async () => {
      try {
        for await (const e of changes) {
          if (e.operation !== 'PUT') continue;
          try {
            push({ kind: 'state', task: validate('task-record', decode(e.value, ContentType.Json)) });
            seen = true;
          } catch {
            // skip a record we cannot read
          }
        }
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        wake?.();
      }
    })();
    try {
      // an unknown id fails now instead of waiting for ever
      if (!seen && !(await kv.get(id))) throw new JetschedError(ErrorCode.NotFound, `no task ${id}`);
      for (;;) {
        if (signal?.aborted) return;
        const e = queue.shift();
        if (!e) {
          if (failure) throw failure;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        yield e;
        if (e.kind === 'state' && isTerminal(e.task.state)) return;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      progress.unsubscribe();
      changes.stop();
      await pump;
    }
  }

  async close(): Promise<void> {
    if (this.owned) await this.nc.drain();
  }
}

export interface WatchOptions {
  /** Stops watching: the iteration ends (and its subscriptions close) when it aborts. */
  signal?: AbortSignal;
}

export interface SubmitOptions {
  /** The submit's W3C trace context; default: the active OpenTelemetry span's. */
  traceparent?: string;
}

/** The `traceparent` header of a submit: given, or the active span's (none without one). */
function traceHeaders(opts: SubmitOptions): Record<string, string> {
  const given = opts.traceparent;
  if (given !== undefined) {
    if (isTraceparent(given)) return { [Header.Traceparent]: given };
    throw new JetschedError(ErrorCode.BadRequest, 'not a W3C traceparent: ' + String(given));
  }
  const sc = trace.getActiveSpan()?.spanContext();
  return sc && isSpanContextValid(sc) ? { [Header.Traceparent]: formatTraceparent(sc) } : {};
}

/** A client on a connection the caller made and owns (a browser's WebSocket connection, say). */
export function createClient(
  nc: NatsConnection,
  opts: Omit<ClientOptions, 'nc' | 'connection'> = {},
): Client {
  return new ClientImpl(nc, false, settings(opts));
}

/** A client that owns `nc`: closing the client drains it. */
export function ownedClient(nc: NatsConnection, opts: Omit<ClientOptions, 'nc' | 'connection'> = {}): Client {
  return new ClientImpl(nc, true, settings(opts));
}

function settings(
  opts: Omit<ClientOptions, 'nc' | 'connection'>,
): ConstructorParameters<typeof ClientImpl>[2] {
  return {
    prefix: opts.prefix ?? DEFAULT_PREFIX,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    inlinePayloadLimit: opts.inlinePayloadLimit ?? DEFAULT_INLINE_PAYLOAD_LIMIT,
  };
}
