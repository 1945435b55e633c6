/**
 * Backstops of hand-offs: how a task whose coordinator died mid-submit still gets handed on (an
 * orphan, issue 8).
 *
 * A submit round writes its task records (`pending`, or `delayed`), then hands the tasks on: ready
 * messages, delayed tasks' schedules, deadlines' schedules (./submit.ts). A coordinator that dies
 * between the two would leave records of tasks that are nowhere to run, and whose input is in no
 * stream. So the round first publishes, in the same window and ahead of the records, a backstop for
 * each hand-off message: a copy of it (subject, dedupe id, headers, body) held by the server as an
 * `@at` schedule on `<p>.backstop.<round>.<n>`, firing `orphanCheckMs` later on the due subject.
 * Once the hand-off is stored, the round purges its backstops (in the background: the reply waits
 * for neither their ack nor the purge). A backstop that fires anyway reaches a coordinator as a due
 * notice ({@link Backstops.fired}): if a task of it still waits for that hand-off (its record `pending` for a ready message, `delayed`
 * for a delay's schedule, not ended for a deadline), the copy is published again under the original
 * dedupe id. When the original was stored (the coordinator died after the hand-off and before the
 * purge) the stream drops the copy; when it was not, the copy is the hand-off. So each hand-off is
 * stored once, as long as the backstop fires within the duplicate window (2 minutes;
 * `orphanCheckMs` is at most 60 s). A hand-off that failed while its coordinator lived keeps its
 * backstops too, and is handed on when they fire.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { nanoid } from 'nanoid';
import { decode, isTerminal, kindOf, validate, type TaskRecord, type TaskState } from '@jetsched/protocol';
import {
  DEFAULT_DUPLICATE_WINDOW_MS,
  msgContentType,
  type HeaderPairs,
  type OutMsg,
  type PubResult,
  type TaskStore,
  type Topology,
} from '@jetsched/runtime';
import type { CoordinatorConfig } from './options.js';

/** Headers of a backstop: where its copy goes, and when it was made. */
export const BackstopHeader = {
  /** The hand-off message's subject: what marks a due notice as a backstop. */
  Subject: 'Jetsched-Backstop-Subject',
  MsgId: 'Jetsched-Backstop-Msg-Id',
  /** The hand-off's own `Nats-Schedule`, when it is a schedule (a delay, a deadline). */
  Schedule: 'Jetsched-Backstop-Schedule',
  /** When the backstop was made (ms since the epoch). */
  At: 'Jetsched-Backstop-At',
  /** HMAC of the four above (the body keeps the hand-off's own signature). */
  Signature: 'Jetsched-Backstop-Signature',
} as const;

const SCHEDULE = 'Nats-Schedule';
const SCHEDULE_TARGET = 'Nats-Schedule-Target';

/**
 * A backstop handled less than this before its duplicate window ends (or after) is said to risk a
 * second hand-off: the stream may no longer know the original's dedupe id by the time the copy lands.
 */
const WINDOW_MARGIN_MS = 10_000;

export class Backstops {
  /** Purges under way; {@link close} waits for them. */
  readonly #purging = new Set<Promise<void>>();

  constructor(
    private readonly topo: Topology,
    private readonly store: TaskStore,
    private readonly cfg: CoordinatorConfig,
  ) {}

  /** The backstops of one round's hand-off messages, and the round they are filed under. */
  of(handOff: readonly OutMsg[]): { round: string; msgs: OutMsg[] } {
    const round = nanoid(12);
    const at = Date.now();
    const fireAt = new Date(at + this.cfg.orphanCheckMs).toISOString();
    const msgs = handOff.map((m, n) => {
      const schedule = header(m.headers, SCHEDULE) ?? '';
      const msgId = m.msgId ?? '';
      const own: HeaderPairs = [
        [BackstopHeader.Subject, m.subject],
        [BackstopHeader.MsgId, msgId],
        [BackstopHeader.Schedule, schedule],
        [BackstopHeader.At, String(at)],
      ];
      return {
        subject: this.topo.names.backstopSubject(round, n),
        data: m.data,
        headers: [
          [SCHEDULE, `@at ${fireAt}`],
          [SCHEDULE_TARGET, this.topo.names.dueSubject()],
          ...(m.headers ?? []).filter(([k]) => k !== SCHEDULE && k !== SCHEDULE_TARGET),
          ...own,
          [BackstopHeader.Signature, this.topo.signer.sign(signedPart(own))],
        ],
      } satisfies OutMsg;
    });
    return { round, msgs };
  }

  /**
   * Once the backstops of `round` are stored (`guarding`, their publish), purges them if `handedOff`
   * (the round's hand-off is stored), in the background; a leftover one is harmless. Says so when a
   * backstop could not be stored.
   */
  dropOnceStored(round: string, guarding: Promise<PubResult[]>, handedOff: boolean): void {
    const p = guarding
      .then(async (results) => {
        const failed = results.find((r) => !r.ok);
        if (failed && !failed.ok)
          this.cfg.log.warn(
            { err: failed.error.message, round },
            'could not store a backstop of a hand-off: had this coordinator stopped before the hand-off, its tasks would have waited',
          );
        if (!handedOff || results.length === 0) return;
        await this.topo.jsm.streams.purge(this.topo.names.streams.delayed, {
          filter: this.topo.names.backstopRoundFilter(round),
        });
      })
      .catch((err: unknown) =>
        this.cfg.log.debug(
          { err, round },
          'could not purge the backstops of a hand-off; they fire and are dropped',
        ),
      )
      .finally(() => this.#purging.delete(p));
    this.#purging.add(p);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#purging]);
  }

  /**
   * A backstop fired (its notice's signature is checked already): publishes its copy of the
   * hand-off again if a task of it still waits for that hand-off. Throws when it could not; the
   * notice then comes back.
   */
  async fired(msg: JsMsg): Promise<void> {
    const h = (k: string): string => msg.headers?.get(k) ?? '';
    const own: HeaderPairs = [
      [BackstopHeader.Subject, h(BackstopHeader.Subject)],
      [BackstopHeader.MsgId, h(BackstopHeader.MsgId)],
      [BackstopHeader.Schedule, h(BackstopHeader.Schedule)],
      [BackstopHeader.At, h(BackstopHeader.At)],
    ];
    if (!this.topo.signer.verify(signedPart(own), h(BackstopHeader.Signature) || undefined)) {
      throw new Error('a backstop without a valid signature: only a coordinator makes them');
    }
    const [subject, msgId, schedule, at] = own.map(([, v]) => v) as [string, string, string, string];
    const value = decode(msg.data, msgContentType(msg));
    // what the task's record shows while it still waits for this hand-off
    const waits: (state: TaskState) => boolean =
      kindOf(value) === 'deadline'
        ? (s) => !isTerminal(s)
        : schedule
          ? (s) => s === 'delayed'
          : (s) => s === 'pending';
    const ids =
      kindOf(value) === 'deadline'
        ? [validate('deadline-notice', value).taskId]
        : (validate('sched-batch', value).tasks ?? []).map((t) => t.id);
    const { found, unreadable } = await this.store.getMany(ids);
    if (unreadable.size > 0) throw [...unreadable.values()][0] as Error;
    const waiting = ids.filter((id) => {
      const r: TaskRecord | undefined = found.get(id)?.record;
      return r !== undefined && waits(r.state);
    });
    if (waiting.length === 0) return;

    const age = Date.now() - Number(at);
    if (age > DEFAULT_DUPLICATE_WINDOW_MS - WINDOW_MARGIN_MS) {
      this.cfg.log.warn(
        { tasks: waiting, ageMs: age },
        'a hand-off backstop fired after the duplicate window: if its hand-off was stored, its tasks may run twice',
      );
    }
    const headers: HeaderPairs = [
      ...(schedule
        ? ([
            [SCHEDULE, schedule],
            [SCHEDULE_TARGET, this.topo.names.dueSubject()],
          ] as const)
        : []),
      ...handOffHeaders(msg),
    ];
    const [r] = await this.topo.publisher.publishAll([
      { subject, data: msg.data, headers, ...(msgId ? { msgId } : {}) },
    ]);
    if (!r?.ok) throw new Error(`could not hand on from a backstop: ${r?.error.message ?? 'no result'}`);
    if (r.duplicate) return;
    this.cfg.log.warn(
      { tasks: waiting, subject },
      'handed on tasks whose coordinator stopped before their hand-off was stored',
    );
  }
}

function header(headers: HeaderPairs | undefined, name: string): string | undefined {
  return headers?.find(([k]) => k === name)?.[1];
}

function signedPart(own: HeaderPairs): Uint8Array {
  return new TextEncoder().encode(own.map(([, v]) => v).join('\n'));
}

/** The hand-off's own headers as the backstop carried them (not the backstop's, not the server's). */
function handOffHeaders(msg: JsMsg): HeaderPairs {
  const out: [string, string][] = [];
  if (!msg.headers) return out;
  const skip = new Set<string>([...Object.values(BackstopHeader), SCHEDULE, SCHEDULE_TARGET]);
  for (const [k, values] of msg.headers) {
    if (skip.has(k) || k.startsWith('Nats-')) continue;
    for (const v of values) out.push([k, v]);
  }
  return out;
}
