/**
 * How many items go in one message, and which. Pure and unit-tested; the scheduler packs work this
 * way, and the executor and coordinator pack outcomes and hand-offs the same way by size.
 *
 * The rule for work: while the executors have free slots for everything waiting, each subtask goes
 * alone (it starts at once, on whichever executor is free); when more waits than there are free
 * slots, items share messages in proportion to the backlog, up to what one executor can run at once.
 */

/**
 * Items per work message for `waiting` items when the executors that can run them have `freeSlots`
 * free in all, none of them running more than `maxPerMessage` at once.
 */
export function itemsPerMessage(waiting: number, freeSlots: number, maxPerMessage: number): number {
  const cap = Math.max(1, Math.floor(maxPerMessage));
  if (waiting <= Math.max(0, freeSlots)) return 1;
  return Math.min(cap, Math.max(1, Math.ceil(waiting / Math.max(1, freeSlots))));
}

/** An item to pack: its encoded size, and the most items of its task one message may hold. */
export interface PackableItem {
  size: number;
  taskId?: string | undefined;
  /** The task's `subtasksPerMessage`, when it sets one. */
  perTask?: number | undefined;
}

/**
 * Splits items, in order, into messages of at most `perMessage` items and `maxBytes` bytes (less
 * `overhead` per message), with at most `perTask` items of one task each. Returns the items'
 * indexes per message. An item larger than a message on its own still gets a message of its own:
 * the caller refuses it when publishing.
 */
export function packMessages(
  items: readonly PackableItem[],
  perMessage: number,
  maxBytes: number,
  overhead = 64,
): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = overhead;
  let perTaskCount = new Map<string, number>();
  const flush = (): void => {
    if (cur.length > 0) out.push(cur);
    cur = [];
    bytes = overhead;
    perTaskCount = new Map();
  };
  items.forEach((item, i) => {
    const n = item.taskId === undefined ? 0 : (perTaskCount.get(item.taskId) ?? 0);
    const full =
      cur.length >= Math.max(1, perMessage) ||
      (cur.length > 0 && bytes + item.size > maxBytes) ||
      (item.perTask !== undefined && n >= item.perTask);
    if (full) flush();
    cur.push(i);
    bytes += item.size;
    if (item.taskId !== undefined) perTaskCount.set(item.taskId, (perTaskCount.get(item.taskId) ?? 0) + 1);
  });
  flush();
  return out;
}
