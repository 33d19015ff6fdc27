import { describe, expect, it } from 'vitest';
import { matmul, reference, span } from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, uniform } from '../../../test/support/numeric.js';

// The two fused backward forms of the matmul kernel, against float64 references:
// activationGradient (C = op(A)·op(B) ⊙ act'(pre)) and columnSums (Σ_k op(B)[k, :] beside C).
// Tolerance as in matmul.test.ts: 4·√k·eps·(Σ|a·b|) for a length-k float32 dot product, plus a few
// ulps relative for the derivative (GELU's uses tanh).
const F32_EPS = 2 ** -23;

describe('matmul backward epilogues', () => {
  const gpu = useGpu();

  it.each([
    ['relu', 37, 70, 45, false, true],
    ['gelu', 65, 33, 17, false, true],
    ['relu', 9, 130, 64, true, false],
  ] as const)('activationGradient %s: %i×%i×%i', async (activation, m, n, k, transposeA, transposeB) => {
    const g = gpu();
    const a = normal(m * k, m);
    const b = normal(k * n, n);
    const pre = normal(m * n, k);
    const out = g.createBuffer(4 * (m * n + 5));
    const step = g.beginStep();
    matmul(step, g.upload(a), g.upload(b), span(out, 5, m * n), {
      m,
      n,
      k,
      transposeA,
      transposeB,
      alpha: 0.5,
      activationGradient: { activation, preActivation: g.upload(pre) },
    });
    step.submit();
    const product = reference.matmul.matmul(a, b, { m, n, k, transposeA, transposeB, alpha: 0.5 }).c;
    const derivative =
      activation === 'relu' ? reference.elementwise.reluBackward(pre, new Float64Array(m * n).fill(1)) : reference.elementwise.geluBackward(pre, new Float64Array(m * n).fill(1));
    const want = product.map((v, i) => v * derivative[i]);
    const scale = reference.matmul.matmulAbsScale(a, b, { m, n, k, transposeA, transposeB, alpha: 0.5 }).reduce((x, y) => Math.max(x, y), 0);
    expectAllClose(await g.readF32(out, 5, m * n), want, { atol: 4 * Math.sqrt(k) * F32_EPS * scale * 1.2, rtol: 1e-5 }, 'dZ');
  });

  it.each([
    [70, 33, 130],
    [784, 10, 128],
    [5, 3, 1],
  ])('columnSums beside dW = Xᵀ·dZ: in=%i out=%i batch=%i, written into one flat gradient buffer', async (inputs, outputs, batch) => {
    const g = gpu();
    const x = uniform(batch * inputs, inputs);
    const dz = normal(batch * outputs, outputs);
    // dW and db as 256-byte-aligned segments of one buffer, as in a flat gradient buffer.
    const wLen = inputs * outputs;
    const bOff = Math.ceil(wLen / 64) * 64;
    const grads = g.createBuffer(4 * (bOff + 64));
    const step = g.beginStep();
    matmul(step, g.upload(x), g.upload(dz), span(grads, 0, wLen), {
      m: inputs,
      n: outputs,
      k: batch,
      transposeA: true,
      columnSums: span(grads, bOff, outputs),
    });
    step.submit();
    const dw = reference.matmul.matmul(x, dz, { m: inputs, n: outputs, k: batch, transposeA: true }).c;
    const db = new Float64Array(outputs);
    for (let r = 0; r < batch; r++) for (let j = 0; j < outputs; j++) db[j] += dz[r * outputs + j];
    const atol = 4 * Math.sqrt(batch) * F32_EPS * batch * 4;
    expectAllClose(await g.readF32(grads, 0, wLen), dw, { atol, rtol: 1e-6 }, 'dW');
    expectAllClose(await g.readF32(grads, bOff, outputs), db, { atol, rtol: 1e-6 }, 'db');
  });

  it('rejects combinations it cannot fuse', () => {
    const g = gpu();
    const [a, b, c] = [g.createBuffer(24), g.createBuffer(48), g.createBuffer(32)];
    const step = g.beginStep();
    const pre = g.createBuffer(32);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, bias: g.createBuffer(16), activationGradient: { activation: 'relu', preActivation: pre } })).toThrow(
      /activationGradient excludes bias/,
    );
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, activationGradient: { activation: 'relu', preActivation: g.createBuffer(28) } })).toThrow(
      /activationGradient.preActivation .* needs 8 floats/,
    );
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, columnSums: g.createBuffer(12) })).toThrow(/columnSums needs n = 4 floats/);
    expect(() => matmul(step, a, b, c, { m: 2, n: 4, k: 3, columnSums: span(c, 4, 4) })).toThrow(/C and columnSums share a buffer/);
  });
});
