/** Small measurement helpers: percentiles and CPU time of processes from /proc. */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? NaN;
}

const TICKS = 100; // USER_HZ on Linux

/** User + system CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

export function pidOf(name: string): number[] {
  try {
    return execFileSync('pidof', [name], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds used by `pids` plus this process while `fn` runs, in all and per process (`self` last). */
export async function measureCpu<T>(
  pids: number[],
  fn: () => Promise<T>,
): Promise<{ value: T; cpu: number; perProcess: number[] }> {
  const before = pids.map(cpuSeconds);
  const self = process.cpuUsage();
  const value = await fn();
  const d = process.cpuUsage(self);
  const perProcess = [...pids.map((pid, i) => cpuSeconds(pid) - (before[i] ?? 0)), (d.user + d.system) / 1e6];
  return { value, cpu: perProcess.reduce((s, x) => s + x, 0), perProcess };
}

/** "coordinator 1.20 s, scheduler 0.40 s, ..." for a log line. */
export function cpuBreakdown(labels: string[], perProcess: number[]): string {
  return labels.map((l, i) => `${l} ${(perProcess[i] ?? 0).toFixed(2)} s`).join(', ');
}

/** Resident memory of a process now and at its peak (VmRSS, VmHWM of /proc/<pid>/status), MiB. */
export function memoryOf(pid: number): { rssMb: number; peakMb: number } {
  let status = '';
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return { rssMb: NaN, peakMb: NaN };
  }
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/** Jain's fairness index of `xs`: (Σx)² / (n·Σx²), 1 when all are equal, 1/n when one gets all. */
export function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const squares = xs.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? NaN : (sum * sum) / (xs.length * squares);
}
