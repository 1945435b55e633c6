/**
 * Every NATS name jetsched uses, derived from one configurable prefix. Operators see these names in
 * `nats stream ls`, `nats consumer ls` and `nats kv ls`, so they are stable and documented in
 * docs/protocol.md. Subjects use the prefix as given (`jetsched.api.task.submit`); stream and bucket
 * names cannot contain dots, so they use the upper-cased prefix (`JETSCHED_WORK`).
 */

/** Default subject prefix. */
export const DEFAULT_PREFIX = 'jetsched';
/** Default executor group. */
export const DEFAULT_GROUP = 'default';
/** Default tenant. */
export const DEFAULT_TENANT = 'default';

const PREFIX_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** A single subject token: executor groups, task ids and task types end up in subjects. */
export const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function isValidPrefix(prefix: string): boolean {
  return PREFIX_RE.test(prefix);
}

export function isValidToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

/** The full set of subjects and JetStream names for one prefix. */
export interface Names {
  readonly prefix: string;
  readonly api: {
    readonly submit: string;
    readonly submitMany: string;
    readonly get: string;
    readonly list: string;
    readonly cancel: string;
    readonly wait: string;
    /** Wildcard the coordinator's queue group subscribes to. */
    readonly all: string;
  };
  readonly queueGroups: { readonly coordinator: string };
  readonly streams: {
    readonly sched: string;
    readonly work: string;
    readonly outcomes: string;
    readonly events: string;
    readonly dlq: string;
  };
  readonly consumers: {
    readonly scheduler: string;
    readonly coordinatorOutcomes: string;
    /** Durable consumer shared by every member of an executor group. */
    executor(group: string): string;
  };
  readonly buckets: {
    readonly tasks: string;
    readonly subtasks: string;
    readonly results: string;
    readonly idempotency: string;
    /** Object store for claim-checked payloads too large to send inline. */
    readonly payloads: string;
  };
  schedSubject(taskId: string): string;
  workSubject(group: string): string;
  outcomeSubject(taskId: string): string;
  eventSubject(taskId: string, state: string): string;
  progressSubject(taskId: string): string;
  cancelSubject(taskId: string): string;
  dlqSubject(source: string): string;
  readonly subjects: {
    readonly schedAll: string;
    readonly workAll: string;
    readonly outcomesAll: string;
    readonly eventsAll: string;
    readonly progressAll: string;
    readonly cancelAll: string;
    readonly dlqAll: string;
  };
}

/** Builds every name for `prefix`. Throws on a prefix that is not a safe subject token. */
export function names(prefix: string = DEFAULT_PREFIX): Names {
  if (!isValidPrefix(prefix)) {
    throw new Error(
      `invalid prefix ${JSON.stringify(prefix)}: must match ${PREFIX_RE.source} (it becomes a subject token and part of stream names)`,
    );
  }
  const p = prefix;
  const P = prefix.toUpperCase().replace(/-/g, '_');
  return {
    prefix: p,
    api: {
      submit: `${p}.api.task.submit`,
      submitMany: `${p}.api.task.submit_many`,
      get: `${p}.api.task.get`,
      list: `${p}.api.task.list`,
      cancel: `${p}.api.task.cancel`,
      wait: `${p}.api.task.wait`,
      all: `${p}.api.>`,
    },
    queueGroups: { coordinator: `${p}-coordinator` },
    streams: {
      sched: `${P}_SCHED`,
      work: `${P}_WORK`,
      outcomes: `${P}_OUTCOMES`,
      events: `${P}_EVENTS`,
      dlq: `${P}_DLQ`,
    },
    consumers: {
      scheduler: `${p}-scheduler`,
      coordinatorOutcomes: `${p}-coordinator`,
      executor: (group) => `${p}-exec-${group}`,
    },
    buckets: {
      tasks: `${P}_tasks`,
      subtasks: `${P}_subtasks`,
      results: `${P}_results`,
      idempotency: `${P}_idempotency`,
      payloads: `${P}_payloads`,
    },
    schedSubject: (taskId) => `${p}.sched.${taskId}`,
    workSubject: (group) => `${p}.work.${group}`,
    outcomeSubject: (taskId) => `${p}.outcomes.${taskId}`,
    eventSubject: (taskId, state) => `${p}.events.${taskId}.${state}`,
    progressSubject: (taskId) => `${p}.progress.${taskId}`,
    cancelSubject: (taskId) => `${p}.control.cancel.${taskId}`,
    dlqSubject: (source) => `${p}.dlq.${source}`,
    subjects: {
      schedAll: `${p}.sched.>`,
      workAll: `${p}.work.>`,
      outcomesAll: `${p}.outcomes.>`,
      eventsAll: `${p}.events.>`,
      progressAll: `${p}.progress.>`,
      cancelAll: `${p}.control.cancel.>`,
      dlqAll: `${p}.dlq.>`,
    },
  };
}
