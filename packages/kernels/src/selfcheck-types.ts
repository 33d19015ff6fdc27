// Types and helpers of `gossamer selfcheck`: one small GPU-vs-float64 check per kernel family.
import type { Gpu } from '@gossamer/gpu';
import { createRng } from '@gossamer/topology';

export interface SelfCheckResult {
  /** max_i |gpu_i − ref_i| / (1 + |ref_i|): absolute near zero, relative for large values. */
  maxError: number;
  tolerance: number;
}

export interface SelfCheck {
  name: string;
  run(gpu: Gpu): Promise<SelfCheckResult>;
}

/** The mixed error measure of SelfCheckResult.maxError. */
export function mixedError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
}

/** Deterministic inputs in [lo, hi), from the project's seeded PRNG (topology's createRng). */
export function checkInput(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = createRng(seed >>> 0).float;
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

