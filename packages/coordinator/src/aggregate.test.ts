import { describe, expect, it } from 'vitest';
import { createTask, recordOutcomes, type OutcomeItem } from '@jetsched/protocol';
import { FAILED, inHandResults } from './aggregate.js';

function outcome(index: number, delivery: number, result: unknown, total = 2): OutcomeItem {
  return { taskId: 't', index, total, attempt: 1, delivery, ok: true, result, startedAt: 1, finishedAt: 2 };
}

describe('the results in hand of a task its last outcomes end', () => {
  const pending = createTask({
    id: 't',
    request: { type: 'x', payload: ['a', 'b'], split: { kind: 'items', chunkSize: 1 } },
    payloadBytes: 10,
    total: 2,
    now: 1,
  });
  // delivery 2 claimed subtask 0: delivery 1's outcome of it is stale
  const claimed = {
    ...pending,
    subtasks: { ...pending.subtasks!, claims: { '0': 2 } },
  };

  it("come only from the outcomes that counted: a stale delivery's has no say, before or after", () => {
    const before = [outcome(0, 1, 'stale'), outcome(0, 2, 'current'), outcome(1, 1, 'b')];
    const r1 = recordOutcomes(claimed, before, 3);
    expect(r1.refused).toEqual(['stale', undefined, undefined]);
    expect(inHandResults(2, before, r1.refused)).toEqual(['current', 'b']);
    // after the current one it finds the subtask done
    const items = [outcome(0, 2, 'current'), outcome(0, 1, 'stale'), outcome(1, 1, 'b')];
    const res = recordOutcomes(claimed, items, 3);
    expect(res.refused).toEqual([undefined, 'done', undefined]);
    expect(res.awaitsResult).toBe(true);
    expect(inHandResults(2, items, res.refused)).toEqual(['current', 'b']);
  });

  it('nor does a duplicate, nor an outcome for a subtask the task does not have', () => {
    const items = [
      outcome(9, 1, 'x', 10),
      outcome(0, 2, 'current'),
      outcome(0, 2, 'again'),
      outcome(1, 1, 'b'),
    ];
    const res = recordOutcomes(claimed, items, 3);
    expect(res.refused).toEqual(['out-of-range', undefined, 'done', undefined]);
    // the task's total, not the first item's
    expect(inHandResults(res.next!.subtasks!.total, items, res.refused)).toEqual(['current', 'b']);
  });

  it('leaves a failed outcome out', () => {
    const failed: OutcomeItem = {
      taskId: 't',
      index: 1,
      total: 2,
      attempt: 1,
      delivery: 1,
      ok: false,
      error: { code: 'HANDLER_ERROR', message: 'no', retryable: false },
      startedAt: 1,
      finishedAt: 2,
    };
    expect(inHandResults(2, [outcome(0, 1, 'a'), failed], [undefined, undefined])).toEqual(['a', FAILED]);
  });
});
