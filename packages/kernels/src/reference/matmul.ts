// Float64 reference of shaders/matmul.wgsl (see ../matmul.ts for the semantics), for tests and as a
// CPU fallback: C = act(alpha · op(A) · op(B) + bias) (+ C), batched, row-major.
import { gelu } from './elementwise.js';

type Vec = ArrayLike<number>;

export interface MatmulReferenceOptions {
  m: number;
  n: number;
  k: number;
  transposeA?: boolean;
  transposeB?: boolean;
  alpha?: number;
  bias?: Vec;
  activation?: 'none' | 'relu' | 'gelu';
  batch?: number;
  batchStrides?: { a?: number; b?: number; c?: number };
}

export interface MatmulReferenceResult {
  /** C after the call: `initialC` (or zeros) with every batch item's m×n block written or added to. */
  c: Float64Array;
  /** alpha · op(A) · op(B) + bias, laid out as C (zeros between batch items). */
  preActivation: Float64Array;
}

function activate(x: number, activation: MatmulReferenceOptions['activation']): number {
  if (activation === 'relu') return Math.max(x, 0);
  if (activation === 'gelu') return gelu([x])[0];
  return x;
}

/** With `initialC`, the result is added to it (the kernel's `accumulate`). */
export function matmul(a: Vec, b: Vec, options: MatmulReferenceOptions, initialC?: Vec): MatmulReferenceResult {
  const { m, n, k } = options;
  const batch = options.batch ?? 1;
  const strideA = options.batchStrides?.a ?? m * k;
  const strideB = options.batchStrides?.b ?? k * n;
  const strideC = options.batchStrides?.c ?? m * n;
  const alpha = options.alpha ?? 1;
  const length = (batch - 1) * strideC + m * n;
  const c = initialC ? Float64Array.from(initialC) : new Float64Array(length);
  if (c.length !== length) throw new Error(`reference matmul: initialC has ${c.length} floats, expected ${length}`);
  const preActivation = new Float64Array(length);
  // op(A)[i][p] and op(B)[p][j] of batch item z, from row-major storage.
  const opA = (z: number, i: number, p: number) => a[z * strideA + (options.transposeA ? p * m + i : i * k + p)];
  const opB = (z: number, p: number, j: number) => b[z * strideB + (options.transposeB ? j * k + p : p * n + j)];
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) sum += opA(z, i, p) * opB(z, p, j);
        const pre = alpha * sum + (options.bias ? options.bias[j] : 0);
        const at = z * strideC + i * n + j;
        preActivation[at] = pre;
        const out = activate(pre, options.activation);
        c[at] = initialC ? c[at] + out : out;
      }
    }
  }
  return { c, preActivation };
}

/**
 * Σ_p |alpha · op(A)[i][p] · op(B)[p][j]| for every output, laid out as C: the scale of the float32
 * rounding error of each dot product, for tolerances.
 */
export function matmulAbsScale(a: Vec, b: Vec, options: MatmulReferenceOptions): Float64Array {
  const abs = (v: Vec) => Float64Array.from(v, Math.abs);
  return matmul(abs(a), abs(b), { ...options, alpha: Math.abs(options.alpha ?? 1), bias: undefined, activation: 'none' }).c;
}
