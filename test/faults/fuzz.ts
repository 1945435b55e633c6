/**
 * The fuzzer of the fault suite's scenario 9: messages an outsider with a plain NATS client could
 * send to every subject jetsched listens on, from a seeded generator (the seed is printed, so a
 * failure can be replayed): random bytes, msgpack and JSON of wrong shapes, values nested 5,000
 * deep, bodies near the server's max_payload, and outcomes for real tasks with attempts they are not
 * on. What each message is sent to, and how, is the target's business: a request expects an error
 * reply; a JetStream publish is stored (or refused by the stream); a core publish is fire and forget.
 */
import { mulberry32 } from '@jetsched/cli';
import { ContentType, encode, encodeJson, names, WIRE_VERSION } from '@jetsched/protocol';

export type Delivery = 'request' | 'jetstream' | 'core';

export interface FuzzMsg {
  subject: string;
  how: Delivery;
  data: Uint8Array;
  contentType?: ContentType;
  /** What the body is, for the report. */
  shape: string;
}

/** Where the fuzzer sends, as found on a running cluster. */
export interface FuzzTargets {
  prefix: string;
  /** The work subjects the executors' consumers read. */
  workSubjects: string[];
  /** Real tasks (running or queued) and their subtask counts: outcomes are spoofed for them. */
  realTasks: { id: string; total: number }[];
}

export function generator(seed: number, targets: FuzzTargets): { next(): FuzzMsg; rnd: () => number } {
  const rnd = mulberry32(seed);
  const n = names(targets.prefix);
  const int = (max: number): number => Math.floor(rnd() * max);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const fakeId = (): string =>
    Array.from({ length: 21 }, () =>
      pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789']),
    ).join('');

  const requestSubjects = [
    ...Object.entries(n.api)
      .filter(([k]) => k !== 'all')
      .map(([, v]) => v),
    `${targets.prefix}.api.task.nonexistent`,
  ];
  const streamSubjects = [
    n.outcomeSubject('default'),
    n.outcomeSubject(`fuzz${int(5)}`),
    ...targets.workSubjects,
    n.readySubject('default', 5, 'fuzz', 'squares'),
    n.dueSubject(),
    n.stopSubject(fakeId()),
  ];
  const coreSubjects = [
    n.startedSubject('default'),
    n.creditSubject('default'),
    n.stoppedSubject(fakeId()),
    n.progressSubject(fakeId()),
  ];

  /** A random value of a random shape, at most `depth` deep. */
  const value = (depth: number): unknown => {
    switch (depth <= 0 ? int(5) : int(8)) {
      case 0:
        return int(2) ? rnd() * 1e12 - 5e11 : int(2 ** 31) - 2 ** 30;
      case 1:
        return Array.from({ length: int(20) }, () => pick([...'aZ09 .é-_{}[]\u0000'])).join('');
      case 2:
        return pick([true, false, null]);
      case 3:
        return Uint8Array.from({ length: int(32) }, () => int(256));
      case 4:
        return pick([fakeId(), 'squares', 'default', -1, 2 ** 53 + 2, '', {}, []]);
      case 5:
      case 6:
        return Object.fromEntries(
          Array.from({ length: int(6) }, () => [
            pick(['v', 'kind', 'id', 'type', 'items', 'tasks', 'taskId', 'index', 'attempt', 'ok', 'x']),
            value(depth - 1),
          ]),
        );
      default:
        return Array.from({ length: int(6) }, () => value(depth - 1));
    }
  };
  // written out by hand: encoders recurse, and overflow their stack on values this deep
  const nestedMsgpack = (levels: number): Uint8Array =>
    Uint8Array.from([
      ...Array.from({ length: levels }, (_, i) => (i % 2 ? [0x91] : [0x81, 0xa1, 0x61])).flat(),
      0xc0,
    ]);
  const nestedJson = (levels: number): Uint8Array =>
    new TextEncoder().encode(
      Array.from({ length: levels }, (_, i) => (i % 2 ? '[' : '{"a":')).join('') +
        'null' +
        Array.from({ length: levels }, (_, i) => (i % 2 ? ']' : '}'))
          .reverse()
          .join(''),
    );

  /** A body, and what it is: `map` bodies to requests always carry a field no request has. */
  const body = (forRequest: boolean): { data: Uint8Array; contentType?: ContentType; shape: string } => {
    const r = int(100);
    if (r < 20) return { data: Uint8Array.from({ length: int(512) }, () => int(256)), shape: 'random bytes' };
    if (r < 25) return { data: new Uint8Array(), shape: 'empty' };
    if (r < 27) return { data: nestedMsgpack(5_000), shape: 'msgpack nested 5,000 deep' };
    if (r < 29)
      return {
        data: nestedJson(5_000),
        contentType: ContentType.Json,
        shape: 'JSON nested 5,000 deep',
      };
    if (r < 30) return { data: encode({ fuzz: 'x'.repeat(900 * 1024) }), shape: 'huge' };
    if (r < 40)
      return {
        data: new TextEncoder().encode(pick(['{', '{"type":', '[1,2', '"x', '{"v":1}x', 'nul'])),
        contentType: ContentType.Json,
        shape: 'broken JSON',
      };
    // (`list` reads no body, or null, as no filter: a valid request)
    const v = value(4) ?? (forRequest ? { fuzz: true } : null);
    // (bytes are a map of indexes in JSON: empty ones would be `{}`, a valid list request)
    const shaped =
      forRequest && typeof v === 'object' && v !== null && !Array.isArray(v)
        ? { ...(v instanceof Uint8Array ? { bytes: Array.from(v) } : v), fuzz: true }
        : v;
    if (r < 55)
      return {
        data: encodeJson(shaped),
        contentType: ContentType.Json,
        shape: 'JSON of a wrong shape',
      };
    return { data: encode(shaped ?? null), shape: 'msgpack of a wrong shape' };
  };

  /** An outcome for a real task, on an attempt it is not on, from a made-up executor. */
  const spoofed = (): FuzzMsg => {
    const t = pick(targets.realTasks);
    const now = Date.now();
    return {
      subject: n.outcomeSubject('default'),
      how: 'jetstream',
      shape: 'spoofed outcome (wrong attempt)',
      data: encode({
        v: WIRE_VERSION,
        kind: 'outcomes',
        from: `fuzz-${int(1000)}`,
        items: [
          {
            taskId: t.id,
            index: int(t.total),
            total: t.total,
            attempt: 2 + int(8),
            delivery: 1 + int(3),
            startedAt: now - 5,
            finishedAt: now,
            ok: true,
            result: 999_999_999,
          },
        ],
      }),
    };
  };

  return {
    rnd,
    next(): FuzzMsg {
      const r = int(100);
      if (r < 10 && targets.realTasks.length > 0) return spoofed();
      if (r < 55) return { subject: pick(requestSubjects), how: 'request', ...body(true) };
      if (r < 85) return { subject: pick(streamSubjects), how: 'jetstream', ...body(false) };
      return { subject: pick(coreSubjects), how: 'core', ...body(false) };
    },
  };
}
