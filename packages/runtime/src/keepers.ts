/**
 * Keepers: one small message in each work-queue stream (hand-offs, work, outcomes) on a subject no
 * consumer reads. The file store closes a stream's last block and opens a new block file when an
 * ack removes the last message in it; at low load, when every message is acked before the next
 * arrives, that is a file created and deleted per message, about a quarter of the server's CPU per
 * task (measured in docs/benchmarks.md). A keeper in the last block keeps it from ever being empty.
 *
 * `provision` writes the keepers, and schedulers write them again every rescue round (a rollup
 * replaces the previous one), so that the block the stream writes to always holds one.
 */
import { KEEPER_ROLLUP } from './keepers-header.js';
import type { OutMsg } from './publisher.js';
import type { Names } from '@jetsched/protocol';

const KEEPER_BODY = new TextEncoder().encode(
  'keeper: no consumer reads this message; see docs/operations.md',
);

/** The messages that (re)place the keepers of the three work-queue streams. */
export function keeperMessages(n: Names): OutMsg[] {
  return (['sched', 'work', 'outcomes'] as const).map((s) => ({
    subject: n.keeperSubject(s),
    data: KEEPER_BODY,
    headers: [KEEPER_ROLLUP],
  }));
}
