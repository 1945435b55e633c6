/**
 * The list index: every write that moves a task record into a new state also adds the task to a page
 * of `<prefix>.index.<state>.<tenant>.<type>`, published in the same window as the record writes
 * (one page per state, tenant and type per window, so pages stay few at any load). An entry names the
 * task and when it entered the state; `list` (./list.ts) reads pages newest first and keeps an entry
 * only while its task is still in that state since that time. Entries of tasks that moved on cost
 * nothing but a skip, and an entry whose record write lost its compare-and-set never matches.
 */
import { encode, WIRE_VERSION, type IndexEntry, type IndexPage, type TaskRecord } from '@jetsched/protocol';
import type { OutMsg, Topology } from '@jetsched/runtime';

/** When a record entered its current state: what an index entry of that state must match. */
export function stateSince(t: TaskRecord): number {
  switch (t.state) {
    case 'delayed':
    case 'pending':
      return t.createdAt;
    case 'running':
      return t.startedAt ?? t.updatedAt;
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return t.finishedAt ?? t.updatedAt;
  }
}

export class ListIndex {
  constructor(private readonly topo: Topology) {}

  /** The page messages that index these records in their current states. */
  pages(records: readonly TaskRecord[]): OutMsg[] {
    const pages = new Map<string, IndexEntry[]>();
    for (const t of records) {
      const subject = this.topo.names.indexSubject(t.state, t.tenant, t.type);
      const list = pages.get(subject) ?? [];
      list.push({ id: t.id, at: stateSince(t) });
      pages.set(subject, list);
    }
    return [...pages].map(([subject, entries]) => {
      const page: IndexPage = { v: WIRE_VERSION, kind: 'index', entries };
      return { subject, data: encode(page) };
    });
  }

  /** Indexes records again (tasks seen late whose entry may have been lost with a crash). */
  async add(records: readonly TaskRecord[]): Promise<void> {
    if (records.length > 0) await this.topo.publisher.publishAllOrThrow(this.pages(records));
  }
}
