import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkTimeZone, lastCronRun, nextCronRun, parseCron, parseEvery } from './cron.js';

const at = (iso: string): number => Date.parse(iso);
const next = (expr: string, after: string, tz?: string): string | undefined => {
  const t = nextCronRun(parseCron(expr), at(after), tz);
  return t === undefined ? undefined : new Date(t).toISOString();
};

describe('cron expressions', () => {
  it('finds the next run in UTC', () => {
    expect(next('*/5 * * * * *', '2026-11-29T12:00:03.500Z')).toBe('2026-11-29T12:00:05.000Z');
    expect(next('*/5 * * * * *', '2026-11-29T12:00:05.000Z')).toBe('2026-11-29T12:00:10.000Z');
    expect(next('0 0 * * * *', '2026-11-29T23:59:59.999Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('@yearly', '2026-11-29T00:00:00Z')).toBe('2027-01-01T00:00:00.000Z');
    expect(next('30 15 10 29 feb ?', '2026-01-01T00:00:00Z')).toBe('2028-02-29T10:15:30.000Z');
  });

  it('finds the next run in a time zone, on week days by name', () => {
    // Saturday: the next weekday 09:30 in Paris (UTC+1 in winter) is Monday
    expect(next('0 30 9 * * mon-fri', '2026-11-28T10:00:00Z', 'Europe/Paris')).toBe(
      '2026-11-30T08:30:00.000Z',
    );
    expect(next('0 0 9 * * *', '2026-11-29T12:00:00Z', 'America/New_York')).toBe('2026-11-29T14:00:00.000Z');
    expect(next('0 0 9 * * *', '2026-11-29T14:00:00Z', 'America/New_York')).toBe('2026-11-30T14:00:00.000Z');
  });

  it('skips a local time the clocks jump over, and runs a repeated one twice', () => {
    // Paris goes from 02:00 to 03:00 on 2027-03-28: 02:30 does not exist that day
    expect(next('0 30 2 * * *', '2027-03-27T12:00:00Z', 'Europe/Paris')).toBe('2027-03-29T00:30:00.000Z');
    // Monday midnight, found by leaving Saturday and the 23-hour Sunday
    expect(next('0 0 0 * * mon', '2027-03-27T12:00:00Z', 'Europe/Paris')).toBe('2027-03-28T22:00:00.000Z');
    // and from 03:00 back to 02:00 on 2026-10-25: 02:30 happens twice
    expect(next('0 30 2 * * *', '2026-10-25T00:00:00Z', 'Europe/Paris')).toBe('2026-10-25T00:30:00.000Z');
    expect(next('0 30 2 * * *', '2026-10-25T00:30:00Z', 'Europe/Paris')).toBe('2026-10-25T01:30:00.000Z');
  });

  it('matches either day field when both are restricted, both when one is *', () => {
    // the 1st of the month or a Monday
    expect(next('0 0 0 1 * mon', '2026-11-29T12:00:00Z')).toBe('2026-11-30T00:00:00.000Z');
    expect(next('0 0 0 1 * mon', '2026-11-30T12:00:00Z')).toBe('2026-12-01T00:00:00.000Z');
    // any day of the month, but a Monday
    expect(next('0 0 0 * * mon', '2026-11-30T12:00:00Z')).toBe('2026-12-07T00:00:00.000Z');
  });

  it('finds the last run at or before a time, within a window', () => {
    const c = parseCron('*/2 * * * * *');
    expect(lastCronRun(c, at('2026-11-29T12:00:03.092Z'))).toBe(at('2026-11-29T12:00:02Z'));
    expect(lastCronRun(c, at('2026-11-29T12:00:04Z'))).toBe(at('2026-11-29T12:00:04Z'));
    expect(lastCronRun(parseCron('@daily'), at('2026-11-29T12:00:00Z'))).toBeUndefined();
    expect(lastCronRun(parseCron('@daily'), at('2026-11-29T12:00:00Z'), 'UTC', 86_400_000)).toBe(
      at('2026-11-29T00:00:00Z'),
    );
  });

  it('has no next run for a date that never comes', () => {
    expect(next('0 0 0 30 2 *', '2026-01-01T00:00:00Z')).toBeUndefined();
  });

  it('refuses what the server refuses, saying which field is wrong', () => {
    for (const [expr, msg] of [
      ['* * * * *', 'expected 6 fields'],
      ['60 * * * * *', 'second "60": values must be within 0-59'],
      ['0 5-1 * * * *', 'minute "5-1": the range starts after it ends'],
      ['0 0 0 * * 7', 'day of week "7"'],
      ['0 0 0 * foo *', 'month "foo"'],
      ['*/0 * * * * *', 'a step must be at least 1'],
      ['1/2/3 * * * * *', 'too many slashes'],
    ] as const) {
      expect(() => parseCron(expr), expr).toThrow(msg);
    }
  });

  it('every run it finds matches, and no second before it does (by brute force)', () => {
    const field = (min: number, max: number): fc.Arbitrary<string> =>
      fc.oneof(
        fc.constant('*'),
        fc.integer({ min, max }).map(String),
        fc.integer({ min: 2, max: 20 }).map((s) => `*/${s}`),
        fc
          .tuple(fc.integer({ min, max }), fc.integer({ min, max }))
          .map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`),
      );
    fc.assert(
      fc.property(
        field(0, 59),
        field(0, 59),
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2028-01-01T00:00:00Z') }),
        fc.constantFrom('UTC', 'Europe/Paris', 'Asia/Kolkata', 'America/St_Johns'),
        (sec, min, after, tz) => {
          const c = parseCron(`${sec} ${min} * * * *`);
          const t = nextCronRun(c, after, tz);
          expect(t).toBeDefined();
          const matches = (ms: number): boolean => {
            const d = new Date(ms);
            // minutes and seconds are the same in these zones' offsets (whole or half hours)
            return (
              c.second.has(d.getUTCSeconds()) && c.minute.has((d.getUTCMinutes() + offsetMinutes(tz)) % 60)
            );
          };
          expect(matches(t as number)).toBe(true);
          for (let s = Math.floor(after / 1000) * 1000 + 1000; s < (t as number); s += 1000) {
            if (matches(s))
              throw new Error(
                `missed ${new Date(s).toISOString()} before ${new Date(t as number).toISOString()}`,
              );
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** The minutes part of a zone's offset (Kolkata +5:30, St John's -3:30 or -2:30). */
function offsetMinutes(tz: string): number {
  return tz === 'Asia/Kolkata' || tz === 'America/St_Johns' ? 30 : 0;
}

describe('intervals and time zones', () => {
  it('reads Go durations of at least a second', () => {
    expect(parseEvery('30s')).toBe(30_000);
    expect(parseEvery('1h30m')).toBe(5_400_000);
    expect(parseEvery('1.5s')).toBe(1_500);
    expect(() => parseEvery('500ms')).toThrow('at least 1s');
    expect(() => parseEvery('5 minutes')).toThrow('expected a duration');
    expect(() => parseEvery('')).toThrow('expected a duration');
  });

  it('knows IANA zones and refuses others', () => {
    expect(() => checkTimeZone('Europe/Paris')).not.toThrow();
    expect(() => checkTimeZone('Mars/Olympus')).toThrow('unknown');
  });
});
