import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BIN_PATH } from '@jetsched/cli';
import { connectClient } from '@jetsched/client';
import { names } from '@jetsched/protocol';
import { JOBS } from './helpers/processes.js';
import { uniquePrefix } from './helpers/stack.js';

interface Ready {
  ready: boolean;
  servers: string[];
  dashboard?: string;
  roles: { role: string; pid: number }[];
}

describe('the no-Docker cluster topology (jetsched cluster)', () => {
  const prefix = uniquePrefix();
  const logDir = mkdtempSync(join(tmpdir(), 'jetsched-cluster-test-'));
  const proc = spawn(
    process.execPath,
    [BIN_PATH, 'cluster', '--handlers', JOBS, '--prefix', prefix, '--log-dir', logDir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  /** The last lines of every server and role log, for a failure's message. */
  const logs = (): string =>
    readdirSync(logDir)
      .map((f) => `--- ${f}\n${readFileSync(join(logDir, f), 'utf8').split('\n').slice(-8).join('\n')}`)
      .join('\n');
  /** `p`, or an error with the logs after `ms`: a hang says where it hangs. */
  const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([
      p,
      sleep(ms).then(() => {
        throw new Error(`${what} took over ${ms} ms\n${stderr}\n${logs()}`);
      }),
    ]);
  afterAll(async () => {
    if (proc.exitCode === null) {
      // SIGTERM first: the cluster stops its servers and roles (a SIGKILL would orphan them)
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      if (!(await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]))) {
        proc.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(logDir, { recursive: true, force: true });
  });

  it('runs 3 routed nats-servers with R3 streams and every role as a process, and a task end to end', async () => {
    const lines = createInterface({ input: proc.stdout });
    const ready = await within(
      new Promise<Ready>((resolve, reject) => {
        lines.on('line', (l) => {
          if (l.startsWith('{')) resolve(JSON.parse(l) as Ready);
        });
        proc.once('exit', (code) => reject(new Error(`cluster exited ${code}: ${stderr}`)));
      }),
      25_000,
      'starting the cluster',
    );
    expect(ready.servers).toHaveLength(3);
    // and a dashboard whose page may reach any of the three over WebSocket
    const page = (await (await fetch(`${ready.dashboard}config.json`)).json()) as { servers: string[] };
    expect(page.servers).toHaveLength(3);
    for (const ws of page.servers) expect(ws).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.roles.map((r) => r.role).sort()).toEqual([
      'coordinator',
      'coordinator',
      'executor',
      'executor',
      'executor',
      'scheduler',
      'scheduler',
    ]);

    const nc = await connect({ servers: ready.servers });
    try {
      const n = names(prefix);
      const jsm = await jetstreamManager(nc);
      for (const stream of [n.streams.work, n.streams.outcomes, `KV_${n.buckets.tasks}`]) {
        const info = await jsm.streams.info(stream);
        expect(info.config.num_replicas).toBe(3);
        expect(info.cluster?.replicas ?? []).toHaveLength(2);
      }
      const client = await connectClient({ nc, prefix });
      const { id } = await client.submit({
        type: 'squares',
        payload: Array.from({ length: 100 }, (_, i) => i),
        split: { kind: 'items', chunkSize: 10 },
        aggregate: { kind: 'reduce' },
      });
      expect(await within(client.result(id, { timeoutMs: 20_000 }), 21_000, 'the task')).toBe(328_350);
    } finally {
      await nc.close();
    }
    proc.kill('SIGTERM');
    const [code] = (await within(once(proc, 'exit'), 12_000, 'stopping the cluster')) as [number | null];
    expect(code, stderr).toBe(0);
  });
});
