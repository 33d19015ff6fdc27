import { boxMuller } from '@gossamer/topology';

/**
 * The package's own seeded PRNG, so every dataset, split, partition and batch order is a pure
 * function of its seed (and identical in Node and browsers). xoshiro128** (Blackman & Vigna): 128-bit
 * state, period 2^128 − 1, fast on 32-bit integer ops; seeded through splitmix32 so nearby seeds give
 * unrelated streams.
 */
export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box–Muller over this stream (u = 1 − next() in (0, 1], so log u is finite). */
  private readonly normalDraw = boxMuller(
    () => 1 - this.next(),
    () => this.next(),
  );

  /** `seed`: any finite number; its integer part, up to 2^53, is used in full. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Random: seed must be a finite number, got ${seed}`);
    const whole = Math.trunc(seed);
    let h = splitmix32((Math.floor(whole / 2 ** 32) >>> 0) ^ 0x9e3779b9);
    h = splitmix32(h ^ (whole >>> 0));
    this.s0 = h = splitmix32(h);
    this.s1 = h = splitmix32(h);
    this.s2 = h = splitmix32(h);
    this.s3 = splitmix32(h);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67_108_864 + lo) / 9_007_199_254_740_992;
  }

  /** Uniform integer in [0, n), without modulo bias (n ≤ 2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new Error(`Random.int: n must be an integer in [1, 2^32], got ${n}`);
    // Rejection sampling on the top of the range that would bias the modulo.
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    return this.normalDraw();
  }

  /**
   * log of a Gamma(shape, 1) sample. Marsaglia–Tsang for shape ≥ 1; for shape < 1 the boost
   * Gamma(a) = Gamma(a + 1) · U^(1/a), kept in log space because U^(1/a) underflows float64 for small
   * a (α = 0.01 gives exponents of −100·log U), which would make whole Dirichlet draws 0/0.
   */
  logGamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new Error(`Random.logGamma: shape must be positive and finite, got ${shape}`);
    if (shape < 1) return this.logGamma(shape + 1) + Math.log(1 - this.next()) / shape;
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
    }
  }

  /** Gamma(shape, 1). */
  gamma(shape: number): number {
    return Math.exp(this.logGamma(shape));
  }

  /** A draw from the symmetric Dirichlet(α, …, α) over `k` categories (sums to 1). */
  dirichlet(alpha: number, k: number): Float64Array {
    if (!Number.isInteger(k) || k < 1) throw new Error(`Random.dirichlet: k must be a positive integer, got ${k}`);
    const logs = new Float64Array(k);
    let max = -Infinity;
    for (let i = 0; i < k; i++) {
      logs[i] = this.logGamma(alpha);
      if (logs[i] > max) max = logs[i];
    }
    // Normalise in log space (subtract the max) so tiny α cannot give 0/0.
    let sum = 0;
    for (let i = 0; i < k; i++) sum += logs[i] = Math.exp(logs[i] - max);
    for (let i = 0; i < k; i++) logs[i] /= sum;
    return logs;
  }

  /** Fisher–Yates shuffle in place; returns `array`. */
  shuffle<T extends { length: number; [i: number]: number }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A uniformly random permutation of 0..n−1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}

/**
 * A seed for an independent stream, derived from a base seed and labels (e.g. `(seed, epoch)` for
 * the batcher's per-epoch shuffle, `(seed, worker)`), so any stream can be recreated on its own
 * without replaying the others. Returns a non-negative integer below 2^53.
 */
export function deriveSeed(seed: number, ...labels: readonly (number | string)[]): number {
  const whole = Math.trunc(seed);
  let a = splitmix32((whole >>> 0) ^ 0x85ebca6b);
  let b = splitmix32((Math.floor(whole / 2 ** 32) >>> 0) ^ 0xc2b2ae35);
  for (const label of labels) {
    const words = typeof label === 'number' ? [Math.trunc(label) >>> 0, Math.floor(Math.trunc(label) / 2 ** 32) >>> 0] : Array.from(label, (ch) => ch.codePointAt(0)!);
    for (const w of [...words, 0xdeadbeef]) {
      a = splitmix32(a ^ w);
      b = splitmix32(b + a);
    }
  }
  return (b >>> 11) * 2 ** 32 + (a >>> 0);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** splitmix32 finaliser: a bijective 32-bit mix. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
