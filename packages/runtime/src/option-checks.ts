/** Checks every role runs on its options at start: a bad value is refused with its name, not hung on. */

export function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  if (value > max) throw new Error(`${name} must be at most ${max}, got ${value}`);
  return value;
}

export function nonNegativeInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a non-negative integer, got ${String(value)}`);
  return value;
}
