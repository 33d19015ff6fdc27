import { describe, expect, it } from 'vitest';
import {
  adamwStep,
  adamwStepSelectiveDecay,
  decayIntervals,
  describeOptimizer,
  optimizerStep,
  reference,
  sgdMomentumStep,
  sgdStep,
  span,
  type OptimizerConfig,
} from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

// Each update is a handful of float32 roundings of O(1) values (x, g ∈ [−1, 1), lr ≤ 0.1), and the
// float64 reference evolves from the same start, so after a few steps the float32 state is within a
// few ulps of |x| ≈ 1: 2e-6 absolute plus 2e-6 relative leaves a margin of ~10x.
const TOL = { atol: 2e-6, rtol: 2e-6 };
const SIZES = [1, 7, 255, 257, 4099, 1_000_003];

describe('optimizer kernels', () => {
  const gpu = useGpu();

  it.each(SIZES)('SGD with and without weight decay on n=%i', async (n) => {
    const g = gpu();
    const x = uniform(n, 1);
    const grad = uniform(n, 2);
    const [bx, bx2, bg] = [g.upload(x), g.upload(x), g.upload(grad)];
    const step = g.beginStep();
    sgdStep(step, bx, bg, { lr: 0.1 });
    sgdStep(step, bx2, bg, { lr: 0.05, weightDecay: 0.01 });
    step.submit();
    expectAllClose(await g.readF32(bx), reference.optim.sgd(x, grad, 0.1), TOL, 'sgd');
    expectAllClose(await g.readF32(bx2), reference.optim.sgd(x, grad, 0.05, 0.01), TOL, 'sgd + weight decay');
  });

  const momentumCases = [
    { name: 'classical', h: { lr: 0.05, momentum: 0.9 } },
    { name: 'Nesterov with weight decay', h: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 } },
    { name: 'dampened', h: { lr: 0.1, momentum: 0.5, dampening: 0.3, weightDecay: 1e-2 } },
  ];

  it.each(momentumCases)('SGD momentum ($name): 4 steps match PyTorch in float64', async ({ h }) => {
    const g = gpu();
    for (const n of [1, 257, 100_003]) {
      let x: ArrayLike<number> = uniform(n, 3);
      let v: ArrayLike<number> = new Float64Array(n);
      const bx = g.upload(Float32Array.from(x));
      const bv = g.createBuffer(n * 4); // zero-filled, as PyTorch's state starts
      const bg = g.createBuffer(n * 4);
      for (let t = 1; t <= 4; t++) {
        const grad = uniform(n, 10 + t);
        g.write(bg, 0, grad);
        const step = g.beginStep();
        sgdMomentumStep(step, bx, bg, bv, h, t);
        step.submit();
        ({ x, velocity: v } = reference.optim.sgdMomentum(x, grad, v, h, t));
      }
      expectAllClose(await g.readF32(bx), x, TOL, `x, n=${n}`);
      expectAllClose(await g.readF32(bv), v, TOL, `velocity, n=${n}`);
    }
  });

  it.each(SIZES)('AdamW: 5 steps from zero state match PyTorch in float64 on n=%i', async (n) => {
    const g = gpu();
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
    let ref = { x: Float64Array.from(uniform(n, 4)), expAvg: new Float64Array(n), expAvgSq: new Float64Array(n) };
    const bx = g.upload(Float32Array.from(ref.x));
    const [bm, bv, bg] = [g.createBuffer(n * 4), g.createBuffer(n * 4), g.createBuffer(n * 4)];
    for (let t = 1; t <= 5; t++) {
      const grad = normal(n, 20 + t);
      g.write(bg, 0, grad);
      const step = g.beginStep();
      adamwStep(step, bx, bg, bm, bv, h, t);
      step.submit();
      ref = reference.optim.adamw(ref.x, grad, ref.expAvg, ref.expAvgSq, h, t);
    }
    expectAllClose(await g.readF32(bx), ref.x, TOL, 'x');
    expectAllClose(await g.readF32(bm), ref.expAvg, TOL, 'exp_avg');
    // v ≈ 1e-3·g², g ~ N(0, 1): relative float32 rounding, a few ulps.
    expectAllClose(await g.readF32(bv), ref.expAvgSq, { atol: 1e-9, rtol: 2e-6 }, 'exp_avg_sq');
  });

  it.each([1000, 1_000_000, 1e9])('AdamW at a large step count t=%d (bias corrections in float64)', async (t) => {
    const g = gpu();
    const n = 4099;
    const h = { lr: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-6, weightDecay: 0.05 };
    const x = uniform(n, 5);
    const grad = normal(n, 6);
    const m = normal(n, 7, 0.1);
    const v = uniform(n, 8, 0, 0.05);
    const bufs = [x, grad, m, v].map((a) => g.upload(a));
    const step = g.beginStep();
    adamwStep(step, bufs[0], bufs[1], bufs[2], bufs[3], h, t);
    step.submit();
    const want = reference.optim.adamw(x, grad, m, v, h, t);
    expectAllClose(await g.readF32(bufs[0]), want.x, TOL, 'x');
    expectAllClose(await g.readF32(bufs[2]), want.expAvg, TOL, 'exp_avg');
    expectAllClose(await g.readF32(bufs[3]), want.expAvgSq, { atol: 1e-9, rtol: 2e-6 }, 'exp_avg_sq');
  });

  it('updates a segment of a flat buffer and leaves the rest untouched', async () => {
    const g = gpu();
    const total = 3000;
    const [off, n, gOff] = [1001, 997, 13];
    const flat = uniform(total, 9);
    const grads = uniform(2000, 10);
    const [bx, bg, bm, bv] = [g.upload(flat), g.upload(grads), g.createBuffer(total * 4), g.createBuffer(total * 4)];
    const h = { lr: 1e-2, beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: 0 };
    const step = g.beginStep();
    adamwStep(step, span(bx, off, n), span(bg, gOff, n), span(bm, off, n), span(bv, off, n), h, 1);
    step.submit();
    const got = await g.readF32(bx);
    const segment = reference.optim.adamw(flat.subarray(off, off + n), grads.subarray(gOff, gOff + n), new Float64Array(n), new Float64Array(n), h, 1);
    const want = Float64Array.from(flat);
    want.set(segment.x, off);
    expectAllClose(got, want, TOL, 'flat buffer');
  });

  it('AdamW with weight decay skipped on some ranges (LayerNorm gains, biases, embeddings) matches float64', async () => {
    const g = gpu();
    const n = 1000;
    const off = 7; // the model's parameters at an offset of the flat buffers
    const x = uniform(n, 31);
    const pad = (v: Float32Array) => Float32Array.of(...new Float32Array(off).fill(3), ...v, 3);
    // Unsorted, with two adjacent ranges (merged into one dispatch) and one at the end.
    const noDecay = [
      { offset: 990, length: 10 },
      { offset: 10, length: 50 },
      { offset: 321, length: 20 },
      { offset: 300, length: 21 },
    ];
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
    const [bx, bg, bm, bv] = [g.upload(pad(x)), g.createBuffer((n + off + 1) * 4), g.createBuffer((n + off + 1) * 4), g.createBuffer((n + off + 1) * 4)];
    const s = (b: GPUBuffer) => span(b, off, n);
    let decayed = { x: Float64Array.from(x), expAvg: new Float64Array(n), expAvgSq: new Float64Array(n) };
    let plain = { ...decayed };
    const skip = (i: number) => noDecay.some((r) => i >= r.offset && i < r.offset + r.length);
    for (let t = 1; t <= 3; t++) {
      const grad = uniform(n, 40 + t);
      g.write(bg, 0, pad(grad));
      const step = g.beginStep();
      adamwStepSelectiveDecay(step, s(bx), s(bg), s(bm), s(bv), h, t, noDecay);
      step.submit();
      // The reference: each element follows AdamW with its own decay (0 inside the ranges).
      const a = reference.optim.adamw(decayed.x, grad, decayed.expAvg, decayed.expAvgSq, h, t);
      const b = reference.optim.adamw(decayed.x, grad, decayed.expAvg, decayed.expAvgSq, { ...h, weightDecay: 0 }, t);
      const pick = (u: Float64Array, w: Float64Array) => Float64Array.from(u, (v, i) => (skip(i) ? w[i] : v));
      decayed = { x: pick(a.x, b.x), expAvg: pick(a.expAvg, b.expAvg), expAvgSq: pick(a.expAvgSq, b.expAvgSq) };
      plain = reference.optim.adamw(plain.x, grad, plain.expAvg, plain.expAvgSq, h, t);
    }
    const got = await g.readF32(bx);
    expectAllClose(got.subarray(off, off + n), decayed.x, TOL, 'params');
    expect([...got.subarray(0, off), got[off + n]].every((v) => v === 3)).toBe(true);
    // The skipped ranges really differ from decayed ones (lr·wd·|x| ≈ 1e-3·|x| per step ≫ TOL).
    const gap = Math.max(...Array.from({ length: 50 }, (_, i) => Math.abs(got[off + 10 + i] - plain.x[10 + i])));
    expect(gap).toBeGreaterThan(1e-4);
    expect(decayIntervals(n, noDecay)).toEqual([
      { offset: 0, length: 10, decay: true },
      { offset: 10, length: 50, decay: false },
      { offset: 60, length: 240, decay: true },
      { offset: 300, length: 41, decay: false },
      { offset: 341, length: 649, decay: true },
      { offset: 990, length: 10, decay: false },
    ]);
    expect(() => decayIntervals(n, [{ offset: 5, length: 10 }, { offset: 14, length: 2 }])).toThrow(/overlaps/);
    expect(() => decayIntervals(n, [{ offset: 995, length: 10 }])).toThrow(/not within/);
  });

  it('describes optimizers and their state, and dispatches through optimizerStep', async () => {
    const g = gpu();
    const n = 513;
    const configs: OptimizerConfig[] = [
      { kind: 'sgd', lr: 0.1 },
      { kind: 'momentum', lr: 0.1, momentum: 0.9, nesterov: true },
      { kind: 'adamw', lr: 1e-3 },
    ];
    const described = configs.map((c) => describeOptimizer(c, n));
    expect(described.map((o) => o.state.map((s) => s.name))).toEqual([[], ['velocity'], ['expAvg', 'expAvgSq']]);
    expect(described[2].state.every((s) => s.length === n && s.initialValue === 0)).toBe(true);

    const x = uniform(n, 11);
    const grad = uniform(n, 12);
    const adam = described[2];
    const bx = g.upload(x);
    const bg = g.upload(grad);
    const state = Object.fromEntries(adam.state.map((s) => [s.name, g.createBuffer(s.length * 4)]));
    const step = g.beginStep();
    optimizerStep(step, adam, bx, bg, state, 1);
    expect(() => optimizerStep(step, described[1], bx, bg, {}, 1)).toThrow(/missing state buffer 'velocity'/);
    step.submit();
    // PyTorch's AdamW defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.
    const h = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };
    const want = reference.optim.adamw(x, grad, new Float64Array(n), new Float64Array(n), h, 1);
    expectAllClose(await g.readF32(bx), want.x, TOL, 'optimizerStep(adamw)');
  });

  it('rejects bad hyper-parameters, step counts, aliasing and length mismatches', () => {
    const g = gpu();
    const [a, b, c] = [g.createBuffer(400), g.createBuffer(400), g.createBuffer(400)];
    const step = g.beginStep();
    expect(() => describeOptimizer({ kind: 'momentum', lr: 0.1, momentum: 1.5 }, 100)).toThrow(/momentum must be/);
    expect(() => describeOptimizer({ kind: 'momentum', lr: 0.1, momentum: 0.9, nesterov: true, dampening: 0.1 }, 10)).toThrow(/Nesterov/);
    expect(() => describeOptimizer({ kind: 'adamw', lr: 1e-3, eps: 0 }, 10)).toThrow(/eps/);
    expect(() => sgdStep(step, a, b, { lr: -1 })).toThrow(/lr/);
    expect(() => adamwStep(step, a, b, c, g.createBuffer(400), { lr: 1e-3 }, 0)).toThrow(/step count/);
    expect(() => sgdMomentumStep(step, a, b, a, { lr: 0.1, momentum: 0.9 }, 1)).toThrow(/buffer/);
    expect(() => sgdStep(step, span(a, 0, 50), span(a, 50, 50), { lr: 0.1 })).toThrow(/buffer/);
    expect(() => sgdStep(step, span(a, 0, 50), span(b, 0, 51), { lr: 0.1 })).toThrow(/length mismatch/);
    step.submit();
  });

  it('a steady-state step creates no GPU buffers', async () => {
    const g = gpu();
    const n = 10_007;
    const bufs = [uniform(n, 13), uniform(n, 14)].map((a) => g.upload(a));
    const [bm, bv, bvel] = [g.createBuffer(n * 4), g.createBuffer(n * 4), g.createBuffer(n * 4)];
    const run = async (t: number) => {
      const step = g.beginStep();
      adamwStep(step, bufs[0], bufs[1], bm, bv, { lr: 1e-3 }, t);
      sgdMomentumStep(step, bufs[0], bufs[1], bvel, { lr: 1e-3, momentum: 0.9, nesterov: true }, t);
      sgdStep(step, bufs[0], bufs[1], { lr: 1e-3 });
      step.submit();
      await g.sync();
    };
    await run(1);
    const before = g.stats;
    for (let t = 2; t <= 4; t++) await run(t);
    expect(g.stats.buffersCreated).toBe(before.buffersCreated);
    expect(g.stats.pipelinesCreated).toBe(before.pipelinesCreated);
  });
});
