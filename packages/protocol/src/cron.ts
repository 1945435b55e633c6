/**
 * Schedule expressions as the nats-server reads them (ADR-51 message schedules), so that a schedule
 * is checked when it is created and its next run can be shown:
 *
 * - a 6-field cron `second minute hour day-of-month month day-of-week`, in a time zone (IANA name,
 *   default UTC). A field is `*` (or `?` in the day fields), a number, a range `a-b`, a step `*\/n`,
 *   `a/n` or `a-b/n`, or a list of those; months and week days may be names (`jan`, `mon`). Week days
 *   are 0-6, 0 is Sunday. When both day fields are restricted, a day matching either runs (cron's
 *   rule); otherwise both must match. Also `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`.
 * - a fixed interval, a Go duration of at least 1 s: `30s`, `5m`, `1h30m`.
 *
 * Local times are evaluated on real instants: a time skipped by a daylight-saving change never
 * runs, one repeated runs twice (as the server does).
 */

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const FIELDS: readonly [string, Bounds][] = [
  ['second', { min: 0, max: 59 }],
  ['minute', { min: 0, max: 59 }],
  ['hour', { min: 0, max: 23 }],
  ['day of month', { min: 1, max: 31 }],
  ['month', { min: 1, max: 12, names: Object.fromEntries(MONTHS.map((m, i) => [m, i + 1])) }],
  ['day of week', { min: 0, max: 6, names: Object.fromEntries(DAYS.map((d, i) => [d, i])) }],
];

const PREDEFINED: Record<string, string> = {
  '@yearly': '0 0 0 1 1 *',
  '@annually': '0 0 0 1 1 *',
  '@monthly': '0 0 0 1 * *',
  '@weekly': '0 0 0 * * 0',
  '@daily': '0 0 0 * * *',
  '@midnight': '0 0 0 * * *',
  '@hourly': '0 0 * * * *',
};

/** A parsed cron expression: the values each field allows. */
export interface Cron {
  second: ReadonlySet<number>;
  minute: ReadonlySet<number>;
  hour: ReadonlySet<number>;
  dayOfMonth: ReadonlySet<number>;
  month: ReadonlySet<number>;
  dayOfWeek: ReadonlySet<number>;
  /** A day field given as `*` or `?`: the days then match on both fields, else on either. */
  anyDayOfMonth: boolean;
  anyDayOfWeek: boolean;
}

/** Parses a 6-field cron expression or a predefined one; throws an Error saying what is wrong. */
export function parseCron(expression: string): Cron {
  const text = PREDEFINED[expression.trim().toLowerCase()] ?? expression;
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `cron "${expression}": expected 6 fields (second minute hour day-of-month month day-of-week), got ${fields.length}`,
    );
  }
  const parsed = fields.map((f, i) => parseField(f, (FIELDS[i] as [string, Bounds])[1], expression, i));
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] = parsed.map((p) => p.values) as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  return {
    second,
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    anyDayOfMonth: (parsed[3] as { any: boolean }).any,
    anyDayOfWeek: (parsed[5] as { any: boolean }).any,
  };
}

function parseField(
  field: string,
  b: Bounds,
  expression: string,
  i: number,
): { values: Set<number>; any: boolean } {
  const what = `cron "${expression}", ${(FIELDS[i] as [string, Bounds])[0]} "${field}"`;
  const values = new Set<number>();
  let any = false;
  for (const part of field.split(',')) {
    const [range = '', stepText, extra] = part.split('/');
    if (extra !== undefined) throw new Error(`${what}: too many slashes`);
    const step = stepText === undefined ? 1 : whole(stepText, what);
    if (step < 1) throw new Error(`${what}: a step must be at least 1`);
    let lo: number;
    let hi: number;
    if (range === '*' || range === '?') {
      [lo, hi] = [b.min, b.max];
      if (step === 1) any = true;
    } else {
      const ends = range.split('-');
      if (ends.length > 2) throw new Error(`${what}: too many hyphens`);
      lo = value(ends[0] ?? '', b, what);
      hi = ends.length === 2 ? value(ends[1] ?? '', b, what) : stepText === undefined ? lo : b.max;
    }
    if (lo < b.min || hi > b.max) throw new Error(`${what}: values must be within ${b.min}-${b.max}`);
    if (lo > hi) throw new Error(`${what}: the range starts after it ends`);
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, any };
}

function value(text: string, b: Bounds, what: string): number {
  const named = b.names?.[text.toLowerCase()];
  return named ?? whole(text, what);
}

function whole(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`${what}: "${text}" is not a whole number`);
  return Number(text);
}

const DURATION_UNITS: Record<string, number> = {
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
  us: 0.001,
  µs: 0.001,
  ns: 1e-6,
};

/**
 * Milliseconds of a Go duration (`90s`, `1h30m`, `1.5h`), as the server's `@every` reads it; throws
 * when it is not one or is shorter than a second.
 */
export function parseEvery(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)/gy;
  let ms = 0;
  let at = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    ms += Number(m[1]) * (DURATION_UNITS[m[2] as string] ?? 0);
    at = re.lastIndex;
  }
  if (text.length === 0 || at !== text.length) {
    throw new Error(`every "${text}": expected a duration such as 30s, 5m or 1h30m`);
  }
  if (ms < 1_000) throw new Error(`every "${text}": an interval must be at least 1s`);
  return ms;
}

/** Throws when `timeZone` is not an IANA time zone this runtime knows (`Europe/Paris`, `UTC`). */
export function checkTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(`time zone "${timeZone}" is unknown: give an IANA name such as Europe/Paris or UTC`);
  }
}

interface Local {
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock fields of an instant in a time zone. */
function local(ms: number, timeZone: string): Local {
  if (timeZone === 'UTC') {
    const d = new Date(ms);
    return {
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      weekday: d.getUTCDay(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    };
  }
  const out: Local = { month: 0, day: 0, weekday: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === 'weekday') out.weekday = DAYS.indexOf(p.value.slice(0, 3).toLowerCase());
    else if (p.type in out) out[p.type as keyof Local] = Number(p.value);
  }
  return out;
}

function dayMatches(c: Cron, l: Local): boolean {
  const dom = c.dayOfMonth.has(l.day);
  const dow = c.dayOfWeek.has(l.weekday);
  return c.anyDayOfMonth || c.anyDayOfWeek ? dom && dow : dom || dow;
}

/** 22:00 in seconds of the day: far enough from midnight for any daylight-saving change. */
const LATE_EVENING = 22 * 3_600;

/** No run within this far ahead: the expression never matches (`0 0 0 30 2 *`). */
const SEARCH_YEARS = 5;

/**
 * The first instant after `after` (ms) that the expression matches in `timeZone`, in whole
 * seconds; undefined when none comes within five years.
 */
export function nextCronRun(c: Cron, after: number, timeZone = 'UTC'): number | undefined {
  let t = Math.floor(after / 1_000) * 1_000 + 1_000;
  const limit = after + SEARCH_YEARS * 366 * 86_400_000;
  // each step moves on to the next local day, hour, minute or second that could match, and at least a
  // second. A day that does not match is left by jumping to its 22:00, then by hours: a jump straight
  // to midnight would overshoot it when the clocks go forward that evening
  while (t <= limit) {
    const l = local(t, timeZone);
    const secondOfDay = l.hour * 3_600 + l.minute * 60 + l.second;
    const toNextHour = 3_600 - l.minute * 60 - l.second;
    if (!c.month.has(l.month) || !dayMatches(c, l)) {
      t += (secondOfDay < LATE_EVENING ? LATE_EVENING - secondOfDay : toNextHour) * 1_000;
    } else if (!c.hour.has(l.hour)) {
      t += toNextHour * 1_000;
    } else if (!c.minute.has(l.minute)) {
      t += (60 - l.second) * 1_000;
    } else if (!c.second.has(l.second)) {
      let s = l.second + 1;
      while (s < 60 && !c.second.has(s)) s++;
      t += (s - l.second) * 1_000;
    } else {
      return t;
    }
  }
  return undefined;
}

/**
 * The last instant at or before `at` that the expression matches, looking back `withinMs` at most
 * (undefined when none is that recent).
 */
export function lastCronRun(c: Cron, at: number, timeZone = 'UTC', withinMs = 60_000): number | undefined {
  let last: number | undefined;
  for (
    let t = nextCronRun(c, at - withinMs - 1, timeZone);
    t !== undefined && t <= at;
    t = nextCronRun(c, t, timeZone)
  ) {
    last = t;
  }
  return last;
}
