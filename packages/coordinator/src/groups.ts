/**
 * The group API: a group's settings (pause, fairness weights, rate and concurrency limits, which
 * its releaser applies at release time; retry policies by task type, which the coordinators apply
 * when a subtask fails). Served by every coordinator; the settings live in the
 * config bucket (see runtime/src/group-settings.ts).
 */
import { validate, type GroupReply, type GroupSettings } from '@jetsched/protocol';
import { readGroupSettings, updateGroupSettings, type Topology } from '@jetsched/runtime';

export async function getGroup(topo: Topology, body: unknown): Promise<GroupReply> {
  const req = validate('group-get-request', body);
  return { settings: (await readGroupSettings(topo, req.group)).settings };
}

/** Replaces the settings: what the request leaves out is cleared. */
export async function setGroup(topo: Topology, body: unknown): Promise<GroupReply> {
  const req = validate('group-set-request', body);
  const settings = await updateGroupSettings(topo, req.group, (cur) => {
    const next: GroupSettings = { v: cur.v, group: req.group, updatedAt: cur.updatedAt };
    if (req.paused !== undefined) next.paused = req.paused;
    if (req.pausedTypes !== undefined) next.pausedTypes = [...new Set(req.pausedTypes)];
    if (req.weights !== undefined) next.weights = req.weights;
    if (req.limits !== undefined) next.limits = req.limits;
    if (req.retry !== undefined) next.retry = req.retry;
    return next;
  });
  return { settings };
}

/** Pauses (or resumes) a group, or one task type of it; the rest of the settings stay. */
export async function pauseGroup(topo: Topology, body: unknown, paused: boolean): Promise<GroupReply> {
  const req = validate('group-pause-request', body);
  const settings = await updateGroupSettings(topo, req.group, (cur) => {
    const next = { ...cur };
    if (req.type === undefined) {
      if (paused) next.paused = true;
      else delete next.paused;
      return next;
    }
    const types = new Set(cur.pausedTypes ?? []);
    if (paused) types.add(req.type);
    else types.delete(req.type);
    if (types.size > 0) next.pausedTypes = [...types].sort();
    else delete next.pausedTypes;
    return next;
  });
  return { settings };
}
