/** A small seeded random source (xorshift32), so a query file is the same for the same seed. */

/** Returns a function giving numbers in [0, 1) from `seed`. */
export function seededRandom(seed: number): () => number {
  // xorshift32 never leaves state 0, so map a zero seed elsewhere; mix the seed a little first.
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ 0x5bd1e995) >>> 0 || 0x12345678;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

/** Picks one item by weight; weights need not sum to 1. */
export function pickWeighted<T>(rnd: () => number, items: readonly T[], weight: (item: T) => number): T {
  let total = 0;
  for (const it of items) total += weight(it);
  let r = rnd() * total;
  for (const it of items) {
    r -= weight(it);
    if (r < 0) return it;
  }
  return items[items.length - 1]!;
}
