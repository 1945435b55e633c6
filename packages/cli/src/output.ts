/** The CLI's output: JSON for scripts; for people, plain text tables, times as dates, durations. */

/** `value` as indented JSON on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Rows as text lines, each column padded to its widest cell. */
export function formatTable(header: string[], rows: string[][], indent = ''): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map(
    (r) =>
      indent +
      r
        .map((x, i) => x.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
  );
}

/** A table as text: its lines, each ended. */
export function tableText(header: string[], rows: string[][]): string {
  return formatTable(header, rows)
    .map((l) => l + '\n')
    .join('');
}

/** Label and value pairs as aligned lines, without a header. */
export function formatFields(fields: [string, string][]): string[] {
  return formatTable(['', ''], fields).slice(1);
}

/** Epoch milliseconds as an ISO date (UTC); `-` for none. */
export function formatDate(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString();
}

/** Milliseconds as a short duration: `850ms`, `12.5s`, `3.2m`, `4.0h`, `2.5d`; `-` for none. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

/** A read command's output: `value` as stored with `--json`, else as `format` shows it to people. */
export function printView<T>(json: boolean | undefined, value: T, format: (v: T) => string): void {
  if (json) printJson(value);
  else process.stdout.write(format(value));
}
