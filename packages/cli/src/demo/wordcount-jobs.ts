/**
 * The demo's jobs module: word frequencies over chunks of lines, merged by a reducer. Also a
 * working example of a jobs module for `jetsched executor --handlers` and `jetsched coordinator
 * --handlers`.
 */
import type { ItemsChunk } from '@jetsched/protocol';

export type Counts = Record<string, number>;

export function countWords(lines: readonly string[], into: Counts = {}): Counts {
  for (const line of lines) {
    for (const word of line.toLowerCase().split(/[^a-z']+/)) {
      if (word) into[word] = (into[word] ?? 0) + 1;
    }
  }
  return into;
}

export const handlers = {
  wordcount: (input: unknown): Counts => countWords((input as ItemsChunk<string>).items),
  /** Works `ms` and returns when it started: the demo shows the order priorities give. */
  nap: async (input: unknown): Promise<number> => {
    const startedAt = Date.now();
    await new Promise((r) => setTimeout(r, (input as { ms?: number } | null)?.ms ?? 50));
    return startedAt;
  },
};

export const reducers = {
  wordcount: (acc: unknown, value: unknown): Counts => {
    const total = (acc ?? {}) as Counts;
    for (const [w, n] of Object.entries(value as Counts)) total[w] = (total[w] ?? 0) + n;
    return total;
  },
};
