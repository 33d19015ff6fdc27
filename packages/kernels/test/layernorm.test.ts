import { describe, expect, it } from 'vitest';
import { layerNormBackward, layerNormForward, reference, span } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * First-order error bounds of the kernels against exact arithmetic, from float32 unit roundoff u.
 * Row pass (WG = rowWorkgroupSize(cols), mirrored here): each invocation folds k = ⌈cols/WG⌉
 * elements serially, a tree merges log2(WG) levels, so a row sum carries (k + L)·u·Σ|terms|.
 *  - μ: (k + L + 2)·u·mean|x| (the sum, the 1/n product and its rounding).
 *  - var = mean((x − μ̃)²): an error δμ in μ enters only at second order (Σ (x − μ) = 0), so
 *    (k + L + 4)·u relative; rstd = inverseSqrt(var + eps): half that plus inverseSqrt's 2 ulp (4u).
 *  - x̂ = (x − μ̃)·r̃: rstd·(δμ + u|x − μ|) + |x̂|·(e_r + u);  y = fma(x̂, γ, β): |γ|·e_x̂ + u|y|.
 *  - dx = r̃·(gγ − A − x̂·B), A = mean(gγ), B = mean(gγ·x̂): the errors of gγ (u), A ((k + L + 2)·u·
 *    mean|gγ|), B (mean(|gγ|·e_x̂) + (k + L + 3)·u·mean|gγ·x̂|), x̂·B, three roundings of the
 *    combination, then e_r + u relative.
 * Column pass (chunks of ≤ 256 rows; 16 row lanes each sum ≤ 16 of them, then a 4-level tree; with
 * S > 1 chunks a serial sum of the S partials): dβ carries (⌈min(rows, 256)/16⌉ + 4 + S)·u·Σ|g|;
 * dγ that for Σ|g·x̂| plus u per product and Σ|g|·e_x̂ from x̂.
 * The bounds are maxima over the elements (atol), so each test's tolerance is its worst case.
 */
function errorBounds(x: Float32Array, gamma: Float32Array, beta: Float32Array, dy: Float32Array, cols: number, eps: number) {
  const rows = x.length / cols;
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(cols))));
  const kl = Math.ceil(cols / wg) + Math.log2(wg);
  const { mean, rstd } = reference.layernorm.layerNormForward(x, gamma, beta, cols, eps);
  const chunks = Math.ceil(rows / 256);
  const kr = Math.ceil(Math.min(rows, 256) / 16) + 4 + (chunks > 1 ? chunks : 0);
  let y = 0;
  let dx = 0;
  const dgErr = new Float64Array(cols);
  const dgAbs = new Float64Array(cols);
  const dbAbs = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let absX = 0;
    for (let i = 0; i < cols; i++) absX += Math.abs(x[base + i]) / cols;
    const dMu = (kl + 2) * U * absX;
    const eR = ((kl + 4) / 2 + 5) * U;
    const xh = (i: number) => (x[base + i] - mean[r]) * rstd[r];
    const eXh = (i: number) => rstd[r] * (dMu + U * Math.abs(x[base + i] - mean[r])) + Math.abs(xh(i)) * (eR + U);
    let a = 0;
    let b = 0;
    let absGg = 0;
    let absGgXh = 0;
    let ggEXh = 0;
    for (let i = 0; i < cols; i++) {
      const gg = dy[base + i] * gamma[i];
      a += gg / cols;
      b += (gg * xh(i)) / cols;
      absGg += Math.abs(gg) / cols;
      absGgXh += Math.abs(gg * xh(i)) / cols;
      ggEXh += (Math.abs(gg) * eXh(i)) / cols;
      y = Math.max(y, Math.abs(gamma[i]) * eXh(i) + U * Math.abs(xh(i) * gamma[i] + beta[i]));
      dgErr[i] += Math.abs(dy[base + i]) * eXh(i);
      dgAbs[i] += Math.abs(dy[base + i] * xh(i));
      dbAbs[i] += Math.abs(dy[base + i]);
    }
    const dA = (kl + 2) * U * absGg;
    const dB = ggEXh + (kl + 3) * U * absGgXh;
    for (let i = 0; i < cols; i++) {
      const gg = dy[base + i] * gamma[i];
      const v = rstd[r] * (gg - a - xh(i) * b);
      const inner = U * Math.abs(gg) + dA + eXh(i) * Math.abs(b) + Math.abs(xh(i)) * dB + 3 * U * (Math.abs(gg) + Math.abs(a) + Math.abs(xh(i) * b));
      dx = Math.max(dx, rstd[r] * inner + (eR + 2 * U) * Math.abs(v));
    }
  }
  let dgamma = 0;
  let dbeta = 0;
  for (let i = 0; i < cols; i++) {
    dgamma = Math.max(dgamma, dgErr[i] + (kr + 1) * U * dgAbs[i]);
    dbeta = Math.max(dbeta, kr * U * dbAbs[i]);
  }
  // A floor of a few ulps of 1 for values that round to exactly representable ones (e.g. C = 1).
  const floor = 4 * U;
  return { y: y + floor, dx: dx + floor, dgamma: dgamma + floor, dbeta: dbeta + floor };
}

function shifted(n: number, seed: number, shift: number, std = 1): Float32Array {
  return Float32Array.from(normal(n, seed, std), (v) => v + shift);
}

describe('LayerNorm', () => {
  const gpu = useGpu();

  it.each([
    [1, 1],
    [1, 7],
    [3, 33],
    [5, 256],
    [4, 300],
    [70, 48],
    [17, 1000],
    [600, 20], // 3 chunks of rows: partials, then their sum per column
  ])('forward and backward of %i×%i rows match float64 (parameters at offsets of flat buffers)', async (rows, cols) => {
    const g = gpu();
    const n = rows * cols;
    const eps = 1e-5;
    // A mean of 3 and σ 2: a one-pass E[x²] − μ² would lose digits here; the two-pass form does not.
    const x = shifted(n, rows * 13 + cols, 3, 2);
    const gamma = shifted(cols, cols + 1, 1, 0.5);
    const beta = normal(cols, cols + 2);
    const dy = normal(n, cols + 3);
    const xOff = 3;
    const xs = new Float32Array(xOff + n + 1);
    xs.set(x, xOff);
    // Flat parameters: [pad 5 | γ | pad 2 | β]; flat gradients the same layout, sentinels elsewhere.
    const gOff = 5;
    const bOff = gOff + cols + 2;
    const flat = new Float32Array(bOff + cols + 1).fill(7);
    flat.set(gamma, gOff);
    flat.set(beta, bOff);
    const bx = g.upload(xs);
    const bp = g.upload(flat);
    const by = g.createBuffer(n * 4);
    const bs = g.createBuffer(2 * rows * 4);
    const bdy = g.upload(dy);
    const bdx = g.createBuffer(n * 4);
    const bgr = g.upload(new Float32Array(flat.length).fill(-9));
    const step = g.beginStep();
    const xSpan = span(bx, xOff, n);
    layerNormForward(step, { x: xSpan, cols, gamma: span(bp, gOff, cols), beta: span(bp, bOff, cols), y: by, stats: bs, eps });
    layerNormBackward(g, step, {
      x: xSpan,
      cols,
      gamma: span(bp, gOff, cols),
      stats: bs,
      dy: bdy,
      dx: bdx,
      dgamma: span(bgr, gOff, cols),
      dbeta: span(bgr, bOff, cols),
    });
    step.submit();
    const fwd = reference.layernorm.layerNormForward(x, gamma, beta, cols, eps);
    const bwd = reference.layernorm.layerNormBackward(x, gamma, dy, cols, eps);
    const tol = errorBounds(x, gamma, beta, dy, cols, eps);
    expectAllClose(await g.readF32(by), fwd.y, { atol: tol.y, rtol: 0 }, 'y');
    const stats = await g.readF32(bs);
    // μ: (k + L + 2)·u·mean|x| ≤ 16u·max|x| for these shapes; rstd: e_r ≤ 12u relative.
    expectAllClose(stats.subarray(0, rows), fwd.mean, { atol: 16 * U * x.reduce((m, v) => Math.max(m, Math.abs(v)), 0), rtol: 0 }, 'mean');
    expectAllClose(stats.subarray(rows), fwd.rstd, { atol: 0, rtol: 12 * U }, 'rstd');
    expectAllClose(await g.readF32(bdx), bwd.dx, { atol: tol.dx, rtol: 0 }, 'dx');
    const grads = await g.readF32(bgr);
    expectAllClose(grads.subarray(gOff, gOff + cols), bwd.dgamma, { atol: tol.dgamma, rtol: 0 }, 'dgamma');
    expectAllClose(grads.subarray(bOff, bOff + cols), bwd.dbeta, { atol: tol.dbeta, rtol: 0 }, 'dbeta');
    // Overwrite mode touches nothing outside dγ and dβ.
    const outside = [...grads.subarray(0, gOff), ...grads.subarray(gOff + cols, bOff), ...grads.subarray(bOff + cols)];
    expect(outside.every((v) => v === -9)).toBe(true);
  });

  it.each([6, 270])('accumulates dx, dgamma and dbeta when asked (%i rows)', async (rows) => {
    const g = gpu();
    const cols = 40;
    const n = rows * cols;
    const x = normal(n, 1);
    const gamma = shifted(cols, 2, 1, 0.3);
    const beta = normal(cols, 3);
    const dy = normal(n, 4);
    const prior = normal(n, 5);
    const priorG = normal(2 * cols, 6);
    const bx = g.upload(x);
    const bp = g.upload(Float32Array.of(...gamma, ...beta));
    const bs = g.createBuffer(2 * rows * 4);
    const by = g.createBuffer(n * 4);
    const bdy = g.upload(dy);
    const bdx = g.upload(prior);
    const bgr = g.upload(priorG);
    const step = g.beginStep();
    const gammaSpan = span(bp, 0, cols);
    layerNormForward(step, { x: bx, cols, gamma: gammaSpan, beta: span(bp, cols, cols), y: by, stats: bs });
    layerNormBackward(g, step, {
      x: bx,
      cols,
      gamma: gammaSpan,
      stats: bs,
      dy: bdy,
      dx: bdx,
      dgamma: span(bgr, 0, cols),
      dbeta: span(bgr, cols, cols),
      accumulateDx: true,
      accumulateParams: true,
    });
    step.submit();
    const bwd = reference.layernorm.layerNormBackward(x, gamma, dy, cols);
    const tol = errorBounds(x, gamma, beta, dy, cols, 1e-5);
    // One more rounding for the add: u relative to the sum.
    const sum = (a: ArrayLike<number>, b: ArrayLike<number>, o = 0) => Float64Array.from(b, (v, i) => a[i + o] + v);
    expectAllClose(await g.readF32(bdx), sum(prior, bwd.dx), { atol: tol.dx, rtol: U }, 'dx += ');
    const grads = await g.readF32(bgr);
    expectAllClose(grads.subarray(0, cols), sum(priorG, bwd.dgamma), { atol: tol.dgamma, rtol: U }, 'dgamma += ');
    expectAllClose(grads.subarray(cols), sum(priorG, bwd.dbeta, cols), { atol: tol.dbeta, rtol: U }, 'dbeta += ');
  });

  it('the float64 backward matches central finite differences of the float64 forward', () => {
    const [rows, cols] = [3, 6];
    const x = Float64Array.from(normal(rows * cols, 21), (v) => v + 1);
    const gamma = Float64Array.from(normal(cols, 22), (v) => v + 1);
    const beta = Float64Array.from(normal(cols, 23));
    const w = Float64Array.from(normal(rows * cols, 24)); // L = Σ w ⊙ y, so dL/dy = w
    const loss = (xv: ArrayLike<number>, gv: ArrayLike<number>, bv: ArrayLike<number>) =>
      reference.layernorm.layerNormForward(xv, gv, bv, cols).y.reduce((s, y, i) => s + y * w[i], 0);
    const want = reference.layernorm.layerNormBackward(x, gamma, w, cols);
    const h = 1e-5; // O(h²) truncation + O(1e-16/h) cancellation: ~1e-10
    const fd = (v: Float64Array, f: (p: Float64Array) => number) =>
      Float64Array.from(v, (_, i) => {
        const [plus, minus] = [Float64Array.from(v), Float64Array.from(v)];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - f(minus)) / (2 * h);
      });
    const tol = { atol: 1e-8, rtol: 1e-7 };
    expectAllClose(want.dx, fd(x, (p) => loss(p, gamma, beta)), tol, 'dx');
    expectAllClose(want.dgamma, fd(gamma, (p) => loss(x, p, beta)), tol, 'dgamma');
    expectAllClose(want.dbeta, fd(beta, (p) => loss(x, gamma, p)), tol, 'dbeta');
  });

  it('is deterministic: two backward runs give the same bits', async () => {
    const g = gpu();
    const [rows, cols] = [530, 24]; // 3 chunks: both dγ/dβ dispatches
    const n = rows * cols;
    const bx = g.upload(normal(n, 31));
    const bp = g.upload(normal(2 * cols, 32));
    const bs = g.createBuffer(2 * rows * 4);
    const by = g.createBuffer(n * 4);
    const bdy = g.upload(normal(n, 33));
    const outs = [0, 1].map(() => ({ dx: g.createBuffer(n * 4), gr: g.createBuffer(2 * cols * 4) }));
    const step = g.beginStep();
    const gamma = span(bp, 0, cols);
    layerNormForward(step, { x: bx, cols, gamma, beta: span(bp, cols, cols), y: by, stats: bs });
    for (const o of outs) {
      layerNormBackward(g, step, { x: bx, cols, gamma, stats: bs, dy: bdy, dx: o.dx, dgamma: span(o.gr, 0, cols), dbeta: span(o.gr, cols, cols) });
    }
    step.submit();
    const bits = async (b: GPUBuffer) => new Uint32Array((await g.readF32(b)).buffer);
    expect(await bits(outs[1].dx)).toEqual(await bits(outs[0].dx));
    expect(await bits(outs[1].gr)).toEqual(await bits(outs[0].gr));
  });

  it('rejects mismatched shapes and aliased outputs', () => {
    const g = gpu();
    const b = g.createBuffer(64 * 4);
    const other = g.createBuffer(64 * 4);
    const step = g.beginStep();
    const args = { x: span(b, 0, 12), cols: 4, gamma: span(other, 0, 4), beta: span(other, 4, 4), y: span(other, 8, 12), stats: g.createBuffer(6 * 4) };
    expect(() => layerNormForward(step, { ...args, cols: 5 })).toThrow(/whole number of rows/);
    expect(() => layerNormForward(step, { ...args, gamma: span(other, 0, 3) })).toThrow(/gamma has 3/);
    expect(() => layerNormForward(step, args)).toThrow(/shares its buffer/);
    expect(() =>
      layerNormBackward(g, step, { x: span(b, 0, 12), cols: 4, gamma: span(other, 0, 4), stats: span(b, 12, 6), dy: span(b, 20, 12), dgamma: span(other, 8, 4) }),
    ).toThrow(/together/);
    step.submit();
  });

  it('a steady-state forward + backward creates no GPU buffers', async () => {
    const g = gpu();
    const [rows, cols] = [300, 32]; // 2 chunks: the partials come from the pool
    const n = rows * cols;
    const bx = g.upload(normal(n, 41));
    const bp = g.upload(normal(2 * cols, 42));
    const bs = g.createBuffer(2 * rows * 4);
    const by = g.createBuffer(n * 4);
    const bdy = g.upload(normal(n, 43));
    const bdx = g.createBuffer(n * 4);
    const bgr = g.createBuffer(2 * cols * 4);
    const gamma = span(bp, 0, cols);
    const run = async () => {
      const step = g.beginStep();
      layerNormForward(step, { x: bx, cols, gamma, beta: span(bp, cols, cols), y: by, stats: bs });
      layerNormBackward(g, step, { x: bx, cols, gamma, stats: bs, dy: bdy, dx: bdx, dgamma: span(bgr, 0, cols), dbeta: span(bgr, cols, cols), accumulateParams: true });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
