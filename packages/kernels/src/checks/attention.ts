import { attentionBackward, attentionForward, type AttentionShape } from '../attention.js';
import * as ref from '../reference/index.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

export const attentionChecks: SelfCheck[] = [
  {
    // A GPT block's attention: a ragged T (not a multiple of the 16-row block), two heads, forward
    // and the two-pass backward.
    name: 'attention.causal forward+backward',
    async run(gpu) {
      const s: AttentionShape = { batch: 2, seqLen: 19, heads: 2, headDim: 16 };
      const c = s.heads * s.headDim;
      const tokens = s.batch * s.seqLen;
      const qkv = checkInput(tokens * 3 * c, 41, -2, 2);
      const dy = checkInput(tokens * c, 42);
      const rows = s.batch * s.heads * s.seqLen;
      const [bqkv, bdy, by, blse, bd] = [gpu.upload(qkv), gpu.upload(dy), gpu.createBuffer(tokens * c * 4), gpu.createBuffer(rows * 4), gpu.createBuffer(tokens * 3 * c * 4)];
      const step = gpu.beginStep();
      attentionForward(step, s, { qkv: bqkv, y: by, lse: blse });
      attentionBackward(gpu, step, s, { qkv: bqkv, y: by, lse: blse, dy: bdy, dqkv: bd });
      step.submit();
      const want = ref.attention.attentionForward(qkv, s);
      const wantGrad = ref.attention.attentionBackward(qkv, dy, s).dqkv;
      const err = Math.max(
        mixedError(await gpu.readF32(by), want.y),
        mixedError(await gpu.readF32(blse), want.lse),
        mixedError(await gpu.readF32(bd), wantGrad),
      );
      for (const b of [bqkv, bdy, by, blse, bd]) b.destroy();
      // Scores are 16-term dot products and softmax sums ≤ 19 terms: float32 errors ~1e-6 here.
      return { maxError: err, tolerance: 1e-4 };
    },
  },
];
