/**
 * Outcomes nobody can forge (issue 10, ADR 0026): an outcome or failure changes a task only with the
 * token of the attempt it names, which the releasing scheduler made with the cluster's key. An
 * outsider's outcome for the current attempt, from a made-up executor, succeeding or failing it,
 * and task failures without a token or with a wrong one, are all dead-lettered as FORBIDDEN; the real
 * task then ends with its real result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { encode, names, WIRE_VERSION, type OutcomeBatch, type OutcomeItem } from '@jetsched/protocol';
import { deadLetters } from './helpers/dead-letters.js';
import { startStack, type Stack } from './helpers/stack.js';

describe('attempt tokens', () => {
  let stack: Stack;
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  let running: () => void = () => undefined;
  const started = new Promise<void>((r) => (running = r));

  beforeAll(async () => {
    stack = await startStack({
      executors: [
        {
          handlers: {
            real: async (input) => {
              running();
              await gate;
              return { real: input };
            },
          },
        },
      ],
    });
  });
  afterAll(() => stack?.close());

  it('refuses outcomes and failures without the attempt token; the task ends with its real result', async () => {
    const n = names(stack.prefix);
    const js = jetstream(stack.raw);
    const { id } = await stack.client.submit({ type: 'real', payload: 'input' });
    await started;
    const now = Date.now();
    const item = (ok: boolean, token?: string): OutcomeItem => ({
      taskId: id,
      index: 0,
      total: 1,
      attempt: 1, // the current attempt
      delivery: 1,
      startedAt: now,
      finishedAt: now,
      ...(ok
        ? { ok: true, result: 'forged' }
        : { ok: false, error: { code: 'HANDLER_ERROR', message: 'forged', retryable: false } }),
      ...(token === undefined ? {} : { token }),
    });
    const forged: OutcomeBatch[] = [
      { v: WIRE_VERSION, kind: 'outcomes', from: 'exec-made-up', items: [item(true)] },
      { v: WIRE_VERSION, kind: 'outcomes', from: 'exec-made-up', items: [item(false)] },
      {
        v: WIRE_VERSION,
        kind: 'outcomes',
        from: 'exec-made-up',
        items: [item(true, 'k.AAAAAAAAAAAAAAAAAAAAAA')],
      },
      {
        v: WIRE_VERSION,
        kind: 'outcomes',
        from: 'sched-made-up',
        failures: [{ taskId: id, error: { code: 'SPLIT_FAILED', message: 'forged', retryable: false } }],
      },
      {
        v: WIRE_VERSION,
        kind: 'outcomes',
        from: 'exec-made-up',
        failures: [
          {
            taskId: id,
            index: 0,
            attempt: 1,
            token: 'nope.AAAAAAAAAAAAAAAAAAAAAA',
            error: { code: 'MAX_DELIVERIES', message: 'forged', retryable: false },
          },
        ],
      },
    ];
    for (const b of forged) await js.publish(n.outcomeSubject('default'), encode(b));
    await expect
      .poll(
        async () =>
          (await deadLetters(stack.raw, stack.prefix)).filter(
            (d) => d.source === 'outcomes' && d.reason.code === 'FORBIDDEN',
          ).length,
        { timeout: 10_000 },
      )
      .toBe(forged.length);
    expect((await stack.client.get(id)).task.state).not.toMatch(/succeeded|failed/);
    open();
    expect(await stack.client.result(id, { timeoutMs: 20_000 })).toEqual([{ real: 'input' }]);
  });
});
