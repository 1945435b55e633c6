/** Header names carried on jetsched messages, so `nats sub` and `nats stream view` show them. */
export const Header = {
  ContentType: 'Content-Type',
  /** The task a message is about; on a message carrying items of several tasks, the first of them. */
  TaskId: 'Jetsched-Task-Id',
  TaskType: 'Jetsched-Task-Type',
  /** Number of items (tasks or subtasks) a hand-off, work or outcome message carries. */
  Items: 'Jetsched-Items',
  /**
   * On a ready-queue message: the subtasks it holds, as far as known when it was written (a task of
   * a custom split counts as one). The releaser weighs queues by it before it reads them.
   */
  Subtasks: 'Jetsched-Subtasks',
  /** On a task record write: the state, tenant and type it is written with (read by the list index). */
  State: 'Jetsched-State',
  Tenant: 'Jetsched-Tenant',
  /** JetStream's publish dedupe key. */
  MsgId: 'Nats-Msg-Id',
} as const;
export type Header = (typeof Header)[keyof typeof Header];

export const ContentType = {
  MsgPack: 'application/msgpack',
  Json: 'application/json',
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];
