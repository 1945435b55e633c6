/**
 * Role processes for tests, on a given server and prefix, with logs kept for failure messages, and a
 * ledger file the fixture jobs append every handler run to (test/fixtures/jobs.mjs).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { spawnRole, type RoleName, type RoleProcess } from '@jetsched/cli';
import { connectClient, type Client } from '@jetsched/client';
import { startCluster, startServer, type NatsServer } from '@jetsched/testkit';
import { provision } from '@jetsched/runtime';
import { names } from '@jetsched/protocol';
import { Kvm } from '@nats-io/kv';
import { topologyOptions, uniquePrefix } from './stack.js';

export const JOBS = new URL('../fixtures/jobs.mjs', import.meta.url).pathname;

export interface Roles {
  all: RoleProcess[];
  logDir: string;
  start(role: RoleName, extra?: string[]): RoleProcess;
  stopAll(): Promise<void>;
  /** The last lines of every role's log, for a failing assertion's message. */
  logs(): string;
  /** The whole log of one role process (JSON lines). */
  logOf(p: RoleProcess): string;
}

export function roles(servers: string, prefix: string, env: Record<string, string> = {}): Roles {
  const logDir = mkdtempSync(join(tmpdir(), 'jetsched-roles-'));
  const all: RoleProcess[] = [];
  const files = new Map<RoleProcess, string>();
  let n = 0;
  return {
    all,
    logDir,
    start(role, extra = []) {
      const logFile = join(logDir, `${role}-${++n}.log`);
      const p = spawnRole(role, ['--server', servers, '--prefix', prefix, '--handlers', JOBS, ...extra], {
        env,
        logFile,
      });
      all.push(p);
      files.set(p, logFile);
      return p;
    },
    async stopAll() {
      await Promise.all(all.map((p) => p.stop('SIGTERM')));
      // a test leaves nothing in the temporary directory (KEEP_TEST_LOGS=1 keeps the role logs)
      if (!process.env['KEEP_TEST_LOGS']) rmSync(logDir, { recursive: true, force: true });
    },
    logOf(p) {
      try {
        return readFileSync(files.get(p) ?? '', 'utf8');
      } catch {
        return '';
      }
    },
    logs() {
      return all
        .map((p, i) => {
          try {
            return `--- ${p.role} ${i + 1}\n${readFileSync(join(logDir, `${p.role}-${i + 1}.log`), 'utf8')
              .split('\n')
              .slice(-15)
              .join('\n')}`;
          } catch {
            return '';
          }
        })
        .join('\n');
    },
  };
}

export interface ProcessCluster {
  /** The nats-server (with `nodes: 3`, the first node). */
  server: NatsServer;
  /** Every nats-server: one, or the three nodes of a cluster whose streams are R3. */
  nodes: NatsServer[];
  prefix: string;
  nc: NatsConnection;
  client: Client;
  /** The role processes started with the cluster's environment. */
  procs: Roles;
  /** Another set of role processes on the same server, prefix and ledger, with extra environment. */
  roles(env: Record<string, string>): Roles;
  /** The ledger's lines: one per handler run (`<taskId> <index> <attempt> <executor>`), and markers. */
  ledger(): string[];
  /** The scheduler process that holds a group's release lease now (its id in the release bucket). */
  leaseHolder(group?: string): Promise<RoleProcess | undefined>;
  /** Waits until `done(ledger lines)` holds; fails with the role logs after `timeoutMs`. */
  waitForLedger(done: (lines: string[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * A nats-server, a provisioned prefix, a ledger file, a client, and a place to start role processes;
 * no roles yet. `topology` shortens the consumers' ack waits or deliveries for tests of failover;
 * `nodes: 3` runs a 3-node cluster and provisions R3.
 */
export async function startProcessCluster(
  env: Record<string, string> = {},
  topology: { ackWaitMs?: number; maxDeliver?: number; nodes?: 1 | 3 } = {},
): Promise<ProcessCluster> {
  const prefix = uniquePrefix();
  const ledgerFile = join(tmpdir(), `jetsched-ledger-${prefix}.txt`);
  writeFileSync(ledgerFile, '');
  const nodes = topology.nodes === 3 ? (await startCluster(3)).servers : [await startServer()];
  const server = nodes[0] as NatsServer;
  const urls = nodes.map((s) => s.url);
  const baseEnv = { JETSCHED_LEDGER: ledgerFile, ...env };
  const sets: Roles[] = [];
  const newRoles = (extra: Record<string, string>): Roles => {
    const r = roles(urls.join(','), prefix, { ...baseEnv, ...extra });
    sets.push(r);
    return r;
  };
  const procs = newRoles({});
  const nc = await connect({ servers: urls });
  let client: Client;
  try {
    await provision(nc, topologyOptions(prefix, { ...topology, replicas: nodes.length }));
    client = await connectClient({ nc, prefix });
  } catch (err) {
    // nothing of a cluster that did not come up is left running or on disk
    await nc.close();
    await Promise.all(nodes.map((s) => s.stop({ clean: true })));
    rmSync(ledgerFile, { force: true });
    throw err;
  }
  const ledger = (): string[] =>
    readFileSync(ledgerFile, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  return {
    server,
    nodes,
    prefix,
    nc,
    client,
    procs,
    roles: newRoles,
    ledger,
    async leaseHolder(group = 'default') {
      const kv = await new Kvm(nc).open(names(prefix).buckets.release);
      const entry = await kv.get(group);
      const holder = entry?.operation === 'PUT' ? (entry.json<{ holder?: string }>().holder ?? '') : '';
      const all = sets.flatMap((s) => s.all.map((p) => ({ p, s })));
      return all.find(
        ({ p, s }) => p.role === 'scheduler' && holder && s.logOf(p).includes(`"id":"${holder}"`),
      )?.p;
    },
    async waitForLedger(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!done(ledger())) {
        if (Date.now() > deadline)
          throw new Error(`ledger condition not met in ${timeoutMs} ms\n${procs.logs()}`);
        await sleep(20);
      }
    },
    async close() {
      await Promise.all(sets.map((s) => s.stopAll()));
      await nc.close();
      await Promise.all(nodes.map((s) => s.stop({ clean: true })));
      rmSync(ledgerFile, { force: true });
    },
  };
}
