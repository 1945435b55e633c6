/** Runs the real `nats` CLI against a server, as an operator would. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { natsCliBin } from './tools.js';

const run = promisify(execFile);

export interface CliResult {
  stdout: string;
  stderr: string;
}

/** `nats --server <url> <args...>`; rejects with the CLI's output when it exits non-zero. */
export async function natsCli(serverUrl: string, args: string[], timeoutMs = 20_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(natsCliBin(), ['--server', serverUrl, '--no-context', ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, stderr };
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(`nats ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}
