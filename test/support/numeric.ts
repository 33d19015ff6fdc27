import { boxMuller, createRng } from '@gossamer/topology';

/** Seeded PRNG so every test input is reproducible: topology's mulberry32 stream (createRng), uniform in [0, 1). */
export function rng(seed: number): () => number {
  return createRng(seed >>> 0).float;
}

/** n floats uniform in [lo, hi), rounded to float32. */
export function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** n standard normal floats (Box–Muller), rounded to float32. */
export function normal(n: number, seed: number, std = 1): Float32Array {
  const r = rng(seed);
  const z = boxMuller(() => Math.max(r(), 1e-12), r);
  return Float32Array.from({ length: n }, () => std * z());
}

export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance (of |expected|). */
  rtol: number;
}

/**
 * Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise and reports the worst element,
 * so a failure says where and by how much.
 */
export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, what = 'values'): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    if (!(err <= allowed)) {
      bad++;
      const excess = Number.isNaN(err) ? Infinity : err / allowed;
      if (excess >= worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  if (bad > 0) {
    throw new Error(
      `${what}: ${bad}/${actual.length} elements out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); ` +
        `worst at [${worst}]: got ${actual[worst]}, expected ${expected[worst]}`,
    );
  }
}
