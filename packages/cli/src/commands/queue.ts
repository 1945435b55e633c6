/**
 * `jetsched queue [--group G] [--json]`: what waits and why, per group and task type.
 *
 * - ready: the subtasks waiting in the ready queue, as the group's releaser saw them in its last
 *   round (its answer on `<p>.status.<group>`), with the oldest wait and what held them back (a
 *   pause, a rate or concurrency limit, no executor for the type, busy executors). With no releaser
 *   answering (no scheduler runs, or the group has no live executor, so none takes its lease) the
 *   ready count is unknown: the stored ready messages are shown instead.
 * - delayed: the tasks under a server-held schedule in the delayed stream, counted by the server
 *   (an ephemeral consumer's `num_pending` on `<p>.delayed.<group>.<type>.*`, one task each), plus
 *   the tasks of shared schedules (`...<type>.<firstId>.<count>`, few) summed from their subjects;
 *   never read one by one.
 *
 * Without `--group`: every group with a live executor, ready work or delayed tasks.
 */
import { nanoid } from 'nanoid';
import { AckPolicy, DeliverPolicy, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { connectClient } from '@jetsched/client';
import type { ExecutorAdvert, GroupSettings, ReleaseStatus } from '@jetsched/protocol';
import { defaultGroupSettings, readGroupSettings, type Topology } from '@jetsched/runtime';
import type { Command } from 'commander';
import { action, examples, jsonOption } from '../command.js';
import { withLiveExecutors } from '../connect.js';
import { formatDuration, formatTable, printView } from '../output.js';

/** One task type of a group: what waits of it, and why. */
export interface QueueTypeReport {
  type: string;
  /** Subtasks waiting in the ready queue (the releaser's count); null when no releaser answered. */
  ready: number | null;
  /** Ready messages stored for the type (each holds one or more tasks): shown when no releaser answered. */
  readyMessages?: number;
  /** Delayed tasks of the type. */
  delayed: number;
  /** How long the oldest ready subtask has waited (ms), as of the releaser's last round. */
  oldestMs: number | null;
  /** What held its ready work back in the releaser's last round (one entry per distinct reason). */
  heldBy: string[];
  /** The ready subjects of the type (priority, fairness key), as the releaser reported them. */
  queues: ReleaseStatus['queues'];
}

export interface QueueGroupReport {
  group: string;
  /** The releaser that answered, or null: no scheduler releases for the group now. */
  releaser: { holder: string; epoch: number; at: number } | null;
  /** A plain sentence when something is unknown or nobody releases. */
  note?: string;
  executors: number;
  settings: GroupSettings;
  ready: number | null;
  delayed: number;
  types: QueueTypeReport[];
  profiles: ReleaseStatus['profiles'];
}

export interface QueueReport {
  at: number;
  groups: QueueGroupReport[];
}

/** Evenly spaced looks into the delayed stream for group/type pairs nothing else names. */
const DELAYED_PROBES = 16;
/** The type shown for delayed tasks whose type the probes did not find. */
export const OTHER_TYPES = '(other types)';
/** A work-queue stream refuses a consumer whose filter overlaps another's (another `jetsched queue`). */
const WQ_CONSUMER_NOT_UNIQUE = 10100;

/**
 * Messages stored under `filter` in `stream`, counted by the server: the `num_pending` of an
 * ephemeral consumer made for the question and deleted at once (it never takes a message). The
 * delayed stream is a work queue, whose consumers may not overlap: when another count holds an
 * overlapping one, ask again shortly; at last, sum the stream's per-subject counts.
 */
async function countStored(jsm: JetStreamManager, stream: string, filter: string): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    let name: string | undefined;
    try {
      const ci = await jsm.consumers.add(stream, {
        name: `jetsched-queue-${nanoid(10).replace(/[^A-Za-z0-9]/g, 'x')}`,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        inactive_threshold: nanos(10_000),
        mem_storage: true,
      });
      name = ci.name;
      return ci.num_pending;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === WQ_CONSUMER_NOT_UNIQUE)) throw err;
      await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
    } finally {
      if (name !== undefined) await jsm.consumers.delete(stream, name).catch(() => undefined);
    }
  }
  const info = await jsm.streams.info(stream, { subjects_filter: filter });
  return Object.values(info.state.subjects ?? {}).reduce((s, n) => s + n, 0);
}

/**
 * `<p>.delayed.<group>.<type>.<taskId>` (or `...<taskId>.<count>`, a shared one, or
 * `...<taskId>.r<index>.<attempt>`, a retry waiting out its backoff) -> [group, type].
 */
function delayedPair(subject: string): [string, string] | undefined {
  const t = subject.split('.');
  return t.length >= 5 && t.length <= 7 && t[2] && t[3] ? [t[2], t[3]] : undefined;
}

/**
 * Delayed tasks of one group and type: the schedules of one task each, counted by the server, those
 * shared by tasks submitted together (`<p>.delayed.<group>.<type>.<firstId>.<count>`, few), summed
 * from their subjects, and retries waiting out their backoff (one subtask each). Returns the tasks
 * and the schedules (stream messages).
 */
async function delayedOf(
  topo: Topology,
  group: string,
  type: string,
): Promise<{ tasks: number; messages: number }> {
  const stream = topo.names.streams.delayed;
  const base = `${topo.names.prefix}.delayed.${group}.${type}`;
  const singles = await countStored(topo.jsm, stream, `${base}.*`);
  const shared = await topo.jsm.streams.info(stream, { subjects_filter: `${base}.*.*` });
  const retries = await countStored(topo.jsm, stream, `${base}.*.*.*`);
  let tasks = singles + retries;
  let messages = singles + retries;
  for (const [subject, count] of Object.entries(shared.state.subjects ?? {})) {
    messages += count;
    tasks += count * (Number(subject.slice(subject.lastIndexOf('.') + 1)) || 0);
  }
  return { tasks, messages };
}

/**
 * Delayed tasks by group and type (only `group`'s when given). The pairs named by executors and the
 * ready queue are counted first; when they do not add up to the total, a few direct gets spread over
 * the stream find other pairs, and what is still unaccounted for is shown as {@link OTHER_TYPES}.
 */
async function delayedCounts(
  topo: Topology,
  known: Map<string, Set<string>>,
  group?: string,
): Promise<Map<string, Map<string, number>>> {
  const n = topo.names;
  const stream = n.streams.delayed;
  const scope = group === undefined ? n.subjects.delayedAll : `${n.prefix}.delayed.${group}.>`;
  const out = new Map<string, Map<string, number>>();
  const total = await countStored(topo.jsm, stream, scope);
  if (total === 0) return out;
  // schedules (stream messages) accounted for: a shared one holds several tasks
  let counted = 0;
  const add = async (g: string, type: string): Promise<void> => {
    if (out.get(g)?.has(type)) return;
    const k = await delayedOf(topo, g, type);
    const m = out.get(g) ?? new Map<string, number>();
    m.set(type, k.tasks);
    out.set(g, m);
    counted += k.messages;
  };
  for (const [g, types] of known) {
    if (group !== undefined && g !== group) continue;
    for (const type of types) {
      if (counted >= total) break;
      await add(g, type);
    }
  }
  if (counted < total) {
    const { first_seq: first, last_seq: last } = (await topo.jsm.streams.info(stream)).state;
    // the last probe looks at the last message itself
    for (let i = 0; i <= DELAYED_PROBES && counted < total; i++) {
      const seq = first + Math.floor(((last - first) * i) / DELAYED_PROBES);
      const m = await topo.jsm.direct.getMessage(stream, { seq, next_by_subj: scope });
      const pair = m ? delayedPair(m.subject) : undefined;
      if (pair) await add(...pair);
    }
  }
  // the schedules that fired meanwhile make `counted` larger than the total at times
  if (counted < total) {
    const g = group ?? OTHER_TYPES;
    const m = out.get(g) ?? new Map<string, number>();
    m.set(OTHER_TYPES, total - counted);
    out.set(g, m);
  }
  for (const [g, m] of out) {
    for (const [type, k] of m) if (k === 0) m.delete(type);
    if (m.size === 0) out.delete(g);
  }
  return out;
}

/** Stored ready messages by group and type (`<p>.ready.<group>.<priority>.<key>.<type>`). */
async function readyMessages(topo: Topology, group?: string): Promise<Map<string, Map<string, number>>> {
  const filter = group === undefined ? topo.names.subjects.readyAll : topo.names.readyGroupFilter(group);
  const info = await topo.jsm.streams.info(topo.names.streams.ready, { subjects_filter: filter });
  const out = new Map<string, Map<string, number>>();
  for (const [subject, count] of Object.entries(info.state.subjects ?? {})) {
    const t = subject.split('.');
    const [g, type] = [t[2], t[5]];
    if (!g || !type || count === 0) continue;
    const m = out.get(g) ?? new Map<string, number>();
    m.set(type, (m.get(type) ?? 0) + count);
    out.set(g, m);
  }
  return out;
}

function addAll(into: Map<string, Set<string>>, group: string, types: Iterable<string>): void {
  const s = into.get(group) ?? new Set<string>();
  for (const t of types) s.add(t);
  into.set(group, s);
}

/** What waits, per group and type, and why. */
export async function queueReport(
  topo: Topology,
  opts: { group?: string; adverts: ExecutorAdvert[] },
): Promise<QueueReport> {
  const client = await connectClient({ nc: topo.nc, prefix: topo.names.prefix });
  const stored = await readyMessages(topo, opts.group);
  const known = new Map<string, Set<string>>();
  for (const a of opts.adverts) addAll(known, a.group, a.types);
  for (const [g, m] of stored) addAll(known, g, m.keys());
  if (opts.group !== undefined) addAll(known, opts.group, []);
  // the releasers first (they answer at once; a group without one costs the request's timeout)
  const statuses = new Map(
    await Promise.all([...known.keys()].map(async (g) => [g, await client.queueStatus(g)] as const)),
  );
  for (const [g, s] of statuses)
    if (s)
      addAll(
        known,
        g,
        s.queues.map((q) => q.type),
      );
  const delayed = await delayedCounts(topo, known, opts.group);
  for (const [g, m] of delayed) {
    // `(other types)` names no group: nobody to ask
    if (!statuses.has(g) && g !== OTHER_TYPES) statuses.set(g, await client.queueStatus(g));
    addAll(known, g, m.keys());
  }

  const groups: QueueGroupReport[] = [];
  for (const group of [...known.keys()].sort()) {
    const status = statuses.get(group);
    const executors = opts.adverts.filter((a) => a.group === group).length;
    const types: QueueTypeReport[] = [];
    for (const type of [...(known.get(group) ?? [])].sort()) {
      const queues = status?.queues.filter((q) => q.type === type) ?? [];
      const row: QueueTypeReport = {
        type,
        ready: status ? queues.reduce((s, q) => s + q.waiting, 0) : null,
        delayed: delayed.get(group)?.get(type) ?? 0,
        oldestMs: queues.reduce<number | null>(
          (o, q) => (q.oldestMs === undefined ? o : Math.max(o ?? 0, q.oldestMs)),
          null,
        ),
        heldBy: [...new Set(queues.flatMap((q) => (q.heldBy === undefined ? [] : [q.heldBy])))],
        queues,
      };
      if (!status) row.readyMessages = stored.get(group)?.get(type) ?? 0;
      // a type an executor serves with nothing waiting is left out
      if ((row.ready ?? 0) > 0 || row.delayed > 0 || (row.readyMessages ?? 0) > 0) types.push(row);
    }
    if (types.length === 0 && executors === 0 && group !== opts.group) continue;
    const report: QueueGroupReport = {
      group,
      releaser: status ? { holder: status.holder, epoch: status.epoch, at: status.at } : null,
      executors,
      settings:
        group === OTHER_TYPES ? defaultGroupSettings(group) : (await readGroupSettings(topo, group)).settings,
      ready: status ? types.reduce((s, t) => s + (t.ready ?? 0), 0) : null,
      delayed: types.reduce((s, t) => s + t.delayed, 0),
      types,
      profiles: status?.profiles ?? [],
    };
    if (group === OTHER_TYPES) {
      report.note =
        'delayed tasks whose group and type the few looks into the delayed stream did not find ' +
        '(ask with --group for one group)';
    } else if (!status) {
      report.note =
        `no scheduler releases for group "${group}" now (nobody answered on ` +
        `${topo.names.releaseStatusSubject(group)}): ` +
        (executors === 0
          ? 'it has no live executor, so no scheduler takes its lease'
          : 'is a scheduler running?') +
        '; ready work is not counted, only the stored ready messages';
    }
    groups.push(report);
  }
  return { at: Date.now(), groups };
}

/** The report as text: a line per group, then a table of its types. */
export function formatQueueReport(r: QueueReport): string {
  if (r.groups.length === 0) return 'nothing waits, and no executor is live\n';
  const out: string[] = [];
  for (const g of r.groups) {
    const s = g.settings;
    const paused = [
      ...(s.paused ? ['paused'] : []),
      ...(s.pausedTypes?.length ? [`paused types: ${s.pausedTypes.join(', ')}`] : []),
      ...(s.limits?.length ? [`limits: ${s.limits.map((l) => l.id).join(', ')}`] : []),
    ];
    out.push(
      `group ${g.group}: ` +
        (g.releaser ? `released by ${g.releaser.holder} (epoch ${g.releaser.epoch})` : 'no releaser') +
        `, ${g.executors} live executor${g.executors === 1 ? '' : 's'}` +
        (paused.length ? `; ${paused.join('; ')}` : ''),
    );
    if (g.note) out.push(`  ${g.note}`);
    const rows = g.types.map((t) => [
      t.type,
      t.ready === null ? `? (${t.readyMessages ?? 0} msgs)` : String(t.ready),
      String(t.delayed),
      formatDuration(t.oldestMs),
      t.heldBy.join('; ') || '-',
    ]);
    if (rows.length === 0) {
      out.push('  nothing waits', '');
      continue;
    }
    out.push(...formatTable(['TYPE', 'READY', 'DELAYED', 'OLDEST', 'HELD BY'], rows, '  '));
    out.push('');
  }
  return out.join('\n');
}

/** Adds `queue` to `program`. */
export function addQueueCommand(program: Command): void {
  const cmd = program
    .command('queue')
    .summary('what waits and why, per group and type')
    .description(
      "What waits and why, per group and type: ready (the releaser's count), delayed, the oldest wait, " +
        'the limit or setting holding work back.',
    )
    .option('-g, --group <group>', 'only this group');
  jsonOption(cmd, 'the report').action(
    action<{ group?: string; json?: boolean }>((o) =>
      withLiveExecutors(o, o.group, async (topo, adverts) => {
        const report = await queueReport(topo, {
          adverts,
          ...(o.group === undefined ? {} : { group: o.group }),
        });
        printView(o.json, report, formatQueueReport);
        return 0;
      }),
    ),
  );
  examples(cmd, 'jetsched queue', 'jetsched queue --group images --json');
}
