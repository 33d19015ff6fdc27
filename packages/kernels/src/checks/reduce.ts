import { clipByGlobalNorm } from '../clip.js';
import { argmaxRows, createSegmentTable, reduceDot, reduceSum, segmentSumSquares } from '../reduce.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';
import { softmaxCrossEntropy } from '../softmax.js';
import { span } from '../span.js';

/** Reductions, fused softmax + cross-entropy and clipping: one small check per family. */
export const reduceChecks: SelfCheck[] = [
  {
    name: 'reduce.sum+dot+segments+argmax',
    async run(gpu) {
      // Two stages (n > one workgroup's share), segments spanning several blocks, odd offsets.
      const n = 50_021;
      const x = checkInput(n, 1);
      const y = checkInput(n, 2);
      const segments = [
        { offset: 3, length: 10 },
        { offset: 20, length: 9001 },
        { offset: 9100, length: 1 },
      ];
      const cols = 7;
      const rows = Math.floor(n / cols);
      const [bx, by, out] = [gpu.upload(x), gpu.upload(y), gpu.createBuffer(8 * 4)];
      const pred = gpu.createBuffer(rows * 4);
      const table = createSegmentTable(gpu, segments);
      const step = gpu.beginStep();
      reduceSum(gpu, step, bx, span(out, 0, 1));
      reduceDot(gpu, step, bx, by, span(out, 1, 1));
      segmentSumSquares(gpu, step, table, bx, span(out, 2, segments.length));
      argmaxRows(step, span(bx, 0, rows * cols), cols, pred);
      step.submit();
      const got = await gpu.readF32(out, 0, 2 + segments.length);
      const want = [ref.reduce.sum(x), ref.reduce.dot(x, y), ...ref.reduce.segmentSumSquares(x, segments)];
      // A float32 sum's rounding error scales with Σ|terms|, not with the (cancelling) result.
      const absTerms = [
        ref.reduce.sumAbs(x),
        ref.reduce.sumAbs(x.map((v, i) => v * y[i])),
        ...ref.reduce.segmentSumSquares(x, segments),
      ];
      let errSums = 0;
      want.forEach((w, i) => (errSums = Math.max(errSums, Math.abs(got[i] - w) / (1 + absTerms[i]))));
      const predictions = new Uint32Array(await gpu.read(pred));
      const wantPredictions = ref.reduce.argmaxRows(x.subarray(0, rows * cols), cols);
      const argmaxError = predictions.every((p, i) => p === wantPredictions[i]) ? 0 : Infinity;
      for (const b of [bx, by, out, pred]) b.destroy();
      table.destroy();
      // Bound: ≤ ~30 additions per term (serial + two trees), 30·2^-24 ≈ 2e-6.
      return { maxError: Math.max(errSums, argmaxError), tolerance: 1e-5 };
    },
  },
  {
    name: 'softmax.cross-entropy',
    async run(gpu) {
      const rows = 37;
      const cols = 301;
      const z = checkInput(rows * cols, 3, -8, 8);
      const labels = Uint32Array.from({ length: rows }, (_, r) => (r * 97) % cols);
      const [bz, bl, grad, loss] = [gpu.upload(z), gpu.upload(labels), gpu.createBuffer(rows * cols * 4), gpu.createBuffer((rows + 1) * 4)];
      const step = gpu.beginStep();
      softmaxCrossEntropy(gpu, step, { logits: bz, labels: bl, classes: cols, grad, rowLoss: span(loss, 0, rows), meanLoss: span(loss, rows, 1) });
      step.submit();
      const want = ref.softmax.crossEntropy(z, labels, cols);
      const errLoss = mixedError(await gpu.readF32(loss), [...want.rowLoss, want.meanLoss]);
      // Gradient entries are ≤ 1/rows: compare them scaled by rows.
      const errGrad = mixedError((await gpu.readF32(grad)).map((v) => v * rows), want.grad.map((v) => v * rows));
      for (const b of [bz, bl, grad, loss]) b.destroy();
      return { maxError: Math.max(errLoss, errGrad), tolerance: 1e-5 };
    },
  },
  {
    name: 'clip.global-norm',
    async run(gpu) {
      const parts = [checkInput(1000, 4), checkInput(20_011, 5)];
      const bufs = parts.map((p) => gpu.upload(p));
      const normOut = gpu.createBuffer(4);
      const maxNorm = 10; // the joint norm is ≈ √(21011/3) ≈ 84: clipping happens
      const step = gpu.beginStep();
      clipByGlobalNorm(gpu, step, bufs, maxNorm, { norm: normOut });
      step.submit();
      const want = ref.clip.clipByGlobalNorm(parts, maxNorm);
      let err = mixedError(await gpu.readF32(normOut), [want.norm]);
      for (let i = 0; i < parts.length; i++) err = Math.max(err, mixedError(await gpu.readF32(bufs[i]), want.values[i]));
      for (const b of [...bufs, normOut]) b.destroy();
      return { maxError: err, tolerance: 1e-5 };
    },
  },
];
