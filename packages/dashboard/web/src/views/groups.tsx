/**
 * Executor groups: each executor (host, types, slots in use, heartbeat age), the ready queues by
 * priority, tenant (fairness key) and type with what holds them back, as the group's releaser saw
 * them in its last round, and pause and resume for the group or one task type.
 */
import { useState } from 'preact/hooks';
import type { GroupSettings, ReleaseStatus } from '@jetsched/protocol';
import { useCluster } from '../context.js';
import { ago, count, duration } from '../format.js';
import { usePoll } from '../hooks.js';
import { readDelayed, readExecutors, readGroups, type LiveExecutor } from '../reads.js';

export function Groups({ selected }: { selected: string | undefined }) {
  const { nc, names } = useCluster();
  const polled = usePoll(
    async () => {
      const executors = await readExecutors(nc, names);
      return { executors, groups: await readGroups(nc, names, executors) };
    },
    2_000,
    [nc],
  );
  const groups = polled.data?.groups ?? [];
  const group = selected ?? groups[0];
  return (
    <section>
      <h1>Groups</h1>
      {polled.error && <p class="error">{polled.error}</p>}
      <div class="tabs">
        {groups.map((g) => (
          <a class={g === group ? 'on' : ''} href={`#/groups/${encodeURIComponent(g)}`}>
            {g}
          </a>
        ))}
      </div>
      {group && (
        <Group group={group} executors={(polled.data?.executors ?? []).filter((e) => e.group === group)} />
      )}
      {polled.data && groups.length === 0 && <p class="muted">No executor has joined a group yet.</p>}
    </section>
  );
}

function Group({ group, executors }: { group: string; executors: LiveExecutor[] }) {
  const { client, nc, names } = useCluster();
  const [acting, setActing] = useState<string | undefined>(undefined);
  const status = usePoll(
    async (): Promise<{
      settings: GroupSettings;
      release: ReleaseStatus | undefined;
      delayed: Map<string, number>;
    }> => ({
      settings: await client.groupSettings(group),
      release: await client.queueStatus(group),
      delayed: await readDelayed(nc, names, group),
    }),
    2_000,
    [group],
  );
  const act = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    setActing(what);
    try {
      await fn();
      status.refresh();
    } finally {
      setActing(undefined);
    }
  };
  const settings = status.data?.settings;
  const release = status.data?.release;
  const delayed = status.data?.delayed ?? new Map<string, number>();
  const ready = new Map<string, number>();
  for (const q of release?.queues ?? []) ready.set(q.type, (ready.get(q.type) ?? 0) + q.waiting);
  const types = [
    ...new Set([...executors.flatMap((e) => e.types), ...delayed.keys(), ...ready.keys()]),
  ].sort();
  const pausedTypes = new Set(settings?.pausedTypes ?? []);
  return (
    <div data-testid={`group-${group}`}>
      <div class="bar">
        <span>
          Group <b>{group}</b>: {settings?.paused ? <b class="bad">paused</b> : 'releasing'}
          {release
            ? ` · releaser ${release.holder} (epoch ${release.epoch}, ${ago(release.at)})`
            : ' · no releaser answers'}
        </span>
        {settings &&
          (settings.paused ? (
            <button
              disabled={acting !== undefined}
              onClick={() => void act('resume', () => client.resume(group))}
            >
              Resume group
            </button>
          ) : (
            <button
              disabled={acting !== undefined}
              onClick={() => void act('pause', () => client.pause(group))}
            >
              Pause group
            </button>
          ))}
      </div>
      {status.error && <p class="error">{status.error}</p>}

      <h2>Executors</h2>
      <table data-testid="executors">
        <thead>
          <tr>
            <th>Executor</th>
            <th>Host</th>
            <th>Types</th>
            <th class="num">Slots in use</th>
            <th>Heartbeat</th>
            <th>Up since</th>
          </tr>
        </thead>
        <tbody>
          {executors.map((e) => (
            <tr class={e.stale ? 'stale' : ''}>
              <td class="mono">{e.id}</td>
              <td>
                {e.host} ({e.pid})
              </td>
              <td>{e.types.join(', ')}</td>
              <td class="num">
                {e.running} / {e.concurrency}
              </td>
              <td>
                {duration(e.heartbeatAgeMs)} ago{e.stale ? ' (stale)' : ''}
              </td>
              <td>{ago(e.startedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Task types</h2>
      <table data-testid="types">
        <thead>
          <tr>
            <th>Type</th>
            <th>State</th>
            <th class="num">Ready</th>
            <th class="num">Delayed</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...new Set([...types, ...pausedTypes])].sort().map((t) => (
            <tr data-type={t}>
              <td>{t}</td>
              <td>{pausedTypes.has(t) ? <b class="bad">paused</b> : 'releasing'}</td>
              <td class="num">{release ? count(ready.get(t) ?? 0) : '?'}</td>
              <td class="num">{count(delayed.get(t) ?? 0)}</td>
              <td>
                {pausedTypes.has(t) ? (
                  <button
                    disabled={acting !== undefined}
                    onClick={() => void act(t, () => client.resume(group, t))}
                  >
                    Resume
                  </button>
                ) : (
                  <button
                    disabled={acting !== undefined}
                    onClick={() => void act(t, () => client.pause(group, t))}
                  >
                    Pause
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Ready queues</h2>
      <table data-testid="queues">
        <thead>
          <tr>
            <th class="num">Priority</th>
            <th>Tenant / fairness key</th>
            <th>Type</th>
            <th class="num">Waiting</th>
            <th>Oldest wait</th>
            <th>Held back by</th>
          </tr>
        </thead>
        <tbody>
          {(release?.queues ?? []).map((q) => (
            <tr>
              <td class="num">{q.priority}</td>
              <td>{q.fairnessKey}</td>
              <td>{q.type}</td>
              <td class="num">{count(q.waiting)}</td>
              <td>{duration(q.oldestMs)}</td>
              <td>{q.heldBy ?? '-'}</td>
            </tr>
          ))}
          {release && release.queues.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                Nothing waits.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {release && (
        <p class="muted small">
          Handler profiles:{' '}
          {release.profiles
            .map(
              (p) => `${p.types.join('+')}: ${p.executors} executors, ${p.inFlight}/${p.capacity} in flight`,
            )
            .join(' · ')}
        </p>
      )}
    </div>
  );
}
