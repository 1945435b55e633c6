/**
 * Failpoints: named places in the code where a test can make a real process fail on purpose (as
 * etcd's gofail does), to show that a guarantee holds across a crash at exactly that point. Off
 * unless `JETSCHED_FAILPOINTS` is set, e.g. `coordinator.after-record-write=crash` or
 * `scheduler.before-release=2*throw`; a disabled failpoint costs one Map lookup.
 *
 * Actions: `throw` (an Error), `crash` (SIGKILL to this process: nothing after it runs), and
 * `delay:<ms>`; `N*` in front applies it only the first N times.
 */
import { setTimeout as sleep } from 'node:timers/promises';

interface Rule {
  action: 'throw' | 'crash' | 'delay';
  ms: number;
  times: number;
}

const rules = parse(process.env['JETSCHED_FAILPOINTS'] ?? '');

function parse(spec: string): Map<string, Rule> {
  const out = new Map<string, Rule>();
  for (const part of spec
    .split(/[;,]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w.-]+)=(?:(\d+)\*)?(throw|crash|delay:(\d+))$/.exec(part);
    if (!m) throw new Error(`JETSCHED_FAILPOINTS: cannot read "${part}" (name=[N*]throw|crash|delay:MS)`);
    const [, name, times, action, ms] = m;
    out.set(name as string, {
      action: (action?.startsWith('delay') ? 'delay' : action) as Rule['action'],
      ms: Number(ms ?? 0),
      times: times === undefined ? Infinity : Number(times),
    });
  }
  return out;
}

/** Fails here if the failpoint `name` is enabled. */
export async function failpoint(name: string): Promise<void> {
  const rule = rules.get(name);
  if (!rule || rule.times <= 0) return;
  rule.times--;
  switch (rule.action) {
    case 'throw':
      throw new Error(`failpoint ${name}`);
    case 'crash':
      process.kill(process.pid, 'SIGKILL');
      await sleep(10_000); // SIGKILL is not delivered synchronously: never carry on past this point
      return;
    case 'delay':
      await sleep(rule.ms);
  }
}

/** True when any failpoint is enabled (tests assert that production runs have none). */
export function failpointsEnabled(): boolean {
  return rules.size > 0;
}
