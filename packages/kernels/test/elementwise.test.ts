import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward, axpby, axpy, copy, fill, reference, scale, span } from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, uniform } from '../../../test/support/numeric.js';

// float32 elementwise ops against float64: one rounding per op, so a few ulps.
const TOL = { atol: 1e-6, rtol: 1e-6 };
const SIZES = [1, 7, 255, 256, 257, 4099, 100_003];

describe('elementwise kernels', () => {
  const gpu = useGpu();

  it.each(SIZES)('axpy and axpby on n=%i', async (n) => {
    const g = gpu();
    const x = uniform(n, 1);
    const y = uniform(n, 2);
    const bx = g.upload(x);
    const by = g.upload(y);
    const bz = g.createBuffer(n * 4);
    const step = g.beginStep();
    axpby(step, 0.5, bx, -2, by, bz);
    axpy(step, 1.5, bx, by);
    step.submit();
    expectAllClose(await g.readF32(bz), reference.elementwise.axpby(0.5, x, -2, y), TOL, 'axpby');
    expectAllClose(await g.readF32(by), reference.elementwise.axpy(1.5, x, y), TOL, 'axpy');
  });

  it('fill, scale and copy respect spans (offsets) and leave the rest untouched', async () => {
    const g = gpu();
    const n = 1000;
    const data = uniform(n, 3);
    const b = g.upload(data);
    const other = g.createBuffer(n * 4);
    const step = g.beginStep();
    fill(step, span(other), 0);
    fill(step, span(b, 10, 5), 7);
    scale(step, span(b, 100, 50), -3);
    copy(step, span(b, 200, 100), span(b, 600, 100)); // within one buffer
    copy(step, span(b, 0, 300), span(other, 700, 300), 2); // across buffers, scaled
    step.submit();
    const got = await g.readF32(b);
    const want = Float64Array.from(data);
    for (let i = 10; i < 15; i++) want[i] = 7;
    for (let i = 100; i < 150; i++) want[i] *= -3;
    for (let i = 0; i < 100; i++) want[600 + i] = want[200 + i];
    expectAllClose(got, want, TOL, 'fill/scale/copy');
    const gotOther = await g.readF32(other);
    const wantOther = new Float64Array(n);
    for (let i = 0; i < 300; i++) wantOther[700 + i] = 2 * want[i];
    expectAllClose(gotOther, wantOther, TOL, 'scaled copy');
  });

  it('rejects overlapping in-buffer copies and mismatched lengths', () => {
    const g = gpu();
    const b = g.createBuffer(400);
    const step = g.beginStep();
    expect(() => copy(step, span(b, 0, 50), span(b, 25, 50))).toThrow(/overlapping/);
    expect(() => axpy(step, 1, span(b, 0, 10), span(g.createBuffer(400), 0, 11))).toThrow(/length mismatch/);
    expect(() => span(b, 90, 20)).toThrow(/exceeds/);
    step.submit();
  });

  it.each([1, 97, 65_537])('ReLU and GELU forward/backward on n=%i', async (n) => {
    const g = gpu();
    const x = uniform(n, 4, -6, 6);
    const dy = uniform(n, 5);
    const bx = g.upload(x);
    const yr = g.createBuffer(n * 4);
    const yg = g.createBuffer(n * 4);
    const gr = g.upload(dy);
    const gg = g.upload(dy);
    const step = g.beginStep();
    activationForward(step, 'relu', bx, yr);
    activationForward(step, 'gelu', bx, yg);
    activationBackward(step, 'relu', bx, gr);
    activationBackward(step, 'gelu', bx, gg);
    step.submit();
    expectAllClose(await g.readF32(yr), reference.elementwise.relu(x), TOL, 'relu');
    expectAllClose(await g.readF32(gr), reference.elementwise.reluBackward(x, dy), TOL, 'relu backward');
    // GELU goes through tanh: allow a few more ulps of the float32 transcendental.
    const gelTol = { atol: 2e-6, rtol: 1e-5 };
    expectAllClose(await g.readF32(yg), reference.elementwise.gelu(x), gelTol, 'gelu');
    expectAllClose(await g.readF32(gg), reference.elementwise.geluBackward(x, dy), gelTol, 'gelu backward');
  });

  it('folds very long 1-D ranges into a 2-D grid', async () => {
    const g = gpu();
    const n = 256 * 65_535 + 1000; // more workgroups than one dimension allows
    const b = g.createBuffer(n * 4);
    const step = g.beginStep();
    fill(step, b, 0.25);
    step.submit();
    const tail = await g.readF32(b, n - 2000, 2000);
    expect(Array.from(new Set(tail))).toEqual([0.25]);
  });
});
