import type { Gpu } from '@gossamer/gpu';
import { activationForward, axpby, axpy } from './elementwise.js';
import * as ref from './reference/index.js';

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

const elementwiseChecks: SelfCheck[] = [
  {
    name: 'elementwise.axpy+axpby',
    async run(gpu) {
      const n = 1031;
      const x = checkInput(n, 1);
      const y = checkInput(n, 2);
      const [bx, by, bz] = [gpu.upload(x), gpu.upload(y), gpu.createBuffer(n * 4)];
      const step = gpu.beginStep();
      axpby(step, 0.5, bx, -2, by, bz);
      axpy(step, 1.5, bx, by);
      step.submit();
      const e1 = mixedError(await gpu.readF32(bz), ref.elementwise.axpby(0.5, x, -2, y));
      const e2 = mixedError(await gpu.readF32(by), ref.elementwise.axpy(1.5, x, y));
      for (const b of [bx, by, bz]) b.destroy();
      return { maxError: Math.max(e1, e2), tolerance: 1e-6 };
    },
  },
  {
    name: 'elementwise.gelu',
    async run(gpu) {
      const n = 513;
      const x = checkInput(n, 3, -6, 6);
      const [bx, by] = [gpu.upload(x), gpu.createBuffer(n * 4)];
      const step = gpu.beginStep();
      activationForward(step, 'gelu', bx, by);
      step.submit();
      const err = mixedError(await gpu.readF32(by), ref.elementwise.gelu(x));
      for (const b of [bx, by]) b.destroy();
      return { maxError: err, tolerance: 1e-5 };
    },
  },
];

/** One small check per kernel family, run by `gossamer selfcheck`. */
export const selfChecks: SelfCheck[] = [...elementwiseChecks];
