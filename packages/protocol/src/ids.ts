/**
 * Identifiers. Task ids are random (nanoid, subject-safe alphabet); everything derived from a task is
 * deterministic, so a message processed twice produces the same keys and dedupe ids.
 */
import { createHash } from 'node:crypto';
import { customAlphabet } from 'nanoid';

/**
 * 21 alphanumeric characters (~125 random bits). nanoid's default alphabet has `-` and `_`; an id
 * starting with `-` reads as a flag to `nats kv get` and other CLIs operators paste ids into.
 */
const taskId = customAlphabet('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz', 21);

export function newTaskId(): string {
  return taskId();
}

/**
 * Dedupe id of a message carrying items: the same items (say, subtask `<taskId>.<index>.<attempt>`
 * keys) in the same order give the same id, so a message repeated after a crash is dropped by
 * JetStream within its duplicate window.
 */
export function itemsMsgId(kind: string, keys: readonly string[]): string {
  const h = createHash('sha256');
  for (const k of keys) h.update(k).update('\n');
  return `${kind}.${h.digest('base64url').slice(0, 32)}`;
}

/** A subtask's identity in dedupe ids and logs: `<taskId>.<index>.<attempt>`. */
export function subtaskRef(taskId: string, index: number, attempt: number): string {
  return `${taskId}.${index}.${attempt}`;
}

/** What of a work item its carrier's dedupe id depends on. */
export interface WorkItemRef {
  taskId: string;
  index: number;
  attempt: number;
  resends?: number | undefined;
}

/**
 * Dedupe id of a work message: `work.<hash of the items' <taskId>.<index>.<attempt>[.<resends>]>`.
 * A repeated release of the same items (a redelivered hand-off) is dropped as a copy; an item sent
 * again in a new message (given back, rescued, split off a redelivery) has one more `resends`, so
 * its new carrier never collides with the one it replaces, which was acked unrun. Items never sent
 * again keep the id they had before `resends` existed.
 */
export function workMsgId(items: readonly WorkItemRef[]): string {
  return itemsMsgId(
    'work',
    items.map((it) => {
      const ref = subtaskRef(it.taskId, it.index, it.attempt);
      return it.resends ? `${ref}.${it.resends}` : ref;
    }),
  );
}

/** KV key of a subtask record. */
export function subtaskKey(taskId: string, index: number): string {
  return `${taskId}.${index}`;
}

/**
 * KV key for an idempotency key. Users may send any string; the key is hashed so it is always a
 * valid KV key, and scoped by tenant so tenants cannot collide.
 */
export function idempotencyKvKey(tenant: string, key: string): string {
  return `${tenant}.${createHash('sha256').update(key).digest('base64url')}`;
}
