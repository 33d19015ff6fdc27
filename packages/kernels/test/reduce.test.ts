import { describe, expect, it } from 'vitest';
import {
  argmaxRows,
  countCorrect,
  countCorrectFromLogits,
  createSegmentTable,
  reduceDot,
  reduceNorm,
  reduceSum,
  reduceSumSquares,
  reference,
  segmentNorms,
  segmentSumSquares,
  span,
} from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Worst-case rounding of the two-stage tree sum, |error| ≤ d·u·Σ|terms|, with d the additions any
 * one term goes through: the serial grid-stride loop (n / (groups · 256) per invocation), the
 * log2(256) = 8 levels of the workgroup tree, and in stage 2 the serial fold of the partials (≤ 4
 * per invocation) plus 8 more levels. `groups` mirrors partialCount in src/reduce-encode.ts. The +2
 * covers the product of a dot and the final scale. Typical errors are far smaller (√ of this).
 */
function sumTolerance(n: number, sumAbs: number): number {
  const groups = Math.min(1024, Math.max(1, Math.ceil(n / 2048)));
  const d = Math.ceil(n / (groups * 256)) + 8 + (groups > 1 ? Math.ceil(groups / 256) + 8 : 0) + 2;
  return d * U * sumAbs + 1e-30;
}

describe('reductions', () => {
  const gpu = useGpu();

  it.each([1, 7, 255, 256, 257, 2048, 2049, 4099, 100_003, 1_000_000])('sum, dot, sum of squares and norm of n=%i at an odd offset', async (n) => {
    const g = gpu();
    const off = 3; // not aligned to anything
    const x = normal(n + off + 5, n);
    const y = uniform(n + 2, n + 1, -2, 2);
    const bx = g.upload(x);
    const by = g.upload(y);
    const out = g.createBuffer(8 * 4);
    const xs = span(bx, off, n);
    const ys = span(by, 2, n);
    const step = g.beginStep();
    reduceSum(g, step, xs, span(out, 1, 1));
    reduceDot(g, step, xs, ys, span(out, 2, 1));
    reduceSumSquares(g, step, xs, span(out, 3, 1));
    reduceNorm(g, step, xs, span(out, 4, 1));
    reduceDot(g, step, xs, xs, span(out, 5, 1)); // x·x with one buffer bound twice (read-only)
    step.submit();
    const got = await g.readF32(out);
    const xv = x.subarray(off, off + n);
    const yv = y.subarray(2, 2 + n);
    const r = reference.reduce;
    const prod = Float64Array.from(xv, (v, i) => v * yv[i]);
    const sq = r.sumSquares(xv);
    expectAllClose([got[1]], [r.sum(xv)], { atol: sumTolerance(n, r.sumAbs(xv)), rtol: 0 }, 'sum');
    expectAllClose([got[2]], [r.dot(xv, yv)], { atol: sumTolerance(n, r.sumAbs(prod)), rtol: 0 }, 'dot');
    expectAllClose([got[3], got[5]], [sq, sq], { atol: sumTolerance(n, sq), rtol: 0 }, 'sum of squares');
    // sqrt halves the relative error of Σx², plus ~3 ulp for WGSL's sqrt.
    expectAllClose([got[4]], [Math.sqrt(sq)], { atol: 0, rtol: sumTolerance(n, 1) / 2 + 4 * U }, 'norm');
    expect(got[0]).toBe(0); // neighbours untouched
    expect(got[6]).toBe(0);
  });

  it('scales, accumulates, and writes into the input buffer itself', async () => {
    const g = gpu();
    const n = 1000;
    const x = uniform(n + 4, 7);
    const b = g.upload(x);
    const out = g.upload(Float32Array.of(10, 0));
    const step = g.beginStep();
    reduceSum(g, step, span(b, 0, n), span(out, 0, 1), { scale: 1 / n, accumulate: true }); // 10 + mean
    reduceSum(g, step, span(b, 0, n), span(b, n + 2, 1)); // output aliases the input's buffer
    reduceSum(g, step, span(b, 0, 0), span(out, 1, 1)); // empty: 0
    step.submit();
    const s = reference.reduce.sum(x.subarray(0, n));
    const tol = sumTolerance(n, reference.reduce.sumAbs(x.subarray(0, n)));
    expectAllClose(await g.readF32(out), [10 + s / n, 0], { atol: tol / n + 10 * U, rtol: 0 }, 'accumulated mean');
    const back = await g.readF32(b);
    expectAllClose([back[n + 2]], [s], { atol: tol, rtol: 0 }, 'sum into own buffer');
    expectAllClose(back.subarray(0, n + 2), x.subarray(0, n + 2), { atol: 0, rtol: 0 }, 'input untouched');
  });

  it('reduceNorm over several spans in different buffers is the global norm', async () => {
    const g = gpu();
    const parts = [normal(10, 1), normal(5000, 2), normal(1, 3), normal(100_003, 4)];
    const bufs = parts.map((p) => g.upload(p));
    const out = g.createBuffer(4);
    const step = g.beginStep();
    reduceNorm(g, step, bufs, out);
    step.submit();
    const sq = parts.reduce((a, p) => a + reference.reduce.sumSquares(p), 0);
    expectAllClose(await g.readF32(out), [Math.sqrt(sq)], { atol: 0, rtol: sumTolerance(100_003, 1) / 2 + 4 * U }, 'global norm');
  });

  it.each([
    ['small segments (one dispatch)', [[0, 1], [1, 7], [9, 0], [13, 97], [200, 4096], [5000, 255]]],
    ['large and unequal segments (two dispatches)', [[5, 3], [11, 4097], [4200, 100_003], [104_300, 1], [104_310, 20_000], [130_000, 0]]],
  ] as const)('per-segment sums of squares and norms: %s', async (_name, list) => {
    const g = gpu();
    const segments = list.map(([offset, length]) => ({ offset, length }));
    const extent = Math.max(...segments.map((s) => s.offset + s.length));
    const base = 17; // the table's offsets are relative to a base span at an odd offset
    const data = normal(base + extent + 3, 11);
    const b = g.upload(data);
    const table = createSegmentTable(g, segments);
    const out = g.createBuffer((2 * segments.length + 2) * 4);
    const step = g.beginStep();
    segmentSumSquares(g, step, table, span(b, base, extent), span(out, 1, segments.length));
    segmentNorms(g, step, table, span(b, base, extent), span(out, 1 + segments.length, segments.length));
    step.submit();
    const got = await g.readF32(out);
    const want = reference.reduce.segmentSumSquares(data.subarray(base), segments);
    // Per block: ≤ 16 serial terms + 8 tree levels; per segment: ≤ 25 partials folded + 8 levels.
    const maxLen = Math.max(...segments.map((s) => s.length));
    const d = 16 + 8 + Math.ceil(Math.ceil(maxLen / 4096) / 256) + 8 + 2;
    expectAllClose(got.subarray(1, 1 + segments.length), want, { atol: 1e-30, rtol: d * U }, 'segment sums of squares');
    expectAllClose(got.subarray(1 + segments.length, 1 + 2 * segments.length), Float64Array.from(want, Math.sqrt), { atol: 1e-30, rtol: (d / 2 + 4) * U }, 'segment norms');
    expect([got[0], got[got.length - 1]]).toEqual([0, 0]);
    table.destroy();
  });

  it('segment reductions accept outputs in the base buffer and accumulate', async () => {
    const g = gpu();
    const segments = [{ offset: 0, length: 10 }, { offset: 10, length: 5000 }];
    const data = uniform(5012, 12);
    const b = g.upload(data);
    const table = createSegmentTable(g, segments);
    const acc = g.upload(Float32Array.of(1, 2));
    const step = g.beginStep();
    segmentSumSquares(g, step, table, span(b, 0, 5010), span(b, 5010, 2)); // output inside the base buffer
    segmentSumSquares(g, step, table, span(b, 0, 5010), acc, { accumulate: true, scale: 0.5 });
    step.submit();
    const want = reference.reduce.segmentSumSquares(data, segments);
    expectAllClose((await g.readF32(b)).subarray(5010), want, { atol: 0, rtol: 40 * U }, 'in base buffer');
    expectAllClose(await g.readF32(acc), [1 + want[0] / 2, 2 + want[1] / 2], { atol: 0, rtol: 40 * U }, 'accumulated');
    expect(() => createSegmentTable(g, [{ offset: -1, length: 2 }])).toThrow(/bad offset/);
    expect(() => segmentSumSquares(g, g.beginStep(), table, span(b, 0, 100), acc)).toThrow(/shorter than the segments/);
    table.destroy();
  });

  it.each([
    [1, 1],
    [7, 13],
    [1000, 10],
    [3, 100_003],
    [70_000, 3], // more rows than one grid dimension holds
  ])('argmax of %i×%i rows and correct-prediction counts', async (rows, cols) => {
    const g = gpu();
    const x = normal(rows * cols, rows + cols);
    // Ties → lowest index: duplicate each row's max at a later column, and an earlier one in row 0.
    const want = reference.reduce.argmaxRows(x, cols);
    if (cols > 2) {
      for (let r = 0; r < rows; r++) x[r * cols + cols - 1] = x[r * cols + want[r]];
      x[1] = x[0] = Math.max(...x.subarray(0, cols)) + 1;
    }
    const expected = reference.reduce.argmaxRows(x, cols);
    if (cols > 2) expect(expected[0]).toBe(0);
    const labels = Uint32Array.from(expected, (p, r) => (r % 3 === 0 ? (p + 1) % cols : p));
    const bx = g.upload(x);
    const bl = g.upload(labels);
    const pred = g.createBuffer(rows * 4);
    const counts = g.upload(Float32Array.of(0, 5));
    const step = g.beginStep();
    argmaxRows(step, bx, cols, pred);
    countCorrect(step, pred, bl, span(counts, 0, 1));
    countCorrectFromLogits(g, step, bx, cols, bl, span(counts, 1, 1), { accumulate: true });
    step.submit();
    expect(Array.from(new Uint32Array(await g.read(pred)))).toEqual(Array.from(expected));
    const correct = reference.reduce.countEqual(expected, labels);
    expect(Array.from(await g.readF32(counts))).toEqual([correct, 5 + correct]);
  });

  it('argmax treats NaN as the largest value and handles ±Infinity', async () => {
    const g = gpu();
    const cols = 5;
    const x = Float32Array.of(
      ...[1, NaN, 3, NaN, 2], // first NaN
      ...[-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], // all equal → 0
      ...[0, 1, Infinity, 1, Infinity],
      ...[-1e30, -2e30, -1e30, -3e30, -5], // -5 is the max
    );
    const bx = g.upload(x);
    const pred = g.createBuffer(16);
    const step = g.beginStep();
    argmaxRows(step, bx, cols, pred);
    step.submit();
    const got = Array.from(new Uint32Array(await g.read(pred)));
    expect(got).toEqual([1, 0, 2, 4]);
    expect(got).toEqual(Array.from(reference.reduce.argmaxRows(x, cols)));
    expect(() => argmaxRows(g.beginStep(), bx, 3, pred)).toThrow(/whole number of rows/);
  });

  it('a steady-state call creates no GPU buffers', async () => {
    const g = gpu();
    const n = 300_000;
    const x = g.upload(normal(n, 21));
    const labels = g.upload(new Uint32Array(1000));
    const table = createSegmentTable(g, [{ offset: 0, length: 10_000 }, { offset: 20_000, length: 5 }]);
    const out = g.createBuffer(64);
    const run = async () => {
      const step = g.beginStep();
      reduceSum(g, step, x, span(out, 0, 1));
      reduceDot(g, step, span(x, 0, 1000), span(x, 1, 1000), span(out, 1, 1));
      reduceNorm(g, step, [span(x, 0, 5000), span(x, 7000, 9000)], span(out, 2, 1));
      segmentNorms(g, step, table, x, span(out, 3, 2));
      countCorrectFromLogits(g, step, span(x, 0, 10_000), 10, labels, span(out, 5, 1));
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
    table.destroy();
  });
});
