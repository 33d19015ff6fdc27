import { matmul } from '../matmul.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

export const matmulChecks: SelfCheck[] = [
  {
    // A dense layer forward: odd sizes (not multiples of the 64×64 tile), bias, GELU, pre-activation.
    name: 'matmul.forward+bias+gelu',
    async run(gpu) {
      const [m, n, k] = [67, 45, 131];
      const x = checkInput(m * k, 11);
      const w = checkInput(k * n, 12);
      const bias = checkInput(n, 13);
      const [bx, bw, bb, by, bz] = [gpu.upload(x), gpu.upload(w), gpu.upload(bias), gpu.createBuffer(m * n * 4), gpu.createBuffer(m * n * 4)];
      const step = gpu.beginStep();
      matmul(step, bx, bw, by, { m, n, k, bias: bb, activation: 'gelu', preActivation: bz });
      step.submit();
      const want = ref.matmul.matmul(x, w, { m, n, k, bias, activation: 'gelu' });
      const e1 = mixedError(await gpu.readF32(by), want.c);
      const e2 = mixedError(await gpu.readF32(bz), want.preActivation);
      for (const b of [bx, bw, bb, by, bz]) b.destroy();
      // Dot products of 131 terms in [-1, 1]: float32 error ~sqrt(k)·eps·k/3 ≈ 6e-5 at worst here.
      return { maxError: Math.max(e1, e2), tolerance: 1e-4 };
    },
  },
  {
    // A dense layer backward: dW += Xᵀ·dY and dX = dY·Wᵀ.
    name: 'matmul.backward (transposes, accumulate)',
    async run(gpu) {
      const [batch, inputs, outputs] = [33, 70, 29];
      const x = checkInput(batch * inputs, 21);
      const dy = checkInput(batch * outputs, 22);
      const w = checkInput(inputs * outputs, 23);
      const dw0 = checkInput(inputs * outputs, 24);
      const [bx, bdy, bw, bdw, bdx] = [gpu.upload(x), gpu.upload(dy), gpu.upload(w), gpu.upload(dw0), gpu.createBuffer(batch * inputs * 4)];
      const step = gpu.beginStep();
      matmul(step, bx, bdy, bdw, { m: inputs, n: outputs, k: batch, transposeA: true, accumulate: true });
      matmul(step, bdy, bw, bdx, { m: batch, n: inputs, k: outputs, transposeB: true });
      step.submit();
      const wantDw = ref.matmul.matmul(x, dy, { m: inputs, n: outputs, k: batch, transposeA: true }, dw0).c;
      const wantDx = ref.matmul.matmul(dy, w, { m: batch, n: inputs, k: outputs, transposeB: true }).c;
      const err = Math.max(mixedError(await gpu.readF32(bdw), wantDw), mixedError(await gpu.readF32(bdx), wantDx));
      for (const b of [bx, bdy, bw, bdw, bdx]) b.destroy();
      return { maxError: err, tolerance: 1e-4 };
    },
  },
];
