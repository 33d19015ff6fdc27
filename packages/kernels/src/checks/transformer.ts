// Self-checks of the transformer kernels (LayerNorm, token + position embedding): one small
// GPU-vs-float64 check each, forward and backward together.
import { embeddingBackward, embeddingForward } from '../embedding.js';
import { layerNormBackward, layerNormForward } from '../layernorm.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';
import { span } from '../span.js';

export const transformerChecks: SelfCheck[] = [
  {
    name: 'layernorm.forward_backward',
    async run(gpu) {
      const [rows, cols] = [19, 77];
      const n = rows * cols;
      const x = checkInput(n, 61, 1, 3);
      const params = checkInput(2 * cols, 62, 0.5, 1.5);
      const dy = checkInput(n, 63);
      const [bx, bp, bdy] = [gpu.upload(x), gpu.upload(params), gpu.upload(dy)];
      const [by, bs, bdx, bg] = [n, 2 * rows, n, 2 * cols].map((f) => gpu.createBuffer(f * 4));
      const gamma = span(bp, 0, cols);
      const step = gpu.beginStep();
      layerNormForward(step, { x: bx, cols, gamma, beta: span(bp, cols, cols), y: by, stats: bs });
      layerNormBackward(gpu, step, { x: bx, cols, gamma, stats: bs, dy: bdy, dx: bdx, dgamma: span(bg, 0, cols), dbeta: span(bg, cols, cols) });
      step.submit();
      const g = params.subarray(0, cols);
      const fwd = ref.layernorm.layerNormForward(x, g, params.subarray(cols), cols);
      const bwd = ref.layernorm.layerNormBackward(x, g, dy, cols);
      const err = Math.max(
        mixedError(await gpu.readF32(by), fwd.y),
        mixedError(await gpu.readF32(bdx), bwd.dx),
        mixedError(await gpu.readF32(bg), [...bwd.dgamma, ...bwd.dbeta]),
      );
      for (const b of [bx, bp, bdy, by, bs, bdx, bg]) b.destroy();
      return { maxError: err, tolerance: 2e-5 };
    },
  },
  {
    name: 'embedding.forward_backward',
    async run(gpu) {
      const [vocab, cols, seq, batch] = [29, 37, 11, 5];
      const n = seq * batch;
      const tokens = Uint32Array.from(checkInput(n, 71, 0, vocab), Math.floor);
      const params = checkInput((vocab + seq) * cols, 72);
      const dout = checkInput(n * cols, 73);
      const [bt, bp, bd] = [gpu.upload(tokens), gpu.upload(params), gpu.upload(dout)];
      const [bo, bg] = [gpu.createBuffer(n * cols * 4), gpu.createBuffer(params.length * 4)];
      const [te, pe] = [vocab * cols, seq * cols];
      const step = gpu.beginStep();
      embeddingForward(step, { tokens: bt, cols, seq, wte: span(bp, 0, te), wpe: span(bp, te, pe), out: bo });
      embeddingBackward(step, { tokens: bt, cols, seq, dout: bd, dwte: span(bg, 0, te), dwpe: span(bg, te, pe) });
      step.submit();
      const want = ref.embedding.embeddingBackward(tokens, dout, vocab, cols, seq);
      const err = Math.max(
        mixedError(await gpu.readF32(bo), ref.embedding.embeddingForward(tokens, params.subarray(0, te), params.subarray(te), cols, seq)),
        mixedError(await gpu.readF32(bg), [...want.dwte, ...want.dwpe]),
      );
      for (const b of [bt, bp, bd, bo, bg]) b.destroy();
      return { maxError: err, tolerance: 1e-6 };
    },
  },
];
