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

/** Last token of the key a task's result is stored under, beside its record (`<taskId>.result`). */
const RESULT_KEY = 'result';

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
    /** Executors claim redelivered subtasks here before running them. */
    readonly claim: string;
    /** A group's settings: pause, fairness weights, rate and concurrency limits. */
    readonly groupGet: string;
    readonly groupSet: string;
    readonly groupPause: string;
    readonly groupResume: string;
    /** Cron and interval schedules, each creating a task from a template (ADR 0020). */
    readonly scheduleCreate: string;
    readonly scheduleGet: string;
    readonly scheduleList: string;
    readonly schedulePause: string;
    readonly scheduleResume: string;
    readonly scheduleDelete: string;
    readonly scheduleTrigger: string;
    readonly dlqList: string;
    readonly dlqGet: string;
    readonly dlqRetry: string;
    readonly dlqPurge: string;
    /** Wildcard the coordinator's queue group subscribes to. */
    readonly all: string;
  };
  readonly queueGroups: { readonly coordinator: string };
  readonly streams: {
    /** The ready queue: tasks and subtasks that may run, by group, priority, fairness key and type. */
    readonly ready: string;
    /**
     * Server-held schedules: one per delayed task, one per cron or interval schedule, and the due
     * notices they fire.
     */
    readonly delayed: string;
    readonly work: string;
    readonly outcomes: string;
    readonly stops: string;
    readonly index: string;
    readonly dlq: string;
  };
  readonly consumers: {
    readonly coordinatorOutcomes: string;
    /** Shared by the coordinators: due notices of delayed tasks. */
    readonly due: string;
    /** Durable consumer shared by every executor of one handler profile in a group. */
    executor(group: string, profile: string): string;
    /** Prefix of every executor consumer of a group. */
    executorPrefix(group: string): string;
  };
  readonly buckets: {
    /**
     * Task records (key `<taskId>`), and beside each the records written under its guard: subtask
     * records (`<taskId>.<index>`) and the task result (`<taskId>.result`).
     */
    readonly tasks: string;
    readonly idempotency: string;
    readonly executors: string;
    readonly config: string;
    /** Object store for claim-checked payloads too large to send inline. */
    readonly payloads: string;
    /** Each group's release state (key `<group>`): the lease, the cursors and the last round's intent. */
    readonly release: string;
  };
  /**
   * The ready-queue subject of work that may run: `<p>.ready.<group>.<priority>.<fairnessKey>.<type>`.
   * Hand-offs of tasks and subtasks given back go here.
   */
  readySubject(group: string, priority: number, fairnessKey: string, type: string): string;
  /** Every ready subject of one group. */
  readyGroupFilter(group: string): string;
  workSubject(group: string, profile: string): string;
  /**
   * The schedule (`Nats-Schedule: @at ...`) of a delayed task; one subject per task (ADR-51), by
   * group and type so that what is delayed can be counted per group and type.
   */
  delayedSubject(task: { id: string; group: string; type: string }): string;
  /**
   * The schedule of delayed tasks submitted together and due within the same second, by the first
   * one's id and how many it holds (a subject of its own: cancelling one task never touches it).
   */
  delayedBatchSubject(batch: { id: string; group: string; type: string; count: number }): string;
  /** The schedule of a task's deadline. */
  deadlineSubject(taskId: string): string;
  /** Where a delayed task's schedule, or a cron schedule, fires its due notice. */
  dueSubject(): string;
  /**
   * A hand-off's backstop (`<p>.backstop.<round>.<n>`): a copy of one hand-off message, scheduled to
   * fire if the coordinator that wrote it dies before the hand-off is stored (coordinator
   * `backstops.ts`); every backstop of a submit round shares `<p>.backstop.<round>.>`.
   */
  backstopSubject(round: string, n: number): string;
  backstopRoundFilter(round: string): string;
  /** The server-held schedule (cron or `@every`) of a schedule definition. */
  cronSubject(scheduleId: string): string;
  /** A schedule definition in the config bucket. */
  scheduleKey(scheduleId: string): string;
  /** Executors tell the group's releaser (core NATS) which subtasks they finished: its credit. */
  creditSubject(group: string): string;
  /** The group's releaser answers here (core request/reply) with what waits and why. */
  releaseStatusSubject(group: string): string;
  /** A role's `health` endpoint (JSON): `<p>.health.<role>.<id>`. */
  healthSubject(role: string, id: string): string;
  /**
   * Every role's `metrics` endpoint (JSON), one subject for all: each running process answers a
   * request on it with its Prometheus metrics, so one request with many replies reads the cluster.
   */
  metricsSubject(): string;
  /** Key of a group's settings in the config bucket. */
  groupSettingsKey(group: string): string;
  outcomeSubject(group: string): string;
  stopSubject(taskId: string): string;
  /** Executors confirm here (core NATS) that they know a task is stopped. */
  stoppedSubject(taskId: string): string;
  indexSubject(state: string, tenant: string, type: string): string;
  /** Every change of a task record, republished by the server from the tasks bucket. */
  eventSubject(taskId: string): string;
  progressSubject(taskId: string): string;
  startedSubject(group: string): string;
  dlqSubject(source: string): string;
  /** The KV subject a task record is stored under (the only single-token key of the tasks bucket). */
  taskRecordSubject(taskId: string): string;
  /** The KV subject of a subtask record, beside its task record in the tasks bucket. */
  subtaskRecordSubject(taskId: string, index: number): string;
  /** The KV subject of a failed attempt of a subtask that was tried again. */
  subtaskAttemptSubject(taskId: string, index: number, attempt: number): string;
  /** The schedule of a failed subtask's next attempt, held until its backoff is over. */
  retrySubject(task: { id: string; group: string; type: string }, index: number, attempt: number): string;
  /** Every retry schedule of a task (a filter). */
  retriesFilter(task: { id: string; group: string; type: string }): string;
  /** KV key of a task's result envelope in the tasks bucket. */
  resultKey(taskId: string): string;
  /** The KV subject of a task's result envelope, beside its task record in the tasks bucket. */
  resultSubject(taskId: string): string;
  readonly subjects: {
    readonly readyAll: string;
    readonly delayedAll: string;
    readonly cronAll: string;
    readonly deadlineAll: string;
    readonly backstopAll: string;
    readonly workAll: string;
    readonly outcomesAll: string;
    /** Outcomes of every group. */
    readonly outcomesGroups: string;
    readonly stopsAll: string;
    readonly indexAll: string;
    readonly eventsAll: string;
    readonly progressAll: string;
    readonly startedAll: string;
    readonly dlqAll: string;
    /**
     * Every task record's KV subject, and only those (single-token keys): the source of the events
     * republish, so that subtask records and results stored beside the records make no event.
     */
    readonly taskRecordsAll: string;
    /** Where the tasks bucket republishes a record write: {@link Names.eventSubject} of its key. */
    readonly eventsRepublish: string;
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
  const tasksBucket = `${P}_tasks`;
  return {
    prefix: p,
    api: {
      submit: `${p}.api.task.submit`,
      submitMany: `${p}.api.task.submit_many`,
      get: `${p}.api.task.get`,
      list: `${p}.api.task.list`,
      cancel: `${p}.api.task.cancel`,
      wait: `${p}.api.task.wait`,
      claim: `${p}.api.subtask.claim`,
      groupGet: `${p}.api.group.get`,
      groupSet: `${p}.api.group.set`,
      groupPause: `${p}.api.group.pause`,
      groupResume: `${p}.api.group.resume`,
      scheduleCreate: `${p}.api.schedule.create`,
      scheduleGet: `${p}.api.schedule.get`,
      scheduleList: `${p}.api.schedule.list`,
      schedulePause: `${p}.api.schedule.pause`,
      scheduleResume: `${p}.api.schedule.resume`,
      scheduleDelete: `${p}.api.schedule.delete`,
      scheduleTrigger: `${p}.api.schedule.trigger`,
      dlqList: `${p}.api.dlq.list`,
      dlqGet: `${p}.api.dlq.get`,
      dlqRetry: `${p}.api.dlq.retry`,
      dlqPurge: `${p}.api.dlq.purge`,
      all: `${p}.api.>`,
    },
    queueGroups: { coordinator: `${p}-coordinator` },
    streams: {
      ready: `${P}_READY`,
      delayed: `${P}_DELAYED`,
      work: `${P}_WORK`,
      outcomes: `${P}_OUTCOMES`,
      stops: `${P}_STOPS`,
      index: `${P}_INDEX`,
      dlq: `${P}_DLQ`,
    },
    consumers: {
      coordinatorOutcomes: `${p}-coordinator`,
      due: `${p}-due`,
      executor: (group, profile) => `${p}-exec-${group}-${profile}`,
      executorPrefix: (group) => `${p}-exec-${group}-`,
    },
    buckets: {
      tasks: tasksBucket,
      idempotency: `${P}_idempotency`,
      executors: `${P}_executors`,
      config: `${P}_config`,
      payloads: `${P}_payloads`,
      release: `${P}_release`,
    },
    readySubject: (group, priority, fairnessKey, type) =>
      `${p}.ready.${group}.${priority}.${fairnessKey}.${type}`,
    readyGroupFilter: (group) => `${p}.ready.${group}.>`,
    workSubject: (group, profile) => `${p}.work.${group}.${profile}`,
    delayedSubject: (t) => `${p}.delayed.${t.group}.${t.type}.${t.id}`,
    delayedBatchSubject: (b) => `${p}.delayed.${b.group}.${b.type}.${b.id}.${b.count}`,
    dueSubject: () => `${p}.due`,
    backstopSubject: (round, n) => `${p}.backstop.${round}.${n}`,
    backstopRoundFilter: (round) => `${p}.backstop.${round}.>`,
    deadlineSubject: (taskId) => `${p}.deadline.${taskId}`,
    cronSubject: (id) => `${p}.cron.${id}`,
    scheduleKey: (id) => `schedule.${id}`,
    creditSubject: (group) => `${p}.credit.${group}`,
    releaseStatusSubject: (group) => `${p}.status.${group}`,
    healthSubject: (role, id) => `${p}.health.${role}.${id}`,
    metricsSubject: () => `${p}.metrics`,
    groupSettingsKey: (group) => `group.${group}`,
    outcomeSubject: (group) => `${p}.outcomes.${group}`,
    stopSubject: (taskId) => `${p}.stops.${taskId}`,
    stoppedSubject: (taskId) => `${p}.stopped.${taskId}`,
    indexSubject: (state, tenant, type) => `${p}.index.${state}.${tenant}.${type}`,
    eventSubject: (taskId) => `${p}.events.${taskId}`,
    progressSubject: (taskId) => `${p}.progress.${taskId}`,
    startedSubject: (group) => `${p}.started.${group}`,
    dlqSubject: (source) => `${p}.dlq.${source}`,
    taskRecordSubject: (taskId) => `$KV.${tasksBucket}.${taskId}`,
    subtaskRecordSubject: (taskId, index) => `$KV.${tasksBucket}.${taskId}.${index}`,
    subtaskAttemptSubject: (taskId, index, attempt) => `$KV.${tasksBucket}.${taskId}.${index}.${attempt}`,
    retrySubject: (t, index, attempt) => `${p}.delayed.${t.group}.${t.type}.${t.id}.r${index}.${attempt}`,
    retriesFilter: (t) => `${p}.delayed.${t.group}.${t.type}.${t.id}.*.*`,
    resultKey: (taskId) => `${taskId}.${RESULT_KEY}`,
    resultSubject: (taskId) => `$KV.${tasksBucket}.${taskId}.${RESULT_KEY}`,
    subjects: {
      readyAll: `${p}.ready.>`,
      delayedAll: `${p}.delayed.>`,
      cronAll: `${p}.cron.>`,
      deadlineAll: `${p}.deadline.>`,
      backstopAll: `${p}.backstop.>`,
      workAll: `${p}.work.>`,
      outcomesAll: `${p}.outcomes.>`,
      outcomesGroups: `${p}.outcomes.*`,
      stopsAll: `${p}.stops.>`,
      indexAll: `${p}.index.>`,
      eventsAll: `${p}.events.>`,
      progressAll: `${p}.progress.>`,
      startedAll: `${p}.started.>`,
      dlqAll: `${p}.dlq.>`,
      taskRecordsAll: `$KV.${tasksBucket}.*`,
      eventsRepublish: `${p}.events.{{wildcard(1)}}`,
    },
  };
}
