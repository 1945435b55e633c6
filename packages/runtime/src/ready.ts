/**
 * Subtasks given back to the ready queue (an executor without their handler, work taken off a
 * profile with no executor left): one ready message per subject (group, the task's priority and
 * fairness key, type), so they are released again under the same policies as new work.
 */
import {
  DEFAULT_PRIORITY,
  DEFAULT_TENANT,
  encode,
  Header,
  WIRE_VERSION,
  type SchedBatch,
  type WorkItem,
} from '@jetsched/protocol';
import type { OutMsg } from './publisher.js';
import type { Topology } from './topology.js';

export function givenBackMessages(topo: Topology, group: string, items: readonly WorkItem[]): OutMsg[] {
  const bySubject = new Map<string, WorkItem[]>();
  for (const it of items) {
    const subject = topo.names.readySubject(
      group,
      it.priority ?? DEFAULT_PRIORITY,
      it.fairnessKey ?? it.tenant ?? DEFAULT_TENANT,
      it.type,
    );
    bySubject.set(subject, [...(bySubject.get(subject) ?? []), it]);
  }
  return [...bySubject].map(([subject, its]) => {
    const batch: SchedBatch = { v: WIRE_VERSION, kind: 'sched', items: its };
    return {
      subject,
      data: encode(batch),
      headers: [
        [Header.Items, String(its.length)],
        [Header.Subtasks, String(its.length)],
      ],
    };
  });
}
