/** Deterministic generated text with a Zipf-like word distribution, so the demo needs no download. */

/** A small seeded PRNG (mulberry32): the same seed gives the same numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  'ne',
  'ru',
  'sa',
  'ti',
  'vo',
  'an',
  'el',
  'or',
  'ju',
  'pe',
  'qui',
  'bra',
  'sto',
];

/** About `bytes` of text as lines of 8 to 16 words. */
export function generateCorpus(bytes: number, seed = 42): string[] {
  const rand = mulberry32(seed);
  const vocab: string[] = [];
  for (let i = 0; vocab.length < 2_000; i++) {
    const n = 1 + Math.floor(rand() * 3);
    let w = '';
    for (let j = 0; j < n; j++) w += SYLLABLES[Math.floor(rand() * SYLLABLES.length)];
    if (!vocab.includes(w)) vocab.push(w);
  }
  // Zipf: weight 1/rank, sampled through the cumulative distribution
  const cum: number[] = [];
  let sum = 0;
  for (let r = 1; r <= vocab.length; r++) cum.push((sum += 1 / r));
  const pick = (): string => {
    const x = rand() * sum;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cum[mid] ?? 0) < x) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo] ?? '';
  };
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const words = 8 + Math.floor(rand() * 9);
    const line = Array.from({ length: words }, pick).join(' ');
    lines.push(line);
    size += line.length + 1;
  }
  return lines;
}
