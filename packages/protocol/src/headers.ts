/** Header names carried on every jetsched message, so `nats sub` and `nats stream view` show them. */
export const Header = {
  ContentType: 'Content-Type',
  TaskId: 'Jetsched-Task-Id',
  TaskType: 'Jetsched-Task-Type',
  Subtask: 'Jetsched-Subtask',
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
