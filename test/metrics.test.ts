/**
 * Metrics and health (issue 9): every role process serves Prometheus text on `--metrics-port`, and
 * liveness and readiness beside it; every role answers `nats micro` discovery. Scraped and parsed as
 * Prometheus text, the counters move as tasks run, the slot gauges show the executor's concurrency,
 * and a paused group shows its ready queue and what holds it back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RoleProcess } from '@jetsched/cli';
import { names } from '@jetsched/protocol';
import { freePort, natsCli } from '@jetsched/testkit';
import { startProcessCluster, type ProcessCluster } from './helpers/processes.js';

/** One sample of a Prometheus text exposition: `name{labels} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (comments, samples with labels); throws on a malformed line. */
function parsePrometheus(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    // (values as Go's ParseFloat reads them: NaN and Inf in any case; prom-client writes `Nan`)
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+0-9.eE]+|[Nn]a[Nn]|[+-]?[Ii]nf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples of `name` whose labels include `match`. */
function total(samples: Sample[], name: string, match: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);
}

describe('metrics and health of every role', () => {
  let c: ProcessCluster;
  const ports = new Map<string, number>();
  const procs = new Map<string, RoleProcess>();
  const scrape = async (role: string): Promise<Sample[]> => {
    const res = await fetch(`http://127.0.0.1:${ports.get(role)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheus(await res.text());
  };

  beforeAll(async () => {
    c = await startProcessCluster();
    for (const role of ['coordinator', 'scheduler', 'executor'] as const) {
      const port = await freePort();
      ports.set(role, port);
      procs.set(role, c.procs.start(role, ['--metrics-port', String(port), '--concurrency', '4']));
    }
    await Promise.all(c.procs.all.map((p) => p.ready));
  });
  afterAll(() => c?.close());

  it('answers liveness and readiness on the metrics port', async () => {
    for (const [role, port] of ports) {
      const live = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(live.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { actors: { role: string; ready: boolean; state: string }[] };
      expect(body.actors).toEqual([expect.objectContaining({ role, ready: true, state: 'running' })]);
    }
    expect((await fetch(`http://127.0.0.1:${ports.get('executor')}/nope`)).status).toBe(404);
  });

  it('counts submitted, finished, handler runs and releases as tasks run', async () => {
    const before = {
      submitted: total(await scrape('coordinator'), 'jetsched_tasks_submitted_total', { type: 'squares' }),
      succeeded: total(await scrape('coordinator'), 'jetsched_tasks_finished_total', {
        type: 'squares',
        state: 'succeeded',
      }),
      runs: total(await scrape('executor'), 'jetsched_handler_duration_seconds_count', { type: 'squares' }),
      released: total(await scrape('scheduler'), 'jetsched_released_subtasks_total', { group: 'default' }),
    };
    const replies = await c.client.submitMany(
      Array.from({ length: 10 }, (_, t) => ({
        type: 'squares',
        payload: [t, t + 1, t + 2, t + 3],
        split: { kind: 'items' as const, chunkSize: 1 },
        aggregate: { kind: 'reduce' as const },
      })),
    );
    for (const r of replies) if (r.ok) await c.client.result(r.id, { timeoutMs: 20_000 });
    const coord = await scrape('coordinator');
    expect(total(coord, 'jetsched_tasks_submitted_total', { type: 'squares' }) - before.submitted).toBe(10);
    expect(
      total(coord, 'jetsched_tasks_finished_total', { type: 'squares', state: 'succeeded' }) -
        before.succeeded,
    ).toBe(10);
    expect(total(coord, 'jetsched_task_duration_seconds_count', { type: 'squares' })).toBeGreaterThanOrEqual(
      10,
    );
    const exec = await scrape('executor');
    expect(total(exec, 'jetsched_handler_duration_seconds_count', { type: 'squares' }) - before.runs).toBe(
      40,
    );
    expect(
      total(exec, 'jetsched_subtasks_finished_total', { type: 'squares', outcome: 'ok' }),
    ).toBeGreaterThanOrEqual(40);
    expect(total(exec, 'jetsched_executor_slots', { group: 'default' })).toBe(4);
    expect(total(exec, 'jetsched_executor_slots_in_use', { group: 'default' })).toBe(0);
    const sched = await scrape('scheduler');
    expect(total(sched, 'jetsched_released_subtasks_total', { group: 'default' }) - before.released).toBe(40);
    // Node's own process metrics come along
    expect(total(sched, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  });

  it('shows the ready queue of a paused group, and that the pause holds it back', async () => {
    await c.client.pause('default');
    try {
      const { id } = await c.client.submit({
        type: 'squares',
        payload: [1, 2, 3, 4, 5],
        split: { kind: 'items', chunkSize: 1 },
        aggregate: { kind: 'reduce' },
        priority: 7,
      });
      let sched: Sample[] = [];
      for (let i = 0; i < 50; i++) {
        sched = await scrape('scheduler');
        if (total(sched, 'jetsched_queue_ready_subtasks', { group: 'default', priority: '7' }) === 5) break;
        await sleep(100);
      }
      expect(total(sched, 'jetsched_queue_ready_subtasks', { group: 'default', priority: '7' })).toBe(5);
      expect(
        total(sched, 'jetsched_queue_oldest_wait_seconds', { group: 'default', priority: '7' }),
      ).toBeGreaterThan(0);
      expect(
        total(sched, 'jetsched_release_held_back_total', { group: 'default', reason: 'paused' }),
      ).toBeGreaterThan(0);
      await c.client.resume('default');
      expect(await c.client.result(id, { timeoutMs: 20_000 })).toBe(55);
      for (let i = 0; i < 50; i++) {
        sched = await scrape('scheduler');
        if (total(sched, 'jetsched_queue_ready_subtasks', { group: 'default' }) === 0) break;
        await sleep(100);
      }
      expect(total(sched, 'jetsched_queue_ready_subtasks', { group: 'default' })).toBe(0);
    } finally {
      await c.client.resume('default');
    }
  });

  it('serves every metric the Grafana dashboard in deploy/ reads', async () => {
    const dashboard = readFileSync(new URL('../deploy/grafana-dashboard.json', import.meta.url), 'utf8');
    const wanted = new Set([...dashboard.matchAll(/jetsched_[a-z_]+/g)].map((m) => m[0]));
    // declared (`# TYPE`), whether or not a labelled metric has samples yet; a histogram's series too
    const served = new Set<string>();
    for (const port of ports.values()) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        served.add(name as string);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) served.add(`${name}${s}`);
      }
    }
    expect([...wanted].filter((name) => !served.has(name))).toEqual([]);
  });

  it('announces every role to `nats micro` discovery, with a health endpoint', async () => {
    const { stdout } = await natsCli(c.server.url, ['micro', 'ls', '--json']);
    const listed = JSON.parse(stdout) as { name: string; id: string; metadata?: Record<string, string> }[];
    const ours = listed.filter((s) => s.metadata?.['prefix'] === c.prefix).map((s) => s.name);
    expect(ours.sort()).toEqual(['jetsched-coordinator', 'jetsched-executor', 'jetsched-scheduler']);
    const { info } = JSON.parse(
      (await natsCli(c.server.url, ['micro', 'info', 'jetsched-executor', '--json'])).stdout,
    ) as { info: { endpoints: { name: string; subject: string }[]; metadata: Record<string, string> } };
    expect(info.metadata['group']).toBe('default');
    const health = info.endpoints.find((e) => e.name === 'health');
    expect(health?.subject).toMatch(new RegExp(`^${c.prefix}\\.health\\.executor\\.`));
    const reply = await c.nc.request(health?.subject ?? '', undefined, { timeout: 2_000 });
    expect(reply.json()).toMatchObject({ role: 'executor', ready: true, state: 'running', connected: true });
  });

  it('answers one request on `<prefix>.metrics` from every process, with its metrics as JSON', async () => {
    const subject = names(c.prefix).metricsSubject();
    const replies: {
      role: string;
      registry: string;
      metrics: { name: string; values: { value: number }[] }[];
    }[] = [];
    for await (const m of await c.nc.requestMany(subject, undefined, {
      strategy: 'stall',
      stall: 500,
      maxWait: 3_000,
    }))
      replies.push(m.json());
    expect(replies.map((r) => r.role).sort()).toEqual(['coordinator', 'executor', 'scheduler']);
    // each process its own registry, so a reader adds them up without counting one twice
    expect(new Set(replies.map((r) => r.registry)).size).toBe(3);
    const coordinator = replies.find((r) => r.role === 'coordinator');
    const submitted = coordinator?.metrics.find((m) => m.name === 'jetsched_tasks_submitted_total');
    expect(submitted?.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThan(0);
    // and it is listed beside health for `nats micro info`
    const { info } = JSON.parse(
      (await natsCli(c.server.url, ['micro', 'info', 'jetsched-coordinator', '--json'])).stdout,
    ) as { info: { endpoints: { name: string; subject: string }[] } };
    expect(info.endpoints.find((e) => e.name === 'metrics')?.subject).toBe(subject);
  });

  it('closes the metrics server when the role stops', async () => {
    const p = procs.get('executor') as RoleProcess;
    const port = ports.get('executor') as number;
    const stopping = p.stop('SIGTERM');
    expect(await stopping).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });
});
