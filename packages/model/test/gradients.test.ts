import { describe, expect, it } from 'vitest';
import { span } from '@gossamer/kernels';
import { Replica, mlp, modelLayout, modelReference, outputsPerSample, parseModelSpec, resolveModel, smallCnn, softmaxRegression, type ModelSpec } from '@gossamer/model';
import { useGpu } from '../../../test/support/gpu.js';
import { normal, rng } from '../../../test/support/numeric.js';

// Every layer's gradient on the GPU (float32) against central finite differences of the float64
// reference loss. Tolerance: the GPU gradient is a float32 computation through a few layers, so its
// error is ~1e-6 relative to the largest gradient entry; we allow 1e-4 · max|g| absolute plus 2e-3
// relative. Finite differences (h = 1e-6 in float64) are accurate to ~1e-9 away from ReLU kinks;
// the random inputs make a kink within h of an evaluation point vanishingly unlikely.
const tiny: Record<string, ModelSpec> = {
  softmax: softmaxRegression(7, 4),
  'mlp relu': mlp(9, [6, 5], 3, 'relu'),
  'mlp gelu': mlp(9, [8], 4, 'gelu'),
  cnn: {
    name: 'tiny-cnn',
    input: { height: 6, width: 5, channels: 2 },
    classes: 3,
    layers: [
      { kind: 'conv2d', filters: 3, kernel: 3, stride: 2, padding: 1, activation: 'relu' },
      { kind: 'conv2d', filters: 4, kernel: 2, stride: 1, padding: 0, activation: 'gelu' },
      { kind: 'dense', units: 5, activation: 'relu' },
      { kind: 'dense', units: 3 },
    ],
  },
};

describe('model gradients vs finite differences', () => {
  const gpu = useGpu();

  it.each(Object.keys(tiny))('%s: every parameter', async (name) => {
    const g = gpu();
    const spec = tiny[name];
    const batch = 5;
    const replica = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr: 0 }, batchSize: batch, seed: 3 });
    const features = 'features' in spec.input ? spec.input.features : spec.input.height * spec.input.width * spec.input.channels;
    const x = normal(batch * features, 11);
    const r = rng(5);
    const labels = Uint32Array.from({ length: batch }, () => Math.floor(r() * spec.classes));
    const step = g.beginStep();
    replica.encodeGradient(step, { features: span(g.upload(x), 0, x.length), labels: { buffer: g.upload(labels), offset: 0, length: batch } });
    step.submit();
    const grads = await g.readF32(replica.grads);
    const params = await replica.getParameters();
    const indices: number[] = [];
    for (const s of replica.layout.segments) for (let i = 0; i < s.length; i++) indices.push(s.offset + i);
    const fd = modelReference.finiteDifferenceGradient(spec, replica.layout, params, x, labels, batch, indices);
    const maxAbs = fd.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    expect(maxAbs).toBeGreaterThan(1e-3);
    indices.forEach((p, j) => {
      const err = Math.abs(grads[p] - fd[j]);
      if (err > 1e-4 * maxAbs + 2e-3 * Math.abs(fd[j])) {
        const seg = replica.layout.segments.find((s) => p >= s.offset && p < s.offset + s.length);
        throw new Error(`${name}: gradient of ${seg?.name}[${p - (seg?.offset ?? 0)}] is ${grads[p]}, finite differences give ${fd[j]}`);
      }
    });
    // The loss itself matches the reference.
    expect(await replica.takeLoss()).toBeCloseTo(modelReference.meanLoss(spec, replica.layout, params, x, labels, batch), 5);
    // Padding between segments has zero gradient, so it never moves.
    const real = new Set(indices);
    for (let i = 0; i < grads.length; i++) if (!real.has(i)) expect(grads[i]).toBe(0);
    replica.destroy();
  });

  it('model specs resolve to the documented shapes and bad specs fail with the fix', () => {
    const cnn = resolveModel(smallCnn());
    expect(cnn.map((l) => outputsPerSample(l))).toEqual([14 * 14 * 16, 7 * 7 * 32, 128, 10]);
    expect(modelLayout(mlp(784, [256, 256], 10)).parameterCount).toBe(784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    expect(() => resolveModel({ ...mlp(4, [3], 2), classes: 3 })).toThrow(/last layer must be dense with 3 units/);
    expect(() => resolveModel({ name: 'x', input: { features: 4 }, classes: 2, layers: [{ kind: 'conv2d', filters: 2, kernel: 3 }, { kind: 'dense', units: 2 }] })).toThrow(
      /needs an image input/,
    );
    expect(() => parseModelSpec('mlp:12,x', [4], 2)).toThrow(/hidden width "x"/);
    expect(() => parseModelSpec('cnn', [784], 10)).toThrow(/needs image inputs/);
    expect(parseModelSpec('mlp:32,16:gelu', [1, 28, 28], 10).layers.map((l) => (l.kind === 'dense' ? l.units : 0))).toEqual([32, 16, 10]);
  });
});
