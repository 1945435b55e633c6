/**
 * The flags that describe a task, shared by `submit` and `schedule create`, and the parsers of their
 * values (splits, durations, backoffs, dates).
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { Backoff, RetryPolicy, SplitSpec } from '@jetsched/protocol';
import { nonNegativeInt } from '../args.js';

/** `items:10`, `range:0:1000:100`, `custom` or `none`. */
export function parseSplit(text: string): SplitSpec {
  const [kind, ...rest] = text.split(':');
  const nums = rest.map(Number);
  if (kind === 'none' || kind === 'custom') return { kind };
  if (kind === 'items' && nums.length === 1) return { kind, chunkSize: nums[0] ?? 0 };
  if (kind === 'range' && nums.length === 3) {
    const [start = 0, end = 0, chunkSize = 0] = nums;
    return { kind, start, end, chunkSize };
  }
  throw new Error(
    `--split: expected items:<chunk>, range:<start>:<end>:<chunk>, custom or none, got "${text}"`,
  );
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--delay 90s`, `--delay 15m`, `--delay 1500` (ms): a whole number with an optional unit. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new Error(`--${flag}: expected a duration such as 500ms, 90s, 15m, 2h or 1d, got "${text}"`);
  return Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
}

/**
 * `--backoff fixed:2s`, `--backoff exponential:500ms`, `--backoff exponential:1s:5m` (at most 5 min
 * between attempts), with `--jitter 0.2` taking up to that share off each wait.
 */
export function parseBackoff(text: string, jitter: string | undefined): Backoff {
  const [kind, delay, max, ...rest] = text.split(':');
  if ((kind !== 'fixed' && kind !== 'exponential') || !delay || rest.length > 0) {
    throw new Error(`--backoff: expected fixed:<delay> or exponential:<delay>[:<max delay>], got "${text}"`);
  }
  const b: Backoff = { kind, delayMs: parseDuration(delay, 'backoff') };
  if (max) b.maxDelayMs = parseDuration(max, 'backoff');
  if (jitter !== undefined) {
    const j = Number(jitter);
    if (!(j >= 0 && j <= 1)) throw new Error(`--jitter: expected a share between 0 and 1, got "${jitter}"`);
    b.jitter = j;
  }
  return b;
}

/** `--at 2026-12-01T09:00:00Z` (any date Date.parse reads) or epoch milliseconds. */
export function parseInstant(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms))
    throw new Error(`--at: expected an ISO date or epoch milliseconds, got "${text}"`);
  return ms;
}

/** The task flags as commander stores them. */
export interface TaskFlags {
  payload?: string;
  payloadFile?: string;
  split?: string;
  aggregate?: string;
  group?: string;
  tenant?: string;
  priority?: number;
  timeoutMs?: number;
  perMessage?: number;
  attempts?: number;
  backoff?: string;
  jitter?: string;
  deadline?: string;
  maxFailures?: number;
  maxFailureRatio?: string;
}

/** Adds the flags that describe a task to `cmd`, under their own heading in its help. */
export function addTaskOptions(cmd: Command): Command {
  return cmd
    .optionsGroup('Task options:')
    .option('-p, --payload <json>', 'the input, as JSON (over 512 KiB: claim-checked)')
    .option('--payload-file <file>', 'the input, from a JSON file')
    .option('--split <spec>', 'subtasks: items:<chunk> | range:<from>:<to>:<chunk> | custom | none')
    .addOption(new Option('--aggregate <kind>', 'the result').choices(['collect', 'reduce', 'none']))
    .option('-g, --group <group>', 'executor group that runs it (default: "default")')
    .option('--tenant <tenant>', 'tenant, for fair share and listing')
    .option('--priority <0-9>', 'priority, 9 runs first (default: 5)', nonNegativeInt)
    .option('--timeout-ms <ms>', 'timeout of each subtask', nonNegativeInt)
    .option('--per-message <k>', 'subtasks per work message', nonNegativeInt)
    .option('--attempts <n>', 'attempts in all of each subtask', nonNegativeInt)
    .option('--backoff <spec>', 'wait between attempts: fixed:1s | exponential:500ms[:5m]')
    .option('--jitter <share>', 'take up to this share (0-1) off each backoff wait')
    .option('--deadline <duration>', 'the whole task ends by then, e.g. 10m')
    .option(
      '--max-failures <n>',
      'finish with partial results despite up to n failed subtasks',
      nonNegativeInt,
    )
    .option('--max-failure-ratio <r>', 'or despite up to this share of failed subtasks')
    .optionsGroup('Options:');
}

/** The request fields of a task of `type` from its {@link TaskFlags}. */
export async function taskFromFlags(f: TaskFlags, type: string): Promise<Record<string, unknown>> {
  const req: Record<string, unknown> = { type };
  const payloadText = f.payloadFile ? await readFile(f.payloadFile, 'utf8') : f.payload;
  if (payloadText !== undefined) req['payload'] = JSON.parse(payloadText) as unknown;
  if (f.split) req['split'] = parseSplit(f.split);
  if (f.aggregate) req['aggregate'] = { kind: f.aggregate };
  if (f.group) req['group'] = f.group;
  if (f.tenant) req['tenant'] = f.tenant;
  if (f.priority !== undefined) req['priority'] = f.priority;
  if (f.timeoutMs !== undefined) req['timeoutMs'] = f.timeoutMs;
  if (f.perMessage !== undefined) req['subtasksPerMessage'] = f.perMessage;
  if (f.deadline) req['deadlineMs'] = parseDuration(f.deadline, 'deadline');
  if (f.maxFailures !== undefined || f.maxFailureRatio) {
    const fanIn: Record<string, number> = {};
    if (f.maxFailures !== undefined) fanIn['maxFailures'] = f.maxFailures;
    if (f.maxFailureRatio) fanIn['maxFailureRatio'] = Number(f.maxFailureRatio);
    req['fanIn'] = fanIn;
  }
  if (f.attempts !== undefined || f.backoff) {
    if (f.attempts === undefined) throw new Error('--backoff needs --attempts (how many attempts in all)');
    const retry: RetryPolicy = { maxAttempts: f.attempts };
    if (f.backoff) retry.backoff = parseBackoff(f.backoff, f.jitter);
    req['retry'] = retry;
  } else if (f.jitter) throw new Error('--jitter goes with --backoff');
  return req;
}
