/**
 * Small seeded PRNG for everything random in this package (random graphs, random matchings,
 * random out-peers, Lanczos start vectors).
 *
 * Only 32-bit integer operations (`Math.imul`, shifts, `>>> 0`) are used, so the stream is
 * bit-identical on every JavaScript engine: every worker that builds the same schedule from the same
 * (seed, round) computes the same numbers without communicating.
 *
 * Generator: mulberry32 (the same generator as the tests' `rng(seed)`). Seeds and round numbers
 * are combined with a splitmix32-style finalizer ({@link mixSeed}) so that neighbouring rounds give
 * unrelated streams.
 */

const TWO_POW_32 = 4294967296;

/** splitmix32/murmur3-style 32-bit finalizer: a bijection on uint32 with good avalanche. */
function fmix32(h: number): number {
  h >>>= 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkSeedPart(x: number, what: string): void {
  if (!Number.isSafeInteger(x)) {
    throw new RangeError(`${what} must be a safe integer, got ${x}`);
  }
}

/**
 * Folds a seed and any number of integers (round, step, stream id…) into one uint32 seed.
 * Accepts any safe integer (negative and > 2³² included: both 32-bit halves are mixed in).
 */
export function mixSeed(seed: number, ...parts: number[]): number {
  checkSeedPart(seed, 'seed');
  let h = 0x9e3779b9;
  const absorb = (x: number): void => {
    const lo = x >>> 0;
    const hi = Math.floor(x / TWO_POW_32) >>> 0;
    h = fmix32((h ^ lo) + 0x9e3779b9);
    h = fmix32((h ^ hi) + 0x7f4a7c15);
  };
  absorb(seed);
  for (const p of parts) {
    checkSeedPart(p, 'seed part');
    absorb(p);
  }
  return h >>> 0;
}

/** A seeded random stream. */
export interface Rng {
  /** Next uint32. */
  nextU32(): number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling). n must be in [1, 2³²]. */
  int(n: number): number;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[];
}

/**
 * mulberry32 stream seeded by `seed` (a safe integer; values ≥ 2³² or < 0 are folded through
 * {@link mixSeed}). `createRng(s)` for 0 ≤ s < 2³² yields exactly the tests' `rng(s)` sequence.
 */
export function createRng(seed: number): Rng {
  checkSeedPart(seed, 'seed');
  let a = seed >= 0 && seed < TWO_POW_32 ? seed >>> 0 : mixSeed(seed);
  const nextU32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}`);
    }
    // Largest multiple of n that fits in [0, 2^32): reject above it.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const x = nextU32();
      if (x < limit) return x % n;
    }
  };
  return {
    nextU32,
    float: () => nextU32() / TWO_POW_32,
    int,
    shuffle<T>(arr: T[]): T[] {
      for (let i = arr.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const t = arr[i];
        arr[i] = arr[j];
        arr[j] = t;
      }
      return arr;
    },
  };
}

/**
 * Standard normal draws by Box–Muller from uniform draws, the second value of each pair kept for the
 * next call: the one normal sampler of the project. `u` must be in (0, 1] (its log must be finite),
 * `v` in [0, 1); they are called in that order, once per pair, so callers that pass their own streams
 * (and their own guard against u = 0) keep their sequences.
 */
export function boxMuller(u: () => number, v: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const uu = u();
    const vv = v();
    const m = Math.sqrt(-2 * Math.log(uu));
    spare = m * Math.sin(2 * Math.PI * vv);
    return m * Math.cos(2 * Math.PI * vv);
  };
}
