import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { matmul, reference, span, type MatmulActivation, type MatmulTiles } from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

const F32_EPS = 2 ** -23;

interface Case {
  m: number;
  n: number;
  k: number;
  transposeA?: boolean;
  transposeB?: boolean;
  alpha?: number;
  bias?: boolean;
  activation?: MatmulActivation;
  accumulate?: boolean;
  pre?: boolean;
  batch?: number;
  batchStrides?: { a?: number; b?: number; c?: number };
  tiles?: MatmulTiles;
  /** Element offset of every operand inside its buffer (exercises spans). */
  offset?: number;
  seed?: number;
}

const label = (c: Case) =>
  `${c.m}x${c.n}x${c.k}${c.transposeA ? ' Aᵀ' : ''}${c.transposeB ? ' Bᵀ' : ''}` +
  `${c.bias ? ' +bias' : ''}${c.activation && c.activation !== 'none' ? ` ${c.activation}` : ''}` +
  `${c.accumulate ? ' +=' : ''}${c.pre ? ' pre' : ''}${c.batch ? ` batch ${c.batch}` : ''}${c.alpha !== undefined ? ` α=${c.alpha}` : ''}`;

/** A span of `data` at element `offset` of a buffer of its own (padding on both sides). */
function place(g: Gpu, data: Float32Array, offset: number) {
  const padded = new Float32Array(offset + data.length + 7).fill(Number.NaN);
  padded.set(data, offset);
  return span(g.upload(padded), offset, data.length);
}

/**
 * Tolerance: a float32 dot product of length k is off from the float64 one by at most ~k·eps·S, and
 * typically ~sqrt(k)·eps·S, where S = Σ|alpha·a·b| (the sum of absolute terms); we allow
 * 4·sqrt(k)·eps·max(S), plus a few ulps relative for the bias add, alpha, and GELU's tanh (the
 * activations are 1-Lipschitz up to 1.13, so they do not amplify the product's error).
 */
function tolerance(c: Case, a: Float32Array, b: Float32Array) {
  const scale = reference.matmul.matmulAbsScale(a, b, c);
  const maxScale = scale.reduce((m, v) => Math.max(m, v), 0);
  return { atol: 4 * Math.sqrt(c.k) * F32_EPS * maxScale + 1e-7, rtol: c.activation === 'gelu' ? 1e-5 : 2e-6 };
}

async function check(g: Gpu, c: Case): Promise<void> {
  const { m, n, k } = c;
  const batch = c.batch ?? 1;
  const strides = { a: c.batchStrides?.a ?? m * k, b: c.batchStrides?.b ?? k * n, c: c.batchStrides?.c ?? m * n };
  const extent = (stride: number, size: number) => (batch - 1) * stride + size;
  const seed = c.seed ?? m * 1000 + n * 10 + k;
  const a = uniform(extent(strides.a, m * k), seed);
  const b = normal(extent(strides.b, k * n), seed + 1);
  const bias = c.bias ? uniform(n, seed + 2, -2, 2) : undefined;
  const initialC = c.accumulate ? uniform(extent(strides.c, m * n), seed + 3) : new Float32Array(extent(strides.c, m * n)).fill(0.5);
  const offset = c.offset ?? 0;
  const as = place(g, a, offset);
  const bs = place(g, b, offset + 1);
  const biasSpan = bias ? place(g, bias, offset + 2) : undefined;
  const cs = place(g, initialC, offset + 3);
  const pre = c.pre ? place(g, new Float32Array(initialC.length).fill(0.5), offset) : undefined;
  const step = g.beginStep();
  matmul(step, as, bs, cs, {
    m,
    n,
    k,
    transposeA: c.transposeA,
    transposeB: c.transposeB,
    alpha: c.alpha,
    bias: biasSpan,
    activation: c.activation,
    accumulate: c.accumulate,
    preActivation: pre,
    batch: c.batch,
    batchStrides: c.batchStrides,
    tiles: c.tiles,
  });
  step.submit();
  const want = reference.matmul.matmul(a, b, { ...c, bias }, c.accumulate ? initialC : undefined);
  // Without accumulate the reference starts from zeros; the kernel leaves C's gaps between strided
  // batch items (and the pre-activation's) at their initial 0.5.
  const withGaps = (blocks: Float64Array) => {
    if (c.accumulate && blocks === want.c) return blocks;
    const out = new Float64Array(blocks.length).fill(0.5);
    for (let z = 0; z < batch; z++) out.set(blocks.subarray(z * strides.c, z * strides.c + m * n), z * strides.c);
    return out;
  };
  const tol = tolerance(c, a, b);
  expectAllClose(await g.readF32(cs.buffer, cs.offset, cs.length), withGaps(want.c), tol, `C of ${label(c)}`);
  if (pre) {
    const got = await g.readF32(pre.buffer, pre.offset, pre.length);
    expectAllClose(got, withGaps(want.preActivation), { ...tol, rtol: 2e-6 }, `pre-activation of ${label(c)}`);
  }
  // C's padding (NaN, like every operand's: a stray read would poison the results) is untouched.
  const whole = await g.readF32(cs.buffer);
  const padding = [...whole.subarray(0, cs.offset), ...whole.subarray(cs.offset + cs.length)];
  expect(padding.every((v) => Number.isNaN(v))).toBe(true);
  for (const s of [as, bs, cs, ...(biasSpan ? [biasSpan] : []), ...(pre ? [pre] : [])]) s.buffer.destroy();
}

describe('matmul kernel', () => {
  const gpu = useGpu();

  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [7, 13, 17],
    [37, 1, 53],
    [1, 53, 37],
    [3, 5, 1],
    [65, 63, 129], // one past / short of the 64×64 tile, K not a multiple of 16
    [64, 64, 64],
  ];
  const transposes = [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const;

  it.each(shapes)('m×n×k = %i×%i×%i, all four transpose combinations', async (m, n, k) => {
    for (const [transposeA, transposeB] of transposes) await check(gpu(), { m, n, k, transposeA, transposeB, offset: 5 });
  });

  it('bias + ReLU and bias + GELU epilogues, with the pre-activation output', async () => {
    const g = gpu();
    for (const activation of ['relu', 'gelu'] as const) {
      await check(g, { m: 33, n: 70, k: 45, bias: true, activation, pre: true, offset: 3 });
      await check(g, { m: 9, n: 11, k: 130, transposeA: true, bias: true, activation, alpha: 0.25 });
    }
    await check(g, { m: 20, n: 24, k: 8, bias: true, activation: 'none', transposeB: true });
  });

  it('accumulates into C (gradient accumulation), with alpha and transposes', async () => {
    const g = gpu();
    await check(g, { m: 50, n: 31, k: 77, accumulate: true, alpha: 1 / 32, transposeA: true, offset: 9 });
    await check(g, { m: 17, n: 66, k: 3, accumulate: true, transposeB: true });
    await check(g, { m: 12, n: 10, k: 19, accumulate: true, bias: true, activation: 'relu', pre: true });
  });

  it('batches over workgroup z, with padded strides and a broadcast operand', async () => {
    const g = gpu();
    await check(g, { m: 19, n: 23, k: 29, batch: 3 });
    await check(g, { m: 19, n: 23, k: 29, batch: 4, transposeA: true, batchStrides: { a: 29 * 19 + 3, b: 0, c: 19 * 23 + 5 }, bias: true, pre: true });
    await check(g, { m: 8, n: 70, k: 5, batch: 2, transposeB: true, batchStrides: { a: 0 }, accumulate: true });
  });

  it('other tile configurations give the same result', async () => {
    const g = gpu();
    for (const tiles of [
      { wgX: 4, wgY: 8, tileK: 8 },
      { wgX: 16, wgY: 4, tileK: 4 },
      { wgX: 2, wgY: 2, tileK: 20 }, // tileK larger than the threads: loaders loop
    ]) {
      await check(g, { m: 45, n: 77, k: 61, tiles, transposeA: true, bias: true, activation: 'relu' });
      await check(g, { m: 45, n: 77, k: 61, tiles, transposeB: true });
    }
  });

  it('C and the pre-activation may share a buffer at ranges ≥ 256 bytes apart', async () => {
    const g = gpu();
    const [m, n, k] = [10, 12, 7];
    const a = uniform(m * k, 1);
    const b = uniform(k * n, 2);
    const [ba, bb] = [g.upload(a), g.upload(b)];
    const out = g.createBuffer(4 * 400);
    const step = g.beginStep();
    matmul(step, ba, bb, span(out, 3, m * n), { m, n, k, activation: 'relu', preActivation: span(out, 200, m * n) });
    step.submit();
    const want = reference.matmul.matmul(a, b, { m, n, k, activation: 'relu' });
    const tol = { atol: 1e-5, rtol: 1e-6 };
    expectAllClose(await g.readF32(out, 3, m * n), want.c, tol, 'C');
    expectAllClose(await g.readF32(out, 200, m * n), want.preActivation, tol, 'pre-activation');
  });

  it('large: 256×256×256 and 200×300×129 (transposed B)', async () => {
    await check(gpu(), { m: 256, n: 256, k: 256 });
    await check(gpu(), { m: 200, n: 300, k: 129, transposeB: true, bias: true, activation: 'gelu' });
  });

  it('rejects bad shapes and aliasing with clear errors', () => {
    const g = gpu();
    const buf = (n: number) => g.createBuffer(4 * n);
    const step = g.beginStep();
    const [a, b, c] = [buf(6), buf(12), buf(8)];
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3 })).not.toThrow();
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 4 })).toThrow(/A \(m×k = 2×4\) needs 8 floats, got a span of 6/);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, transposeB: true, batch: 2 })).toThrow(/A \(m×k = 2×3 in 2 batch items\) needs 12 floats/);
    expect(() => matmul(step, a, buf(11), c, { m: 2, n: 4, k: 3, transposeB: true })).toThrow(/B \(n×k = 4×3, transposed\) needs 12 floats, got a span of 11/);
    expect(() => matmul(step, a, b, buf(9), { m: 2, n: 4, k: 3 })).toThrow(/C \(m×n = 2×4\) needs 8 floats, got a span of 9/);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, bias: buf(3) })).toThrow(/bias needs n = 4 floats, got a span of 3/);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, preActivation: buf(7) })).toThrow(/preActivation .* needs 8 floats/);
    expect(() => matmul(step, a, b, c, { m: 0, n: 4, k: 3 })).toThrow(/m must be a positive integer/);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, batch: 2, batchStrides: { a: 0, b: 0, c: 0 } })).toThrow(/overwrite each other/);
    const flat = buf(100);
    expect(() => matmul(step, span(flat, 0, 6), b, span(flat, 50, 8), { m: 2, n: 4, k: 3 })).toThrow(/C shares its buffer with A/);
    expect(() => matmul(step, a, b, span(flat, 0, 8), { m: 2, n: 4, k: 3, preActivation: span(flat, 20, 8) })).toThrow(/overlap/);
    step.submit();
  });
});
