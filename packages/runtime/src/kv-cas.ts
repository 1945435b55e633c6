/** Compare-and-set helpers over KV: the only way jetsched changes a stored record. */
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';

/** True when a KV create/update lost a compare-and-set race (wrong last sequence). */
export function isCasConflict(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/** Creates `key` if absent. Returns the new revision, or null when the key already exists. */
export async function createIfAbsent(kv: KV, key: string, value: Uint8Array): Promise<number | null> {
  try {
    return await kv.create(key, value);
  } catch (err) {
    if (isCasConflict(err)) return null;
    throw err;
  }
}

export interface CasResult<T> {
  /** The value now stored, or the current value when `change` declined. */
  value: T;
  revision: number;
  /** False when `change` returned undefined: nothing was written. */
  changed: boolean;
}

/** A value as last read, with the revision a compare-and-set must match. */
export interface Versioned<T> {
  value: T;
  revision: number;
}

/**
 * Read-modify-write under compare-and-set, retried on conflict. `change` gets the current value and
 * returns the new one, or undefined to leave it unchanged; it may run several times, so it must be
 * pure. `known` is a value the caller read already: the first attempt starts from it instead of a
 * read (a stale one just costs a conflict and a re-read). Returns null when the key does not exist.
 */
export async function casUpdate<T>(
  kv: KV,
  key: string,
  decode: (data: Uint8Array) => T,
  encode: (value: T) => Uint8Array,
  change: (current: T) => T | undefined,
  known?: Versioned<T>,
  maxAttempts = 100,
): Promise<CasResult<T> | null> {
  let start = known;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    let current: Versioned<T>;
    if (start) {
      current = start;
      start = undefined;
    } else {
      const entry = await kv.get(key);
      if (!entry || entry.operation !== 'PUT') return null;
      current = { value: decode(entry.value), revision: entry.revision };
    }
    const next = change(current.value);
    if (next === undefined) return { value: current.value, revision: current.revision, changed: false };
    try {
      const revision = await kv.update(key, encode(next), current.revision);
      return { value: next, revision, changed: true };
    } catch (err) {
      if (!isCasConflict(err)) throw err;
    }
  }
  throw new Error(`compare-and-set on ${key} kept conflicting after ${maxAttempts} attempts`);
}
