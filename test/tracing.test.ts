/**
 * Trace context (issue 9): a submit's W3C `traceparent` travels with the task, in its record, every
 * work item and every outcome, so one trace id is seen on the submit, the work and the outcome
 * messages of a task, and a handler sees it in its context. With an OpenTelemetry SDK registered in
 * the process, each run is a span, a child of the submit's, named after the task type; without one
 * nothing is recorded and the context still travels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { decode, names } from '@jetsched/protocol';
import type { HandlerContext } from '@jetsched/executor';
import { startStack, type Stack } from './helpers/stack.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SUBMIT_SPAN = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SUBMIT_SPAN}-01`;

describe('trace context from submit to outcome', () => {
  let stack: Stack;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const seen: { subject: string; traces: string[]; taskIds: string[] }[] = [];

  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            traced: (input: unknown, ctx: HandlerContext) => ({
              input,
              traceparent: ctx.traceparent,
              active: trace.getActiveSpan()?.spanContext().traceId,
            }),
          },
        },
      ],
    });
    // what goes over the wire: work and outcome messages, read as any NATS client could
    const n = names(stack.prefix);
    for (const filter of [`${n.prefix}.work.>`, n.subjects.outcomesAll]) {
      stack.raw.subscribe(filter, {
        callback: (_err, m) => {
          const v = decode(m.data) as { items?: { taskId: string; trace?: string }[] };
          const items = v.items ?? [];
          seen.push({
            subject: m.subject,
            traces: items.map((i) => i.trace ?? ''),
            taskIds: items.map((i) => i.taskId),
          });
        },
      });
    }
    await stack.raw.flush();
  });
  afterAll(async () => {
    trace.disable();
    context.disable();
    await stack?.close();
  });

  it('carries the submit trace id through the record, the work and the outcome messages', async () => {
    const { id } = await stack.client.submit(
      { type: 'traced', payload: [1, 2, 3], split: { kind: 'items', chunkSize: 1 } },
      { traceparent: TRACEPARENT },
    );
    const results = await stack.client.result<{ traceparent?: string }[][]>(id, { timeoutMs: 20_000 });
    expect((await stack.client.get(id)).task.trace).toBe(TRACEPARENT);
    // no SDK here: the run's context is the submit's
    for (const r of results.flat()) expect(r.traceparent).toBe(TRACEPARENT);
    const work = seen.filter((s) => s.subject.includes('.work.') && s.taskIds.includes(id));
    const outcomes = seen.filter((s) => s.subject.includes('.outcomes.') && s.taskIds.includes(id));
    expect(work.length).toBeGreaterThan(0);
    expect(outcomes.length).toBeGreaterThan(0);
    for (const s of [...work, ...outcomes])
      s.taskIds.forEach((t, k) => t === id && expect(s.traces[k]).toMatch(new RegExp(`^00-${TRACE_ID}-`)));
  });

  it('makes each run a span under the submit, with an SDK registered', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    const { id } = await stack.client.submit(
      { type: 'traced', payload: [1, 2], split: { kind: 'items', chunkSize: 1 } },
      { traceparent: TRACEPARENT },
    );
    const results = await stack.client.result<{ traceparent?: string; active?: string }[][]>(id, {
      timeoutMs: 20_000,
    });
    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['jetsched.task_id'] === id);
    expect(spans.map((s) => s.name)).toEqual(['jetsched.run traced', 'jetsched.run traced']);
    for (const s of spans) {
      expect(s.spanContext().traceId).toBe(TRACE_ID);
      expect(s.parentSpanContext?.spanId).toBe(SUBMIT_SPAN);
    }
    // the handler runs inside its span, and sees the run's own context
    const own = new Set(spans.map((s) => `00-${TRACE_ID}-${s.spanContext().spanId}-01`));
    for (const r of results.flat()) {
      expect(r.active).toBe(TRACE_ID);
      expect(own.has(r.traceparent ?? '')).toBe(true);
    }
    const outcomeTraces = seen
      .filter((s) => s.subject.includes('.outcomes.'))
      .flatMap((s) => s.traces.filter((_t, k) => s.taskIds[k] === id));
    expect(new Set(outcomeTraces)).toEqual(own);
  });
});
