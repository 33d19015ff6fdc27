// Types and helpers of `gossamer selfcheck`: one small GPU-vs-float64 check per kernel family.
import type { Gpu } from '@gossamer/gpu';

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

/** Deterministic inputs in [lo, hi) (a linear congruential generator; quality is not the point). */
export function checkInput(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

