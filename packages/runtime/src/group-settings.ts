/**
 * A group's settings (pause, fairness weights, rate and concurrency limits), in the config bucket
 * under `group.<group>`: written by the coordinators' group API, read by the group's releaser every
 * round or so. Changes are compare-and-set, so two operators' changes never undo each other.
 */
import { decodeJson, encodeJson, validate, WIRE_VERSION, type GroupSettings } from '@jetsched/protocol';
import { retryTransient } from './transient.js';
import type { Topology } from './topology.js';

/** The settings of a group with none written: nothing paused, equal weights, no limits. */
export function defaultGroupSettings(group: string): GroupSettings {
  return { v: WIRE_VERSION, group, updatedAt: 0 };
}

/** A group's settings as stored, with the revision to change them from (0: none stored). */
export async function readGroupSettings(
  topo: Topology,
  group: string,
): Promise<{ settings: GroupSettings; revision: number }> {
  const e = await retryTransient(() => topo.kv.config.get(topo.names.groupSettingsKey(group)));
  if (!e || e.operation !== 'PUT' || e.value.length === 0) {
    return { settings: defaultGroupSettings(group), revision: 0 };
  }
  return { settings: validate('group-settings', decodeJson(e.value)), revision: e.revision };
}

/** Changes a group's settings by compare-and-set (re-reading on a lost race); returns the new ones. */
export async function updateGroupSettings(
  topo: Topology,
  group: string,
  change: (cur: GroupSettings) => GroupSettings,
): Promise<GroupSettings> {
  for (let attempt = 1; ; attempt++) {
    const { settings, revision } = await readGroupSettings(topo, group);
    const next: GroupSettings = { ...change(settings), v: WIRE_VERSION, group, updatedAt: Date.now() };
    const key = topo.names.groupSettingsKey(group);
    try {
      if (revision === 0) await topo.kv.config.create(key, encodeJson(next));
      else await topo.kv.config.update(key, encodeJson(next), revision);
      return next;
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}
