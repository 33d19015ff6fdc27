import { describe, expect, it } from 'vitest';
import { reference, softmaxCrossEntropy, softmaxRows, span, uploadLabels, validateLabels } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, rng } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Error bound of the kernel's row statistics s = Σ exp(z − max), relative: each invocation folds
 * k = cols / WG elements serially (one rounding each, plus one per rescale when the max grows), the
 * tree merges log2(WG) times (a rescale and an add each), and WGSL's exp is accurate to
 * 3 + 2|x| ulp, |x| ≤ the row's range R. WG mirrors rowWorkgroupSize in src/reduce-encode.ts.
 */
function statsRelError(cols: number, range: number): number {
  const wg = Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(cols))));
  const k = Math.ceil(cols / wg);
  return (2 * k + 2 * Math.log2(wg) + 3 + 2 * range) * U;
}

function maxRowRange(z: ArrayLike<number>, cols: number): number {
  let worst = 0;
  for (let base = 0; base < z.length; base += cols) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < cols; i++) {
      lo = Math.min(lo, z[base + i]);
      hi = Math.max(hi, z[base + i]);
    }
    worst = Math.max(worst, hi - lo);
  }
  return worst;
}

function randomLabels(rows: number, cols: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: rows }, () => Math.floor(r() * cols));
}

describe('softmax and cross-entropy', () => {
  const gpu = useGpu();

  it.each([
    [1, 1],
    [1, 2],
    [3, 7],
    [5, 257],
    [2, 4099],
    [1000, 10],
    [1, 100_003],
  ])('loss, mean loss and gradient of %i×%i logits match float64', async (rows, cols) => {
    const g = gpu();
    const z = normal(rows * cols, rows * 31 + cols, 3);
    const labels = randomLabels(rows, cols, cols);
    const off = 5; // logits at an odd offset of a bigger buffer
    const padded = new Float32Array(off + z.length + 2);
    padded.set(z, off);
    const bz = g.upload(padded);
    const bl = uploadLabels(g, labels, cols);
    const grad = g.createBuffer(z.length * 4);
    const losses = g.createBuffer((rows + 2) * 4);
    const step = g.beginStep();
    softmaxCrossEntropy(g, step, {
      logits: span(bz, off, z.length),
      labels: bl,
      classes: cols,
      grad,
      rowLoss: span(losses, 0, rows),
      meanLoss: span(losses, rows + 1, 1),
    });
    step.submit();
    const want = reference.softmax.crossEntropy(z, labels, cols);
    const rel = statsRelError(cols, maxRowRange(z, cols));
    // loss = log s − (z_l − m): |Δ| ≤ rel (log of s) + log's 2^-21 absolute + rounding of the result.
    const lossTol = { atol: rel + 2 ** -21, rtol: 4 * U };
    const got = await g.readF32(losses);
    expectAllClose(got.subarray(0, rows), want.rowLoss, lossTol, 'row loss');
    expect(got[rows]).toBe(0); // untouched
    // The mean: the row bound plus the tree sum's own rounding (≤ (rows/256 + 8 + 2)·u relative).
    const meanTol = { atol: lossTol.atol, rtol: lossTol.rtol + (Math.ceil(rows / 256) + 10) * U };
    expectAllClose([got[rows + 1]], [want.meanLoss], meanTol, 'mean loss');
    // p = exp(x)/s: relative error rel + exp's (3 + 2R) ulp; absolute ≤ that since p ≤ 1; scaled by 1/B.
    const gradTol = { atol: (rel + (5 + 2 * maxRowRange(z, cols)) * U) / rows, rtol: 0 };
    expectAllClose(await g.readF32(grad), want.grad, gradTol, 'gradient');
  });

  it('the gradient matches central finite differences of the float64 loss', async () => {
    const g = gpu();
    const rows = 3;
    const cols = 5;
    const z = normal(rows * cols, 77);
    const labels = Uint32Array.of(0, 4, 2);
    const bz = g.upload(z);
    const bl = g.upload(labels);
    const grad = g.createBuffer(z.length * 4);
    const step = g.beginStep();
    softmaxCrossEntropy(g, step, { logits: bz, labels: bl, classes: cols, grad });
    step.submit();
    const h = 1e-5; // float64 central differences: O(h²) truncation + O(eps/h) cancellation ≈ 1e-10
    const fd = Float64Array.from(z, (_, i) => {
      const plus = Float64Array.from(z);
      const minus = Float64Array.from(z);
      plus[i] += h;
      minus[i] -= h;
      return (reference.softmax.meanCrossEntropy(plus, labels, cols) - reference.softmax.meanCrossEntropy(minus, labels, cols)) / (2 * h);
    });
    // The GPU gradient is float32 of values ≤ 1/3: a few ulps.
    expectAllClose(await g.readF32(grad), fd, { atol: 1e-7, rtol: 0 }, 'gradient vs finite differences');
  });

  it('stays finite and exact with huge logits (±1e4)', async () => {
    const g = gpu();
    const cols = 6;
    const z = Float32Array.of(
      ...[1e4, -1e4, 0, 1e4 - 1, 5, -3], // two near-equal huge maxima
      ...[-1e4, -1e4, -1e4, -1e4, -1e4, -1e4 + 2],
      ...[1e4, -1e4, 1e4, -1e4, 1e4, -1e4],
    );
    const labels = Uint32Array.of(1, 5, 2);
    const bz = g.upload(z);
    const bl = g.upload(labels);
    const grad = g.createBuffer(z.length * 4);
    const loss = g.createBuffer(4 * 4);
    const step = g.beginStep();
    softmaxCrossEntropy(g, step, { logits: bz, labels: bl, classes: cols, grad, rowLoss: span(loss, 0, 3), meanLoss: span(loss, 3, 1) });
    step.submit();
    const got = await g.readF32(loss);
    expect(Array.from(got).every(Number.isFinite)).toBe(true);
    const want = reference.softmax.crossEntropy(z, labels, cols);
    expectAllClose(got, [...want.rowLoss, want.meanLoss], { atol: 1e-5, rtol: 1e-6 }, 'huge-logit losses'); // row 0 loss is 2e4
    expectAllClose(await g.readF32(grad), want.grad, { atol: 1e-6, rtol: 0 }, 'huge-logit gradient');
  });

  it('gradient in place over the logits, or elsewhere in the same buffer; row loss in that buffer too', async () => {
    const g = gpu();
    const rows = 4;
    const cols = 33;
    const n = rows * cols;
    const z = normal(n, 5, 2);
    const labels = randomLabels(rows, cols, 6);
    const data = new Float32Array(7 + 2 * n + rows);
    data.set(z, 7);
    const inPlace = g.upload(data);
    const other = g.upload(data);
    const bl = g.upload(labels);
    const step = g.beginStep();
    softmaxCrossEntropy(g, step, { logits: span(inPlace, 7, n), labels: bl, classes: cols, grad: span(inPlace, 7, n) });
    softmaxCrossEntropy(g, step, {
      logits: span(other, 7, n),
      labels: bl,
      classes: cols,
      grad: span(other, 7 + n, n),
      rowLoss: span(other, 7 + 2 * n, rows),
    });
    step.submit();
    const want = reference.softmax.crossEntropy(z, labels, cols);
    const tol = { atol: 1e-6, rtol: 0 };
    expectAllClose((await g.readF32(inPlace)).subarray(7, 7 + n), want.grad, tol, 'in-place gradient');
    const o = await g.readF32(other);
    expectAllClose(o.subarray(7, 7 + n), z, { atol: 0, rtol: 0 }, 'logits untouched');
    expectAllClose(o.subarray(7 + n, 7 + 2 * n), want.grad, tol, 'gradient in the logits buffer');
    expectAllClose(o.subarray(7 + 2 * n), want.rowLoss, { atol: 1e-5, rtol: 1e-6 }, 'row loss in the logits buffer');
    expect(() =>
      softmaxCrossEntropy(g, g.beginStep(), { logits: span(other, 7, n), labels: bl, classes: cols, grad: span(other, 8, n) }),
    ).toThrow(/overlaps logits/);
  });

  it('accumulates the mean loss over steps and evaluates without a gradient', async () => {
    const g = gpu();
    const rows = 300;
    const cols = 10;
    const z = normal(rows * cols, 8);
    const labels = randomLabels(rows, cols, 9);
    const bz = g.upload(z);
    const bl = g.upload(labels);
    const acc = g.createBuffer(4);
    for (let k = 0; k < 3; k++) {
      const step = g.beginStep();
      softmaxCrossEntropy(g, step, { logits: bz, labels: bl, classes: cols, meanLoss: acc, accumulateMeanLoss: true });
      step.submit();
    }
    const mean = reference.softmax.crossEntropy(z, labels, cols).meanLoss;
    expectAllClose(await g.readF32(acc), [3 * mean], { atol: 0, rtol: 1e-5 }, 'accumulated mean loss');
  });

  it('out-of-range labels give NaN loss and a NaN gradient row; host-side checks catch them', async () => {
    const g = gpu();
    const cols = 4;
    const z = normal(3 * cols, 10);
    const labels = Uint32Array.of(1, 4, 3); // row 1 is out of range
    const bz = g.upload(z);
    const bl = g.upload(labels);
    const grad = g.createBuffer(z.length * 4);
    const loss = g.createBuffer(4 * 4);
    const step = g.beginStep();
    softmaxCrossEntropy(g, step, { logits: bz, labels: bl, classes: cols, grad, rowLoss: span(loss, 0, 3), meanLoss: span(loss, 3, 1) });
    step.submit();
    const l = await g.readF32(loss);
    const gr = await g.readF32(grad);
    const want = reference.softmax.crossEntropy(z, labels, cols);
    expect(Number.isNaN(l[1]) && Number.isNaN(l[3])).toBe(true);
    expect(Array.from(gr.subarray(cols, 2 * cols)).every(Number.isNaN)).toBe(true);
    expectAllClose([l[0], l[2]], [want.rowLoss[0], want.rowLoss[2]], { atol: 1e-6, rtol: 1e-6 }, 'valid rows');
    expectAllClose([...gr.subarray(0, cols), ...gr.subarray(2 * cols)], [...want.grad.subarray(0, cols), ...want.grad.subarray(2 * cols)], { atol: 1e-7, rtol: 0 }, 'valid gradient rows');
    expect(() => validateLabels([0, 3, 4], 4)).toThrow(/label 2 is 4: labels must be integers in \[0, 4\)/);
    expect(() => uploadLabels(g, [0, -1], 4)).toThrow(/label 1 is -1/);
    expect(() => softmaxCrossEntropy(g, g.beginStep(), { logits: bz, labels: span(bl, 0, 2), classes: cols })).toThrow(/labels has 2 elements, expected 3/);
  });

  it.each([
    [2, 3],
    [1000, 10],
    [1, 100_003],
  ])('row softmax of %i×%i, out of place and in place', async (rows, cols) => {
    const g = gpu();
    const z = normal(rows * cols, rows + 2 * cols, 4);
    const bz = g.upload(z);
    const inPlace = g.upload(z);
    const probs = g.createBuffer(z.length * 4);
    const step = g.beginStep();
    softmaxRows(step, bz, cols, probs);
    softmaxRows(step, inPlace, cols, inPlace);
    step.submit();
    const want = reference.softmax.softmaxRows(z, cols);
    const range = maxRowRange(z, cols);
    const tol = { atol: statsRelError(cols, range) + (5 + 2 * range) * U, rtol: 0 };
    expectAllClose(await g.readF32(probs), want, tol, 'probabilities');
    expectAllClose(await g.readF32(inPlace), want, tol, 'in-place probabilities');
  });

  it('a steady-state call creates no GPU buffers', async () => {
    const g = gpu();
    const rows = 64;
    const cols = 1000;
    const bz = g.upload(normal(rows * cols, 12));
    const bl = g.upload(randomLabels(rows, cols, 13));
    const grad = g.createBuffer(rows * cols * 4);
    const acc = g.createBuffer(4);
    const run = async () => {
      const step = g.beginStep();
      softmaxCrossEntropy(g, step, { logits: bz, labels: bl, classes: cols, grad, meanLoss: acc, accumulateMeanLoss: true });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
