/** The bench's jetsched jobs module (loaded by the executor and coordinator processes). */
import type { ItemsChunk } from '@jetsched/protocol';

export const handlers = {
  noop: (): null => null,
  fail: (): never => {
    throw new Error('failing on purpose (bench scenario d)');
  },
  sum: (input: unknown): number => (input as ItemsChunk<number>).items.reduce((a, b) => a + b, 0),
};

export const reducers = {
  sum: (acc: unknown, value: unknown): number => ((acc as number | undefined) ?? 0) + (value as number),
};
