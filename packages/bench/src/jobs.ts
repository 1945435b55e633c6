/** The bench's jetsched jobs module (loaded by the executor and coordinator processes). */
import type { ItemsChunk } from '@jetsched/protocol';
import { stampStart } from './stamps.js';

export const handlers = {
  noop: (): null => null,
  fail: (): never => {
    throw new Error('failing on purpose (bench scenario d)');
  },
  sum: (input: unknown): number => (input as ItemsChunk<number>).items.reduce((a, b) => a + b, 0),
  /** Issue 7: records when it starts (see ./stamps.ts), then does nothing. */
  stamp: (_input: unknown, ctx: { taskId: string }): null => {
    stampStart(ctx.taskId);
    return null;
  },
  /** Issue 7: records when it starts, then works (sleeps) `input.ms` ms, holding an executor slot. */
  sleep: async (input: unknown, ctx: { taskId: string }): Promise<null> => {
    stampStart(ctx.taskId);
    await new Promise((r) => setTimeout(r, (input as { ms: number }).ms));
    return null;
  },
};

export const reducers = {
  sum: (acc: unknown, value: unknown): number => ((acc as number | undefined) ?? 0) + (value as number),
};
