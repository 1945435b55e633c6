/**
 * Handler runs as OpenTelemetry spans (through `@opentelemetry/api`: without an SDK registered in
 * the process every call is a no-op). A subtask's span is a child of the task's trace context (the
 * submit's `traceparent`, carried in the record and the work item), and its own context goes back in
 * the outcome, so one trace holds the submit, every run and its recording. docs/operations.md
 * (Tracing) shows how to export spans to an OTLP collector.
 */
import {
  context,
  isSpanContextValid,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { formatTraceparent, isTraceparent, type WorkItem } from '@jetsched/protocol';

const tracer = trace.getTracer('jetsched-executor');

/** The span context a `traceparent` names (a remote parent), or undefined. */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  if (!isTraceparent(value)) return undefined;
  const [, traceId, spanId, flags] = value.split('-') as [string, string, string, string];
  const sc: SpanContext = { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/**
 * Starts the span of one handler run, under the task's trace. Returns it and the `traceparent` to
 * report (the span's own when an SDK records it, else the task's, so the trace id always travels).
 */
export function startRunSpan(item: WorkItem, executor: string): { span: Span; traceparent?: string } {
  const parent = parseTraceparent(item.trace);
  const ctx = parent ? trace.setSpanContext(context.active(), parent) : context.active();
  const span = tracer.startSpan(
    `jetsched.run ${item.type}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        'jetsched.task_id': item.taskId,
        'jetsched.task_type': item.type,
        'jetsched.subtask': item.index,
        'jetsched.attempt': item.attempt,
        'jetsched.executor': executor,
      },
    },
    ctx,
  );
  const own = span.spanContext();
  const traceparent = isSpanContextValid(own) ? formatTraceparent(own) : item.trace;
  return traceparent === undefined ? { span } : { span, traceparent };
}

/** Ends a run's span with its outcome. */
export function endRunSpan(span: Span, error: { code: string; message: string } | undefined): void {
  if (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${error.message}` });
  }
  span.end();
}
