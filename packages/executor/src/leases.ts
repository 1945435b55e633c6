/**
 * The work messages an executor holds, each a lease that lasts the consumer's ack wait from its
 * last renewal. One timer renews them all every third of the ack wait (BullMQ's lock manager: one
 * timer, not one per message), and notes when each was last renewed.
 *
 * Why: the server accepts an ack that arrives after the ack wait, even when the message was
 * redelivered meanwhile (nats-server issue 4786). An executor that was paused (SIGSTOP, a long GC,
 * a starved event loop) past its ack wait would, on waking, report (its outcome is refused as stale,
 * ADR 0011) and then ack: deleting the message while the redelivery that replaced it still runs.
 * Should that redelivery's executor die, nothing would be left to run the subtask. So a lease not
 * renewed within the ack wait counts as lost for good (even if renewed later: the redelivery may
 * exist already), and its message is neither acked nor nak'd: the redelivery's owner reports and
 * acks, and if nobody took it, the next delivery's claim is answered `done` and acked. The margin
 * errs on the side of "lost": a lost lease costs one more delivery, a wrong ack can lose a subtask.
 */
import type { JsMsg } from '@nats-io/jetstream';

/** A lease counts as lost once this share of the ack wait passed without a renewal. */
const LOST_AFTER = 0.8;

export class Leases {
  /** Held messages: when each was last renewed (or received), and whether its lease was lost. */
  readonly #held = new Map<JsMsg, { renewed: number; lost: boolean }>();
  readonly #timer: NodeJS.Timeout;
  readonly #lostAfterMs: number;

  constructor(
    ackWaitMs: number,
    private readonly onLost: (msg: JsMsg, sinceMs: number) => void = () => undefined,
  ) {
    this.#lostAfterMs = ackWaitMs * LOST_AFTER;
    this.#timer = setInterval(() => this.#renewAll(), Math.max(500, ackWaitMs / 3));
  }

  /** A message just received: its lease runs from now. */
  hold(msg: JsMsg): void {
    this.#held.set(msg, { renewed: Date.now(), lost: false });
  }

  release(msg: JsMsg): void {
    this.#held.delete(msg);
  }

  /** True while the message is still this executor's to ack or nak (its lease was never lost). */
  owned(msg: JsMsg): boolean {
    const h = this.#held.get(msg);
    if (!h) return true;
    if (!h.lost && Date.now() - h.renewed > this.#lostAfterMs) this.#lose(msg, h);
    return !h.lost;
  }

  /** Acks the message if its lease still holds (see the file comment); returns whether it did. */
  ack(msg: JsMsg): boolean {
    if (!this.owned(msg)) return false;
    msg.ack();
    return true;
  }

  /** Naks the message if its lease still holds; a lost one comes back by itself. */
  nak(msg: JsMsg, delayMs?: number): boolean {
    if (!this.owned(msg)) return false;
    msg.nak(delayMs);
    return true;
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #renewAll(): void {
    const now = Date.now();
    for (const [m, h] of this.#held) {
      // checked before renewing: a timer that fired late (the process was paused) finds the gap
      if (!h.lost && now - h.renewed > this.#lostAfterMs) this.#lose(m, h);
      // a lost lease is not renewed: the server would count it for the redelivery's holder
      if (h.lost) continue;
      m.working();
      h.renewed = now;
    }
  }

  #lose(msg: JsMsg, h: { renewed: number; lost: boolean }): void {
    h.lost = true;
    this.onLost(msg, Date.now() - h.renewed);
  }
}
