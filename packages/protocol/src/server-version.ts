/**
 * The oldest nats-server jetsched runs against: 2.14 holds cron and interval message schedules
 * (2.12 the `@at` ones of delayed tasks, 2.11 per-message TTLs and the batch direct gets); the
 * project pins and tests a newer release (tools.env).
 */
export const MIN_SERVER_VERSION = '2.14.0';

function parts(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new Error(`not a server version: ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative when a < b, 0 when equal, positive when a > b (pre-release suffixes are ignored). */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
