/**
 * Runs a jetsched role as its own OS process (`node bin.js <role> ...`), the way operators deploy
 * them. `ready` resolves when the role logs that it started; its logs (JSON lines) can go to a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export type RoleName = 'coordinator' | 'scheduler' | 'executor';

export interface RoleProcessOptions {
  /** Extra environment (LOG_LEVEL and friends). */
  env?: Record<string, string>;
  /** Append the role's stderr (its logs) to this file. */
  logFile?: string;
  /** @defaultValue 30 s */
  readyTimeoutMs?: number;
}

export interface RoleProcess {
  readonly role: RoleName;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves once the role has started; rejects if it exits or times out first. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** The built CLI entry; `../dist/` resolves the same from src/ (tests) and dist/ (installed). */
export const BIN_PATH = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

export function spawnRole(role: RoleName, args: string[], opts: RoleProcessOptions = {}): RoleProcess {
  // e.g. JETSCHED_ROLE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile every role process
  const nodeArgs = (process.env['JETSCHED_ROLE_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const proc = spawn(process.execPath, [...nodeArgs, BIN_PATH, role, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'info', ...(opts.env ?? {}) },
  });
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : undefined;
  let tail = '';
  const exited = once(proc, 'exit').then(([code]) => code as number | null);
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${role} did not start within ${opts.readyTimeoutMs ?? 30_000} ms: ${tail}`)),
      opts.readyTimeoutMs ?? 30_000,
    );
    let buf = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      tail = (tail + chunk.toString()).slice(-2000);
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"msg":"started"')) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      log?.end();
      reject(new Error(`${role} exited with ${code} before it started: ${tail}`));
    });
  });
  ready.catch(() => undefined);
  return {
    role,
    proc,
    pid: proc.pid ?? -1,
    ready,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}
