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
  /** W3C trace context of a submit request (docs/protocol.md, Trace context). */
  Traceparent: 'traceparent',
} as const;

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The `traceparent` of a span context (version 00, the sampled flag kept). */
export function formatTraceparent(sc: { traceId: string; spanId: string; traceFlags: number }): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** A W3C `traceparent` value jetsched carries (version, trace id, parent span id, flags). */
export function isTraceparent(value: unknown): value is string {
  return typeof value === 'string' && TRACEPARENT.test(value) && !/^[0-9a-f]{2}-0{32}-/.test(value);
}
export type Header = (typeof Header)[keyof typeof Header];

export const ContentType = {
  MsgPack: 'application/msgpack',
  Json: 'application/json',
} as const;
export type ContentType = (typeof ContentType)[keyof typeof ContentType];
