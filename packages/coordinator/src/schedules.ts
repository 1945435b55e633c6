/**
 * Cron and interval schedules (ADR 0020). A schedule is a definition in the config bucket
 * (`schedule.<id>`, JSON) and a server-held repeating schedule on `<p>.cron.<id>` in the delayed
 * stream (`Nats-Schedule: <cron>` or `@every <duration>`), which fires a fire notice on `<p>.due`
 * at each occurrence. The coordinator that takes a notice (./due.ts) creates the occurrence's task
 * from the template with the idempotency key `schedule:<id>:<next>`, where `next` is the
 * notice's `Nats-Schedule-Next`: the server names the following occurrence, which is the same when
 * it fires an occurrence again after a restart, so each occurrence makes one task whichever
 * coordinator takes its notice and however often.
 *
 * Served by every coordinator: create (or replace), get, list, pause, resume, delete, trigger.
 */
import type { JsMsg } from '@nats-io/jetstream';
import {
  decodeJson,
  encode,
  encodeJson,
  ErrorCode,
  isTerminal,
  JetschedError,
  checkTimeZone,
  lastCronRun,
  nextCronRun,
  parseCron,
  parseEvery,
  validate,
  WIRE_VERSION,
  type FireNotice,
  type ScheduleListReply,
  type ScheduleRecord,
  type ScheduleReply,
  type ScheduleTriggerReply,
  type SubmitRequest,
} from '@jetsched/protocol';
import {
  failpoint,
  retryTransient,
  SIGNATURE_HEADER,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';
import { checkSubmission, type Submitter } from './submit.js';

/** @defaultValue 1 minute */
export const DEFAULT_MISSED_AFTER_MS = 60_000;

/** Compare-and-set attempts at a schedule record before giving up (the notice comes back). */
const CAS_ATTEMPTS = 10;

interface Stored {
  record: ScheduleRecord;
  revision: number;
}

export class Schedules {
  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly submitter: Submitter,
    private readonly cfg: CoordinatorConfig,
  ) {}

  // ---- API --------------------------------------------------------------------------------------

  /**
   * Creates a schedule, or replaces the definition of one with the same id (what it did so far is
   * kept): safe to repeat on every deploy.
   */
  async create(body: unknown): Promise<ScheduleReply> {
    const given = typeof body === 'object' && body !== null ? body : {};
    if ('cron' in given === 'every' in given) {
      throw new JetschedError(
        ErrorCode.BadRequest,
        'a schedule needs exactly one of cron (6 fields: second minute hour day-of-month month day-of-week) and every (an interval such as 30s)',
      );
    }
    if ('timezone' in given && !('cron' in given)) {
      throw new JetschedError(
        ErrorCode.BadRequest,
        'a time zone goes with cron only: every counts from each run',
      );
    }
    const req = validate('schedule-create-request', body);
    try {
      if (req.cron !== undefined) parseCron(req.cron);
      if (req.timezone !== undefined) checkTimeZone(req.timezone);
      if (req.every !== undefined) parseEvery(req.every);
      checkSubmission(validate('submit-request', req.task), this.cfg);
    } catch (err) {
      if (err instanceof JetschedError) throw err;
      throw new JetschedError(ErrorCode.BadRequest, (err as Error).message);
    }
    const { v: _v, ...def } = req;
    const now = Date.now();
    const fresh: ScheduleRecord = {
      ...def,
      v: WIRE_VERSION,
      missed: req.missed ?? 'once',
      missedAfterMs: req.missedAfterMs ?? DEFAULT_MISSED_AFTER_MS,
      overlap: req.overlap ?? 'allow',
      paused: req.paused ?? false,
      createdAt: now,
      updatedAt: now,
      runs: 0,
      skipped: 0,
    };
    // the server's schedule first: a definition it refuses (a time zone its host lacks) is not stored
    await this.#arm(fresh);
    const record = await this.#change(req.id, (cur) => {
      if (!cur) return fresh;
      // what it ran stays; the new definition starts a new chain of occurrences (no `lastFire`), so
      // nothing before it counts as missed
      const next: ScheduleRecord = {
        ...fresh,
        createdAt: cur.createdAt,
        runs: cur.runs,
        skipped: cur.skipped,
      };
      if (cur.lastRun) next.lastRun = cur.lastRun;
      return next;
    });
    return this.#reply(record);
  }

  async get(body: unknown): Promise<ScheduleReply> {
    const { id } = validate('schedule-id-request', body);
    return this.#reply((await this.#read(id)).record);
  }

  async list(body: unknown): Promise<ScheduleListReply> {
    validate('schedule-list-request', body ?? {});
    const prefix = this.topo.names.scheduleKey('');
    const keys: string[] = [];
    for await (const k of await this.topo.kv.config.keys(`${prefix}*`)) keys.push(k);
    const found = await Promise.all(keys.map((k) => this.#readKey(k)));
    return {
      schedules: found
        .flatMap((s) => (s ? [this.#reply(s.record)] : []))
        .sort((a, b) => a.schedule.id.localeCompare(b.schedule.id)),
    };
  }

  /** Pauses or resumes: a paused schedule fires nothing; resuming starts a new chain of occurrences. */
  async pause(body: unknown, paused: boolean): Promise<ScheduleReply> {
    const { id } = validate('schedule-id-request', body);
    const record = await this.#change(id, (cur) => {
      if (!cur) throw notFound(id);
      const { lastFire: _f, ...rest } = cur;
      return { ...rest, paused, updatedAt: Date.now() };
    });
    await this.#arm(record);
    return this.#reply(record);
  }

  async delete(body: unknown): Promise<ScheduleReply> {
    const { id } = validate('schedule-id-request', body);
    const { record } = await this.#read(id);
    await this.#disarm(id);
    await this.topo.kv.config.delete(this.topo.names.scheduleKey(id));
    return { schedule: record };
  }

  /** Creates the schedule's task now, outside its occurrences (also while it is paused). */
  async trigger(body: unknown): Promise<ScheduleTriggerReply> {
    const { id } = validate('schedule-id-request', body);
    const { record } = await this.#read(id);
    const { id: taskId } = await this.submitter.submit(record.task, { schedule: { id } });
    const updated = await this.#change(id, (cur) =>
      cur ? { ...cur, runs: cur.runs + 1, lastRun: { taskId, at: Date.now() } } : undefined,
    ).catch(() => record);
    return { ...this.#reply(updated), taskId };
  }

  // ---- occurrences ------------------------------------------------------------------------------

  /**
   * An occurrence is due (its fire notice): creates its task unless the schedule is gone or paused,
   * the occurrence was missed and the policy skips it, or its previous run is still going and
   * overlaps are skipped. Throws when it could not tell (the notice comes back).
   */
  async fire(msg: JsMsg, notice: FireNotice): Promise<void> {
    const id = notice.schedule;
    const firedAt = Math.floor(msg.info.timestampNanos / 1e6);
    const nextText = msg.headers?.get('Nats-Schedule-Next');
    const next = nextText ? Date.parse(nextText) : Number.NaN;
    // The server stores a notice at its occurrence, unless it was down then: it fires once when back,
    // and the occurrence the previous notice announced is the one that was due. That link moves on
    // first, before the task is created: a crash after it leaves no stale link behind for a later
    // notice to take for a missed occurrence.
    let before: ScheduleRecord | undefined;
    let dueAt = firedAt;
    await this.#change(id, (cur) => {
      before = cur;
      if (!cur || cur.paused) return undefined;
      const occurred = occurrenceOf(cur, firedAt, next);
      dueAt = Math.min(occurred, cur.lastFire?.next ?? occurred);
      if (Number.isNaN(next) || next <= (cur.lastFire?.next ?? 0)) return undefined;
      return { ...cur, lastFire: { dueAt, next } };
    }).catch((err: unknown) => {
      if (!(err instanceof JetschedError && err.code === ErrorCode.NotFound)) throw err;
    });
    if (!before || before.paused) return; // deleted or paused since it fired
    const rec: ScheduleRecord = before;
    const now = Date.now();
    const skip = await this.#skipReason(rec, dueAt, next, now);
    if (skip) {
      this.cfg.log.info({ schedule: id, dueAt, reason: skip }, 'skipped an occurrence of a schedule');
      await this.#change(id, (cur) => cur && { ...cur, skipped: cur.skipped + 1 });
      return;
    }
    // the occurrence's key: the server's name for the following occurrence (the same when it fires
    // an occurrence again), or this notice's place in the stream when it gave none
    const occurrence = Number.isNaN(next) ? `seq${msg.seq}` : String(next);
    const { id: taskId } = await this.submitter.submit(
      { ...(rec.task as SubmitRequest), idempotencyKey: `schedule:${id}:${occurrence}` },
      { schedule: { id, occurrence: dueAt } },
    );
    // a crash here brings the notice back to another coordinator: its key finds this task
    await failpoint('coordinator.after-schedule-run');
    await this.#change(id, (cur) =>
      !cur || cur.lastRun?.taskId === taskId
        ? undefined
        : { ...cur, runs: cur.runs + 1, lastRun: { taskId, at: now, occurrence: dueAt } },
    );
  }

  /** Why an occurrence is skipped, if it is. */
  async #skipReason(
    rec: ScheduleRecord,
    dueAt: number,
    next: number,
    now: number,
  ): Promise<string | undefined> {
    if (now - dueAt > rec.missedAfterMs) {
      if (rec.missed === 'skip') return `missed: handled ${now - dueAt} ms after it was due`;
      // `once`: the latest of the missed occurrences runs, the ones a later occurrence followed do not
      if (!Number.isNaN(next) && next <= now) return 'missed, and a later occurrence is due as well';
    }
    if (rec.overlap === 'skip' && rec.lastRun) {
      const last = await this.store.get(rec.lastRun.taskId);
      if (last && !isTerminal(last.record.state)) {
        return `its previous run (task ${rec.lastRun.taskId}) is still ${last.record.state}`;
      }
    }
    return undefined;
  }

  // ---- storage ----------------------------------------------------------------------------------

  async #read(id: string): Promise<Stored> {
    const s = await this.#readKey(this.topo.names.scheduleKey(id));
    if (!s) throw notFound(id);
    return s;
  }

  async #readKey(key: string): Promise<Stored | undefined> {
    const e = await retryTransient(() => this.topo.kv.config.get(key));
    if (!e || e.operation !== 'PUT' || e.value.length === 0) return undefined;
    return { record: validate('schedule-record', decodeJson(e.value)), revision: e.revision };
  }

  /** Writes the record `change` makes of the current one (undefined: nothing), by compare-and-set. */
  async #change(
    id: string,
    change: (cur: ScheduleRecord | undefined) => ScheduleRecord | undefined,
  ): Promise<ScheduleRecord> {
    const key = this.topo.names.scheduleKey(id);
    for (let attempt = 1; ; attempt++) {
      const cur = await this.#readKey(key);
      const next = change(cur?.record);
      if (!next) {
        if (!cur) throw notFound(id);
        return cur.record;
      }
      try {
        if (cur) await this.topo.kv.config.update(key, encodeJson(next), cur.revision);
        else await this.topo.kv.config.create(key, encodeJson(next));
        return next;
      } catch (err) {
        if (attempt >= CAS_ATTEMPTS) throw err;
      }
    }
  }

  /** Stores the server-held schedule of a record (replacing the last one), or removes it when paused. */
  async #arm(rec: ScheduleRecord): Promise<void> {
    if (rec.paused) {
      await this.#disarm(rec.id);
      return;
    }
    const body: FireNotice = { v: WIRE_VERSION, kind: 'fire', schedule: rec.id };
    const data = encode(body);
    const headers: [string, string][] = [
      [SIGNATURE_HEADER, this.topo.signer.sign(data)],
      ['Nats-Schedule', rec.cron ?? `@every ${rec.every ?? ''}`],
      ['Nats-Schedule-Target', this.topo.names.dueSubject()],
    ];
    if (rec.cron !== undefined && rec.timezone !== undefined) {
      headers.push(['Nats-Schedule-Time-Zone', rec.timezone]);
    }
    const [r] = await this.topo.publisher.publishAll([
      { subject: this.topo.names.cronSubject(rec.id), data, headers },
    ]);
    if (!r?.ok) {
      throw new JetschedError(
        ErrorCode.BadRequest,
        `the server refused the schedule "${rec.id}" (${rec.cron ?? rec.every}${
          rec.timezone ? `, ${rec.timezone}` : ''
        }): ${r?.error.message ?? 'no reply'}`,
      );
    }
  }

  async #disarm(id: string): Promise<void> {
    await retryTransient(() =>
      this.topo.jsm.streams.purge(this.topo.names.streams.delayed, {
        filter: this.topo.names.cronSubject(id),
      }),
    );
  }

  #reply(record: ScheduleRecord): ScheduleReply {
    const nextRunAt = nextRun(record, Date.now());
    return nextRunAt === undefined ? { schedule: record } : { schedule: record, nextRunAt };
  }
}

/**
 * The occurrence a notice stored at `firedAt` stands for, by the schedule itself: the interval's
 * occurrence before `next`, or the cron expression's last match at or before `firedAt` (the server
 * stores a notice a little after its occurrence); `firedAt` when neither tells.
 */
function occurrenceOf(rec: ScheduleRecord, firedAt: number, next: number): number {
  if (rec.every !== undefined && !Number.isNaN(next)) {
    const at = next - parseEvery(rec.every);
    return at <= firedAt ? at : firedAt;
  }
  if (rec.cron !== undefined)
    return lastCronRun(parseCron(rec.cron), firedAt, rec.timezone ?? 'UTC') ?? firedAt;
  return firedAt;
}

/** When a schedule runs next, as far as its record tells (none while paused). */
export function nextRun(rec: ScheduleRecord, now: number): number | undefined {
  if (rec.paused) return undefined;
  if (rec.cron !== undefined) return nextCronRun(parseCron(rec.cron), now, rec.timezone ?? 'UTC');
  const every = parseEvery(rec.every ?? '');
  // the server fires an interval `every` after the schedule was stored, then after each firing
  const from = rec.lastFire?.next ?? Math.round(rec.updatedAt / 1_000) * 1_000 + every;
  return from >= now ? from : from + Math.ceil((now - from) / every) * every;
}

function notFound(id: string): JetschedError {
  return new JetschedError(ErrorCode.NotFound, `no schedule "${id}"`);
}
