import { activationForward, axpby, axpy } from '../elementwise.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

export const elementwiseChecks: SelfCheck[] = [
  {
    name: 'elementwise.axpy+axpby',
    async run(gpu) {
      const n = 1031;
      const x = checkInput(n, 1);
      const y = checkInput(n, 2);
      const [bx, by, bz] = [gpu.upload(x), gpu.upload(y), gpu.createBuffer(n * 4)];
      const step = gpu.beginStep();
      axpby(step, 0.5, bx, -2, by, bz);
      axpy(step, 1.5, bx, by);
      step.submit();
      const e1 = mixedError(await gpu.readF32(bz), ref.elementwise.axpby(0.5, x, -2, y));
      const e2 = mixedError(await gpu.readF32(by), ref.elementwise.axpy(1.5, x, y));
      for (const b of [bx, by, bz]) b.destroy();
      return { maxError: Math.max(e1, e2), tolerance: 1e-6 };
    },
  },
  {
    name: 'elementwise.gelu',
    async run(gpu) {
      const n = 513;
      const x = checkInput(n, 3, -6, 6);
      const [bx, by] = [gpu.upload(x), gpu.createBuffer(n * 4)];
      const step = gpu.beginStep();
      activationForward(step, 'gelu', bx, by);
      step.submit();
      const err = mixedError(await gpu.readF32(by), ref.elementwise.gelu(x));
      for (const b of [bx, by]) b.destroy();
      return { maxError: err, tolerance: 1e-5 };
    },
  },
];
