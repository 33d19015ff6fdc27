import { describe, expect, it } from 'vitest';
import {
  clipByGlobalNorm,
  clipByValue,
  clipSegmentsByGlobalNorm,
  clipSegmentsByNorm,
  createSegmentTable,
  reference,
  span,
} from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Relative error of a clipped value x · maxNorm / ‖x‖: ‖x‖² is a sum of positive terms with relative
 * error ≤ d·u (d: additions per term, ≤ 16 serial + 8 + 4 + 8 levels for these sizes, see
 * reduce.test.ts), the root halves it, WGSL's sqrt and division add ~3 ulp each, the product 1 more.
 */
const CLIP_RTOL = (40 / 2 + 8) * U;

function norm(x: ArrayLike<number>): number {
  return Math.sqrt(reference.reduce.sumSquares(x));
}

describe('clipping', () => {
  const gpu = useGpu();

  it.each([1, 257, 100_003])('clip by value clamps a span in place (n=%i)', async (n) => {
    const g = gpu();
    const x = uniform(n + 10, n, -3, 3);
    const b = g.upload(x);
    const step = g.beginStep();
    clipByValue(step, span(b, 5, n), 1.25);
    step.submit();
    const want = Float64Array.from(x);
    want.set(reference.clip.clipByValue(x.subarray(5, 5 + n), 1.25), 5);
    expectAllClose(await g.readF32(b), want, { atol: 0, rtol: 0 }, 'clamped'); // exact: a clamp rounds nothing
    expect(() => clipByValue(step, b, -1)).toThrow(/limit/);
  });

  it.each([7, 4099, 1_000_000])('clip by global norm of one span: below the threshold is a no-op, above it scales (n=%i)', async (n) => {
    const g = gpu();
    const x = normal(n + 3, n);
    const xs = x.subarray(3);
    const nrm = norm(xs);
    const below = g.upload(x);
    const above = g.upload(x);
    const norms = g.createBuffer(3 * 4);
    const step = g.beginStep();
    clipByGlobalNorm(g, step, span(below, 3, n), nrm * 1.01, { norm: span(norms, 0, 1) });
    clipByGlobalNorm(g, step, span(above, 3, n), nrm / 4, { norm: span(norms, 2, 1) });
    step.submit();
    // No-op: bit for bit (the kernel skips its writes when the factor is 1).
    expectAllClose(await g.readF32(below), x, { atol: 0, rtol: 0 }, 'below threshold');
    const got = await g.readF32(above);
    expectAllClose(got.subarray(0, 3), x.subarray(0, 3), { atol: 0, rtol: 0 }, 'outside the span');
    expectAllClose(got.subarray(3), reference.clip.clipByGlobalNorm([xs], nrm / 4).values[0], { atol: 1e-30, rtol: CLIP_RTOL }, 'clipped');
    expectAllClose([norm(got.subarray(3))], [nrm / 4], { atol: 0, rtol: CLIP_RTOL + 1e-6 }, 'clipped norm');
    const reported = await g.readF32(norms);
    expectAllClose([reported[0], reported[2]], [nrm, nrm], { atol: 0, rtol: CLIP_RTOL }, 'pre-clip norms');
    expect(reported[1]).toBe(0);
  });

  it('clip by global norm across spans in several buffers, norm written into one of them', async () => {
    const g = gpu();
    const parts = [normal(10, 1), normal(5000, 2, 0.1), normal(1, 3)];
    const bufs = parts.map((p) => g.upload(Float32Array.of(...p, 0)));
    const zero = g.createBuffer(64 * 4); // all zeros: clipping must leave it zero, not NaN
    const step = g.beginStep();
    // The norm lands in the last element of the first buffer, which is also being clipped.
    clipByGlobalNorm(g, step, parts.map((p, i) => span(bufs[i], 0, p.length)), 1, { norm: span(bufs[0], 10, 1) });
    clipByGlobalNorm(g, step, zero, 1);
    step.submit();
    const want = reference.clip.clipByGlobalNorm(parts, 1);
    expect(want.norm).toBeGreaterThan(1);
    for (let i = 0; i < parts.length; i++) {
      const got = await g.readF32(bufs[i]);
      expectAllClose(got.subarray(0, parts[i].length), want.values[i], { atol: 1e-30, rtol: CLIP_RTOL }, `span ${i}`);
      if (i === 0) expectAllClose([got[10]], [want.norm], { atol: 0, rtol: CLIP_RTOL }, 'norm in a clipped buffer');
    }
    expect(Array.from(new Set(await g.readF32(zero)))).toEqual([0]);
  });

  it('per-segment and segment-global clipping at non-aligned offsets leave the gaps alone', async () => {
    const g = gpu();
    // Segment 1 spans several 4096-element blocks; segment 3 is empty; gaps between segments.
    const segments = [
      { offset: 1, length: 13 },
      { offset: 20, length: 9001 },
      { offset: 9030, length: 1 },
      { offset: 9040, length: 0 },
      { offset: 9041, length: 257 },
    ];
    const extent = 9041 + 257;
    const base = 7;
    const data = normal(base + extent + 2, 31);
    data[base + 9030] = 0.5; // a one-element segment below the threshold
    const rel = data.subarray(base);
    const maxNorm = 3; // segments 0, 1 and 4 are above it
    const perSeg = g.upload(data);
    const global = g.upload(data);
    const out = g.createBuffer(8 * 4);
    const table = createSegmentTable(g, segments);
    const step = g.beginStep();
    clipSegmentsByNorm(g, step, table, span(perSeg, base, extent), maxNorm, { norms: span(out, 1, segments.length) });
    clipSegmentsByGlobalNorm(g, step, table, span(global, base, extent), maxNorm, { norm: span(out, 7, 1) });
    step.submit();
    const wantPer = reference.clip.clipSegmentsByNorm(rel, segments, maxNorm);
    const wantGlobal = reference.clip.clipSegmentsByNorm(rel, segments, maxNorm, true);
    const tol = { atol: 1e-30, rtol: CLIP_RTOL };
    const gotPer = await g.readF32(perSeg);
    expectAllClose(gotPer.subarray(0, base), data.subarray(0, base), { atol: 0, rtol: 0 }, 'before the base');
    expectAllClose(gotPer.subarray(base), wantPer.values, tol, 'per-segment clipped (gaps untouched)');
    expect(gotPer[base + 9030]).toBe(0.5);
    expectAllClose((await g.readF32(global)).subarray(base), wantGlobal.values, tol, 'globally clipped');
    const norms = await g.readF32(out);
    expectAllClose(norms.subarray(1, 6), wantPer.norms, tol, 'segment norms');
    expectAllClose([norms[7]], wantGlobal.norms, tol, 'global norm');
    expect([norms[0], norms[6]]).toEqual([0, 0]);
    table.destroy();
  });

  it('a steady-state call creates no GPU buffers', async () => {
    const g = gpu();
    const x = g.upload(normal(200_000, 41));
    const y = g.upload(normal(300, 42));
    const metrics = g.createBuffer(16 * 4);
    const table = createSegmentTable(g, [{ offset: 0, length: 50_000 }, { offset: 60_000, length: 100 }]);
    const run = async () => {
      const step = g.beginStep();
      clipByGlobalNorm(g, step, [x, y], 10, { norm: span(metrics, 0, 1) });
      clipByGlobalNorm(g, step, [span(x, 0, 100), span(x, 200, 100)], 1, { norm: span(x, 150, 1) }); // scratch + copy path
      clipSegmentsByNorm(g, step, table, x, 5, { norms: span(metrics, 1, 2) });
      clipSegmentsByGlobalNorm(g, step, table, x, 5);
      clipByValue(step, y, 0.5);
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
    table.destroy();
  });
});
