/** Header names carried on every jetsched message, so `nats sub` and `nats stream view` show them. */
export const Header = {
  ContentType: 'Content-Type',
  TaskId: 'Jetsched-Task-Id',
  TaskType: 'Jetsched-Task-Type',
  /** Subtask index; on a message carrying several subtasks, the first of them. */
  Subtask: 'Jetsched-Subtask',
  /** Number of subtasks a work or outcome message carries, when more than one may be. */
  Subtasks: 'Jetsched-Subtasks',
  Attempt: 'Jetsched-Attempt',
  Group: 'Jetsched-Group',
  /** JetStream's publish dedupe key. */
  MsgId: 'Nats-Msg-Id',
} as const;
export type Header = (typeof Header)[keyof typeof Header];

export const ContentType = {
  MsgPack: 'application/msgpack',
  Json: 'application/json',
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];
