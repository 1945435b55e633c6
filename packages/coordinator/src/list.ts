/**
 * `list` from the index (./list-index.ts): reads index pages newest first, filtered by state,
 * tenant and type through their subjects, and the records of the entries it returns, many per
 * request. It reads only the pages and records of the page it returns, plus the entries of tasks
 * that have moved on since (an entry counts only while its task is still in the page's state since
 * the entry's time; entries of finished tasks never move).
 *
 * Order: most recent change first, as indexed. The cursor is a position in the index, so paging
 * neither repeats nor skips a task that keeps its state.
 */
import {
  decode,
  ErrorCode,
  JetschedError,
  validate,
  type IndexEntry,
  type ListReply,
  type ListRequest,
  type TaskRecord,
} from '@jetsched/protocol';
import { retryTransient, type Logger, type TaskStore, type Topology } from '@jetsched/runtime';
import { stateSince } from './list-index.js';
import { DEFAULT_LIST_LIMIT } from './options.js';

/** Index pages read per request at first; the window grows while it finds nothing. */
const FIRST_WINDOW = 16;
const MAX_WINDOW = 4_096;
/** Entries checked against their records per request, at most, before a short page is returned with a cursor. */
const MAX_CHECKED_PER_PAGE = 10;

interface Candidate {
  entry: IndexEntry;
  state: string;
  pageSeq: number;
  /** Entries of the page consumed once this one is (counting from the newest). */
  consumed: number;
}

export async function listTasks(
  topo: Topology,
  store: TaskStore,
  log: Logger,
  req: ListRequest,
): Promise<ListReply> {
  const limit = req.limit ?? DEFAULT_LIST_LIMIT;
  const filter = topo.names.indexSubject(req.state ?? '*', req.tenant ?? '*', req.type ?? '*');
  const stream = topo.names.streams.index;
  const cursor = req.cursor ? decodeCursor(req.cursor) : undefined;
  let upTo = cursor?.upTo ?? (await lastSeq(topo));
  const tasks: TaskRecord[] = [];
  const seen = new Set<string>();
  let window = FIRST_WINDOW;
  let checked = 0;
  let last: Candidate | undefined;
  while (tasks.length < limit && upTo >= 1) {
    const from = Math.max(1, upTo - window + 1);
    const pages = await readPages(topo, log, stream, filter, from, upTo);
    upTo = from - 1;
    if (pages.length === 0) {
      window = Math.min(MAX_WINDOW, window * 4);
      continue;
    }
    // newest page first, newest entry first; the cursor's page resumes after what was consumed
    const candidates: Candidate[] = [];
    for (const { seq, state, entries } of pages.reverse()) {
      const offset = seq === cursor?.upTo ? cursor.skip : 0;
      [...entries].reverse().forEach((entry, k) => {
        if (k >= offset) candidates.push({ entry, state, pageSeq: seq, consumed: k + 1 });
      });
    }
    for (let i = 0; i < candidates.length && tasks.length < limit;) {
      const chunk = candidates.slice(i, i + Math.max(limit - tasks.length, 16));
      const { found } = await store.getMany(chunk.map((c) => c.entry.id));
      for (const c of chunk) {
        i++;
        checked++;
        last = c;
        const cur = found.get(c.entry.id)?.record;
        if (cur && cur.state === c.state && stateSince(cur) === c.entry.at && !seen.has(c.entry.id)) {
          seen.add(c.entry.id);
          tasks.push(cur);
          if (tasks.length >= limit) break;
        }
      }
      if (checked >= limit * MAX_CHECKED_PER_PAGE) break;
    }
    if (checked >= limit * MAX_CHECKED_PER_PAGE) break;
  }
  const reply: ListReply = { tasks };
  if (last && (tasks.length >= limit || checked >= limit * MAX_CHECKED_PER_PAGE)) {
    reply.nextCursor = encodeCursor(last.pageSeq, last.consumed);
  }
  return reply;
}

async function readPages(
  topo: Topology,
  log: Logger,
  stream: string,
  filter: string,
  from: number,
  upTo: number,
): Promise<{ seq: number; state: string; entries: IndexEntry[] }[]> {
  const window = upTo - from + 1;
  const msgs = await retryTransient(async () => {
    const out: { seq: number; subject: string; data: Uint8Array }[] = [];
    try {
      const it = await topo.jsm.direct.getBatch(stream, { seq: from, next_by_subj: filter, batch: window });
      for await (const m of it) {
        if (m.seq > upTo) break;
        out.push({ seq: m.seq, subject: m.subject, data: m.data });
      }
    } catch (err) {
      // no page of this filter at or after `from`
      if ((err as { code?: unknown }).code !== 404) throw err;
    }
    return out;
  });
  // `<prefix>.index.<state>.<tenant>.<type>`; a page that cannot be read is skipped, not fatal to
  // every list that reaches it (only a process with publish rights on the index can write one)
  return msgs.flatMap((m) => {
    try {
      return [
        {
          seq: m.seq,
          state: m.subject.split('.').at(-3) ?? '',
          entries: validate('index-page', decode(m.data)).entries,
        },
      ];
    } catch (err) {
      log.warn({ err, seq: m.seq, subject: m.subject }, 'skipped an unreadable list index page');
      return [];
    }
  });
}

async function lastSeq(topo: Topology): Promise<number> {
  const info = await retryTransient(() => topo.jsm.streams.info(topo.names.streams.index));
  return info.state.last_seq;
}

function encodeCursor(pageSeq: number, consumed: number): string {
  return Buffer.from(`${pageSeq}:${consumed}`).toString('base64url');
}

/** A cursor names the page to resume in (inclusive) and how many of its newest entries are done. */
function decodeCursor(cursor: string): { upTo: number; skip: number } {
  const [a, b] = Buffer.from(cursor, 'base64url').toString().split(':');
  const upTo = Number(a);
  const skip = Number(b);
  if (!Number.isInteger(upTo) || upTo < 0 || !Number.isInteger(skip) || skip < 0) {
    throw new JetschedError(ErrorCode.BadRequest, 'invalid list cursor');
  }
  return { upTo, skip };
}
