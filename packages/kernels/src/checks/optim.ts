// Self-checks of the optimizer, gossip-mixing, wire-packing and Network Lasso ADMM kernels: one small
// GPU-vs-reference check per family.
import { admmSquaredDistanceF32, admmThetaF32, admmZUpdate, admmLambdaOverRho } from '../admm.js';
import { mixNeighbours, mixingWeights } from '../mix.js';
import { adamwStep } from '../optim.js';
import { packValues, packedWords, unpackValues } from '../pack.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

export const optimChecks: SelfCheck[] = [
  {
    name: 'optim.adamw',
    async run(gpu) {
      const n = 1031;
      const x = checkInput(n, 11);
      const g = checkInput(n, 12);
      const m = checkInput(n, 13, -0.1, 0.1);
      const v = checkInput(n, 14, 0, 0.01);
      const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
      const bufs = [gpu.upload(x), gpu.upload(g), gpu.upload(m), gpu.upload(v)];
      const step = gpu.beginStep();
      adamwStep(step, bufs[0], bufs[1], bufs[2], bufs[3], h, 3);
      step.submit();
      const want = ref.optim.adamw(x, g, m, v, h, 3);
      const err = Math.max(
        mixedError(await gpu.readF32(bufs[0]), want.x),
        mixedError(await gpu.readF32(bufs[2]), want.expAvg),
        mixedError(await gpu.readF32(bufs[3]), want.expAvgSq),
      );
      for (const b of bufs) b.destroy();
      return { maxError: err, tolerance: 1e-5 };
    },
  },
  {
    name: 'mix.neighbours',
    async run(gpu) {
      const n = 1031;
      const k = 7;
      const x = checkInput(n, 21);
      const received = checkInput(k * n, 22);
      const weights = mixingWeights(0.3, Array.from({ length: k }, (_, i) => 0.1 * ((i % 3) + 1) / 2));
      const [bx, br, bw] = [gpu.upload(x), gpu.upload(received), gpu.upload(weights)];
      const step = gpu.beginStep();
      mixNeighbours(step, { x: bx, received: br, count: k, weights: bw });
      step.submit();
      const err = mixedError(await gpu.readF32(bx), ref.mix.mixNeighbours(x, received, k, weights));
      for (const b of [bx, br, bw]) b.destroy();
      return { maxError: err, tolerance: 1e-6 };
    },
  },
  {
    name: 'pack.fp16+bf16+int8',
    async run(gpu) {
      const n = 1031;
      const x = checkInput(n, 31, -4, 4);
      const bx = gpu.upload(x);
      const outputs: Record<'fp16' | 'bf16' | 'int8', GPUBuffer> = {
        fp16: gpu.createBuffer(n * 4),
        bf16: gpu.createBuffer(n * 4),
        int8: gpu.createBuffer(n * 4),
      };
      const packed = (['fp16', 'bf16', 'int8'] as const).map((f) => gpu.createBuffer(4 * packedWords(f, n)));
      const step = gpu.beginStep();
      (['fp16', 'bf16', 'int8'] as const).forEach((f, i) => {
        packValues(step, f, bx, packed[i]);
        unpackValues(step, f, packed[i], outputs[f]);
      });
      step.submit();
      // Errors relative to each format's own bound: fp16 2^-11, bf16 2^-8 relative; int8 half a step.
      const fp16 = mixedError(await gpu.readF32(outputs.fp16), x) / 2 ** -11;
      const bf16 = mixedError(await gpu.readF32(outputs.bf16), x) / 2 ** -8;
      const absmax = x.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      const int8 = mixedError(await gpu.readF32(outputs.int8), x) / (absmax / 127 / 2);
      for (const b of [bx, ...Object.values(outputs), ...packed]) b.destroy();
      return { maxError: Math.max(fp16, bf16, int8), tolerance: 1.001 };
    },
  },
  {
    name: 'admm.z-update',
    async run(gpu) {
      const nodes = 40;
      const d = 10;
      const e = 60;
      // Edge k joins k mod N to a different node.
      const edges = new Uint32Array(2 * e);
      for (let k = 0; k < e; k++) {
        edges[2 * k] = k % nodes;
        edges[2 * k + 1] = (k + 1 + ((7 * k) % (nodes - 1))) % nodes;
      }
      const x = checkInput(nodes * d, 41);
      const u = checkInput(2 * e * d, 42, -0.2, 0.2);
      const w = checkInput(e, 43, 0.5, 1.5);
      const penalty = { lambda: 0.3, rho: 1 };
      const [bx, bu, be, bw] = [gpu.upload(x), gpu.upload(u), gpu.upload(edges), gpu.upload(w)];
      const [bz, bt] = [gpu.createBuffer(2 * e * d * 4), gpu.createBuffer(e * 4)];
      const step = gpu.beginStep();
      admmZUpdate(step, { x: bx, u: bu, z: bz, theta: bt, edges: be, weights: bw, dim: d }, penalty);
      step.submit();
      const want = ref.admm.zUpdate(x, u, edges, w, d, penalty.lambda, penalty.rho);
      const theta = await gpu.readF32(bt);
      // θ must match the host's float32 mirror bit for bit: count mismatches as infinite error.
      const lor = admmLambdaOverRho(penalty);
      let bitMismatch = 0;
      for (let k = 0; k < e; k++) {
        const a = Float32Array.from({ length: d }, (_, t) => x[edges[2 * k] * d + t] + u[2 * k * d + t]);
        const b = Float32Array.from({ length: d }, (_, t) => x[edges[2 * k + 1] * d + t] + u[(2 * k + 1) * d + t]);
        if (!Object.is(theta[k], admmThetaF32(admmSquaredDistanceF32(a, b), lor, w[k]))) bitMismatch++;
      }
      const err = Math.max(mixedError(await gpu.readF32(bz), want.z), mixedError(theta, want.theta), bitMismatch > 0 ? Infinity : 0);
      for (const b of [bx, bu, be, bw, bz, bt]) b.destroy();
      return { maxError: err, tolerance: 1e-5 };
    },
  },
];
