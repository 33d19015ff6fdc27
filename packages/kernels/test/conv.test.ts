import { describe, expect, it } from 'vitest';
import { col2im, convOutputSize, im2col, im2colLength, matmul, reference, span, type ConvGeometry } from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

// im2col only moves values: it must be bit-exact. col2im sums at most KH·KW terms of magnitude ≤ 4
// (normal draws), so float32 rounding is below 1e-5 absolute; the conv via im2col + matmul is a
// length-KH·KW·C dot product and gets the matmul tolerance.
const geometries: ConvGeometry[] = [
  { batch: 2, height: 7, width: 5, channels: 3, kernelH: 3, kernelW: 3, stride: 1, padding: 1 },
  { batch: 3, height: 28, width: 28, channels: 1, kernelH: 5, kernelW: 5, stride: 2, padding: 2 },
  { batch: 1, height: 9, width: 11, channels: 4, kernelH: 2, kernelW: 3, stride: 3, padding: 0 },
];

describe('convolution kernels (im2col, col2im)', () => {
  const gpu = useGpu();

  it.each(geometries)('im2col is exact and im2col + matmul equals a direct convolution (%o)', async (geo) => {
    const g = gpu();
    const images = uniform(geo.batch * geo.height * geo.width * geo.channels, geo.height, -1, 1);
    const n = im2colLength(geo);
    const col = g.createBuffer(4 * (n + 3));
    const step = g.beginStep();
    im2col(step, g.upload(images), span(col, 3, n), geo);
    const filters = 6;
    const taps = geo.kernelH * geo.kernelW * geo.channels;
    const weights = normal(taps * filters, 7);
    const bias = normal(filters, 8);
    const { outH, outW } = convOutputSize(geo);
    const rows = geo.batch * outH * outW;
    const y = g.createBuffer(4 * rows * filters);
    matmul(step, span(col, 3, n), g.upload(weights), y, { m: rows, n: filters, k: taps, bias: g.upload(bias) });
    step.submit();
    const want = reference.conv.im2col(images, geo);
    const got = await g.readF32(col, 3, n);
    expect(Array.from(got)).toEqual(Array.from(Float32Array.from(want)));
    const direct = reference.conv.conv2d(images, weights, bias, filters, geo);
    expectAllClose(await g.readF32(y), direct, { atol: 4 * Math.sqrt(taps) * 2 ** -23 * taps * 4, rtol: 1e-6 }, 'conv');
  });

  it.each(geometries)('col2im is the adjoint of im2col, with the fused activation derivative (%o)', async (geo) => {
    const g = gpu();
    const n = im2colLength(geo);
    const size = geo.batch * geo.height * geo.width * geo.channels;
    const dcol = normal(n, size);
    const pre = normal(size, n);
    const [plain, fused] = [g.createBuffer(4 * size), g.createBuffer(4 * size)];
    const step = g.beginStep();
    const dcolBuffer = g.upload(dcol);
    col2im(step, dcolBuffer, plain, geo);
    col2im(step, dcolBuffer, fused, geo, { activationGradient: { activation: 'relu', preActivation: g.upload(pre) } });
    step.submit();
    const want = reference.conv.col2im(dcol, geo);
    expectAllClose(await g.readF32(plain), want, { atol: 1e-5, rtol: 1e-6 }, 'col2im');
    const relu = Array.from(pre, (v) => (v > 0 ? 1 : 0));
    expectAllClose(await g.readF32(fused), reference.conv.col2im(dcol, geo, relu), { atol: 1e-5, rtol: 1e-6 }, 'col2im ⊙ relu′');
    // Adjointness: <im2col(x), d> = <x, col2im(d)> in float64.
    const x = uniform(size, 3);
    const lhs = reference.conv.im2col(x, geo).reduce((s, v, i) => s + v * dcol[i], 0);
    const rhs = want.reduce((s, v, i) => s + v * x[i], 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-9 * (1 + Math.abs(lhs)));
  });

  it('rejects kernels that do not fit and wrong span lengths', () => {
    const g = gpu();
    expect(() => convOutputSize({ batch: 1, height: 3, width: 3, channels: 1, kernelH: 5, kernelW: 5, stride: 1, padding: 0 })).toThrow(/does not fit/);
    const step = g.beginStep();
    const geo = geometries[0];
    expect(() => im2col(step, g.createBuffer(16), g.createBuffer(4 * im2colLength(geo)), geo)).toThrow(/images needs 210 floats/);
  });
});
