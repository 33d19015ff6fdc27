// The GPU graph of a GPT at a fixed batch of B sequences of T = ctx tokens (N = B·T rows), every
// activation buffer allocated once by the constructor, so encoding a step creates no GPU buffer.
//
// Forward (pre-LN blocks):     x0 = wte[tokens] + wpe                        1 dispatch
//   per block                  a = LN1(x); qkv = a·Wqkv + b                  2
//                              y = causal attention(qkv)                     1
//                              xm = x + y·Wp + b   (copy, matmul accumulate) 2
//                              c = LN2(xm); f = gelu(c·Wfc + b)              2
//                              x' = xm + f·Wmp + b (copy, matmul accumulate) 2
//   head                       h = LNf(xL); logits = h·wteᵀ (tied)           2
//   loss                       fused softmax CE (loss and dlogits) + mean    1 + reduce(N)
// Backward, g = dL/d(residual stream), updated in place:
//   head                       dwte = dlogitsᵀ·h (overwrites); dh = dlogits·wte        2
//                              g = LNf'(dh), dγ, dβ                                    1 + p
//   per block                  dWmp, dbmp; dpre = g·Wmpᵀ ⊙ gelu'(pre)                 2
//                              dWfc, dbfc; dc = dpre·Wfcᵀ; g += LN2'(dc), dγ, dβ       3 + p
//                              dWp, dbp; dy = g·Wpᵀ; dqkv = attention'(dy)             4
//                              dWqkv, dbqkv; da = dqkv·Wqkvᵀ; g += LN1'(da), dγ, dβ    3 + p
//   embedding                  dwte += scatter(g); dwpe                                2
// where p is 1 when N ≤ LAYERNORM_PARAM_CHUNK_ROWS, else 2, and reduce(N) the mean loss's
// dispatches (1 up to 2048 rows). Attention is one dispatch forward and two backward for all heads,
// so the count grows with layers, never with heads (see gptDispatches).
import { STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import {
  attentionBackward,
  attentionForward,
  copy,
  embeddingBackward,
  embeddingForward,
  LAYERNORM_PARAM_CHUNK_ROWS,
  layerNormBackward,
  layerNormForward,
  matmul,
  softmaxCrossEntropy,
  span,
  type F32Span,
  type IndexSpan,
} from '@gossamer/kernels';
import type { ParameterLayout } from '../layout.js';
import { blockNames, GPT_NAMES } from './layout.js';
import { headSize, type GptConfig } from './spec.js';

/** One batch as the graph reads it: N = B·T u32 token ids and, per token, the id that follows it. */
export interface GptBatch {
  readonly tokens: IndexSpan;
  readonly targets: IndexSpan;
}

interface BlockBuffers {
  /** The block's input (the residual stream before it). */
  x: GPUBuffer;
  ln1: GPUBuffer;
  stats1: GPUBuffer;
  qkv: GPUBuffer;
  att: GPUBuffer;
  lse: GPUBuffer;
  xMid: GPUBuffer;
  ln2: GPUBuffer;
  stats2: GPUBuffer;
  fcPre: GPUBuffer;
  fc: GPUBuffer;
}

interface BackwardBuffers {
  /** dL/d(residual stream) [N, C]. */
  g: GPUBuffer;
  /** dL/d(an LN output or the attention output) [N, C], reused down the blocks. */
  dc: GPUBuffer;
  dfc: GPUBuffer;
  dqkv: GPUBuffer;
  delta: GPUBuffer;
}

/** Dispatches of one forward (with the loss) and one backward at `batch` sequences of cfg.ctx tokens. */
export function gptDispatches(cfg: GptConfig, batch: number): { forward: number; backward: number } {
  const rows = batch * cfg.ctx;
  const p = rows <= LAYERNORM_PARAM_CHUNK_ROWS ? 1 : 2;
  // encodeScalarReduce finishes in one workgroup up to 256 threads × 8 rows.
  const reduce = rows <= 2048 ? 1 : 2;
  return { forward: 4 + reduce + 9 * cfg.layers, backward: 5 + p + cfg.layers * (12 + 2 * p) };
}

export class GptGraph {
  readonly rows: number;
  private readonly blocks: BlockBuffers[];
  private readonly xFinal: GPUBuffer;
  private readonly lnf: GPUBuffer;
  private readonly statsf: GPUBuffer;
  private readonly logitsBuffer: GPUBuffer;
  private readonly rowLoss: GPUBuffer;
  private readonly lossBuffer: GPUBuffer;
  private readonly back?: BackwardBuffers;
  private readonly owned: GPUBuffer[] = [];
  /** Dispatches the last encodeForward / encodeBackward recorded. */
  lastDispatches = { forward: 0, backward: 0 };

  /**
   * @param training also allocate the backward's buffers; the forward then leaves dlogits (the
   *   gradient of the mean loss) in place of the logits, to save a [N, V] buffer.
   */
  constructor(
    private readonly gpu: Gpu,
    readonly config: GptConfig,
    private readonly layout: ParameterLayout,
    readonly batch: number,
    readonly training: boolean,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`GptGraph: batch must be a positive integer, got ${batch}`);
    const { width: C, mlp: M, vocab: V, heads: H, ctx: T } = config;
    const n = batch * T;
    this.rows = n;
    const alloc = (floats: number, name: string) => {
      const b = gpu.createBuffer(4 * Math.max(floats, 4), STORAGE_USAGE, `gpt/${name}`);
      this.owned.push(b);
      return b;
    };
    this.blocks = Array.from({ length: config.layers }, (_, l) => ({
      x: alloc(n * C, `h${l}.x`),
      ln1: alloc(n * C, `h${l}.ln1`),
      stats1: alloc(2 * n, `h${l}.ln1.stats`),
      qkv: alloc(n * 3 * C, `h${l}.qkv`),
      att: alloc(n * C, `h${l}.att`),
      lse: alloc(batch * H * T, `h${l}.lse`),
      xMid: alloc(n * C, `h${l}.xmid`),
      ln2: alloc(n * C, `h${l}.ln2`),
      stats2: alloc(2 * n, `h${l}.ln2.stats`),
      fcPre: alloc(n * M, `h${l}.fc.pre`),
      fc: alloc(n * M, `h${l}.fc`),
    }));
    this.xFinal = alloc(n * C, 'xfinal');
    this.lnf = alloc(n * C, 'lnf');
    this.statsf = alloc(2 * n, 'lnf.stats');
    this.logitsBuffer = alloc(n * V, 'logits');
    this.rowLoss = alloc(n, 'row-loss');
    this.lossBuffer = alloc(1, 'loss');
    if (training) {
      this.back = {
        g: alloc(n * C, 'grad.residual'),
        dc: alloc(n * C, 'grad.c'),
        dfc: alloc(n * M, 'grad.fc'),
        dqkv: alloc(n * 3 * C, 'grad.qkv'),
        delta: alloc(batch * H * T, 'grad.attention-delta'),
      };
    }
  }

  /** [N, V] logits of the last forward (dlogits after a training forward). */
  get logits(): F32Span {
    return span(this.logitsBuffer, 0, this.rows * this.config.vocab);
  }

  /** One float: the mean cross-entropy of the last forward. */
  get loss(): F32Span {
    return span(this.lossBuffer, 0, 1);
  }

  private param(buffer: GPUBuffer, name: string): F32Span {
    const s = this.layout.segment(name);
    return span(buffer, s.offset, s.length);
  }

  private act(buffer: GPUBuffer, cols: number): F32Span {
    return span(buffer, 0, this.rows * cols);
  }

  private attentionShape() {
    return { batch: this.batch, seqLen: this.config.ctx, heads: this.config.heads, headDim: headSize(this.config) };
  }

  private checkBatch(b: GptBatch): void {
    if (b.tokens.length !== this.rows || b.targets.length !== this.rows) {
      throw new Error(`GptGraph: a batch needs ${this.batch}·${this.config.ctx} = ${this.rows} tokens and targets, got ${b.tokens.length} and ${b.targets.length}`);
    }
  }

  /**
   * Encodes the forward pass and the loss: `loss` receives the mean next-token cross-entropy and,
   * in a training graph, `logits` the gradient of that mean with respect to the logits. With
   * `accumulateLoss`, the mean is added to `loss` instead (a trainer sums steps and reads every k).
   */
  encodeForward(step: StepEncoder, params: GPUBuffer, batch: GptBatch, options: { accumulateLoss?: boolean } = {}): void {
    this.checkBatch(batch);
    const start = step.dispatches;
    const { width: C, mlp: M, vocab: V, ctx: T } = this.config;
    const n = this.rows;
    const p = (name: string) => this.param(params, name);
    const x0 = this.blocks.length > 0 ? this.blocks[0].x : this.xFinal;
    embeddingForward(step, { tokens: batch.tokens, cols: C, seq: T, wte: p(GPT_NAMES.wte), wpe: p(GPT_NAMES.wpe), out: this.act(x0, C) });
    this.blocks.forEach((b, l) => {
      const nm = blockNames(l);
      const next = l + 1 < this.blocks.length ? this.blocks[l + 1].x : this.xFinal;
      layerNormForward(step, { x: this.act(b.x, C), cols: C, gamma: p(nm.ln1Gamma), beta: p(nm.ln1Beta), y: this.act(b.ln1, C), stats: span(b.stats1, 0, 2 * n) });
      matmul(step, this.act(b.ln1, C), p(nm.qkvWeight), this.act(b.qkv, 3 * C), { m: n, n: 3 * C, k: C, bias: p(nm.qkvBias) });
      attentionForward(step, this.attentionShape(), { qkv: this.act(b.qkv, 3 * C), y: this.act(b.att, C), lse: span(b.lse, 0, n * this.config.heads) });
      // The residual add: xm starts as x and the projection (with its bias) accumulates onto it.
      copy(step, this.act(b.x, C), this.act(b.xMid, C));
      matmul(step, this.act(b.att, C), p(nm.projWeight), this.act(b.xMid, C), { m: n, n: C, k: C, bias: p(nm.projBias), accumulate: true });
      layerNormForward(step, { x: this.act(b.xMid, C), cols: C, gamma: p(nm.ln2Gamma), beta: p(nm.ln2Beta), y: this.act(b.ln2, C), stats: span(b.stats2, 0, 2 * n) });
      matmul(step, this.act(b.ln2, C), p(nm.fcWeight), this.act(b.fc, M), {
        m: n,
        n: M,
        k: C,
        bias: p(nm.fcBias),
        activation: 'gelu',
        preActivation: this.act(b.fcPre, M),
      });
      copy(step, this.act(b.xMid, C), this.act(next, C));
      matmul(step, this.act(b.fc, M), p(nm.mlpProjWeight), this.act(next, C), { m: n, n: C, k: M, bias: p(nm.mlpProjBias), accumulate: true });
    });
    layerNormForward(step, {
      x: this.act(this.xFinal, C),
      cols: C,
      gamma: p(GPT_NAMES.lnfGamma),
      beta: p(GPT_NAMES.lnfBeta),
      y: this.act(this.lnf, C),
      stats: span(this.statsf, 0, 2 * n),
    });
    matmul(step, this.act(this.lnf, C), p(GPT_NAMES.wte), this.logits, { m: n, n: V, k: C, transposeB: true });
    softmaxCrossEntropy(this.gpu, step, {
      logits: this.logits,
      labels: batch.targets,
      classes: V,
      grad: this.training ? this.logits : undefined,
      rowLoss: span(this.rowLoss, 0, n),
      meanLoss: this.loss,
      accumulateMeanLoss: options.accumulateLoss ?? false,
    });
    this.lastDispatches.forward = step.dispatches - start;
  }

  /**
   * Encodes the backward pass after a training `encodeForward` of the same batch: every gradient
   * segment of `grads` is overwritten (never accumulated onto earlier contents); padding is untouched.
   */
  encodeBackward(step: StepEncoder, params: GPUBuffer, grads: GPUBuffer, batch: GptBatch): void {
    const bk = this.back;
    if (!bk) throw new Error('GptGraph: encodeBackward on an inference graph');
    this.checkBatch(batch);
    const start = step.dispatches;
    const { width: C, mlp: M, vocab: V, ctx: T } = this.config;
    const n = this.rows;
    const p = (name: string) => this.param(params, name);
    const d = (name: string) => this.param(grads, name);
    const g = this.act(bk.g, C);
    const dc = this.act(bk.dc, C);
    const dfc = this.act(bk.dfc, M);
    const dqkv = this.act(bk.dqkv, 3 * C);

    // Tied head: its wte gradient overwrites dwte; the embedding's accumulates onto it at the end.
    matmul(step, this.logits, this.act(this.lnf, C), d(GPT_NAMES.wte), { m: V, n: C, k: n, transposeA: true });
    matmul(step, this.logits, p(GPT_NAMES.wte), dc, { m: n, n: C, k: V });
    layerNormBackward(this.gpu, step, {
      x: this.act(this.xFinal, C),
      cols: C,
      gamma: p(GPT_NAMES.lnfGamma),
      stats: span(this.statsf, 0, 2 * n),
      dy: dc,
      dx: g,
      dgamma: d(GPT_NAMES.lnfGamma),
      dbeta: d(GPT_NAMES.lnfBeta),
    });
    for (let l = this.blocks.length - 1; l >= 0; l--) {
      const b = this.blocks[l];
      const nm = blockNames(l);
      // MLP: x' = xm + gelu(LN2(xm)·Wfc + bfc)·Wmp + bmp.
      matmul(step, this.act(b.fc, M), g, d(nm.mlpProjWeight), { m: M, n: C, k: n, transposeA: true, columnSums: d(nm.mlpProjBias) });
      matmul(step, g, p(nm.mlpProjWeight), dfc, { m: n, n: M, k: C, transposeB: true, activationGradient: { activation: 'gelu', preActivation: this.act(b.fcPre, M) } });
      matmul(step, this.act(b.ln2, C), dfc, d(nm.fcWeight), { m: C, n: M, k: n, transposeA: true, columnSums: d(nm.fcBias) });
      matmul(step, dfc, p(nm.fcWeight), dc, { m: n, n: C, k: M, transposeB: true });
      layerNormBackward(this.gpu, step, {
        x: this.act(b.xMid, C),
        cols: C,
        gamma: p(nm.ln2Gamma),
        stats: span(b.stats2, 0, 2 * n),
        dy: dc,
        dx: g,
        accumulateDx: true,
        dgamma: d(nm.ln2Gamma),
        dbeta: d(nm.ln2Beta),
      });
      // Attention: xm = x + attention(LN1(x)·Wqkv + bqkv)·Wp + bp.
      matmul(step, this.act(b.att, C), g, d(nm.projWeight), { m: C, n: C, k: n, transposeA: true, columnSums: d(nm.projBias) });
      matmul(step, g, p(nm.projWeight), dc, { m: n, n: C, k: C, transposeB: true });
      attentionBackward(this.gpu, step, this.attentionShape(), {
        qkv: this.act(b.qkv, 3 * C),
        y: this.act(b.att, C),
        lse: span(b.lse, 0, n * this.config.heads),
        dy: dc,
        dqkv,
        delta: span(bk.delta, 0, n * this.config.heads),
      });
      matmul(step, this.act(b.ln1, C), dqkv, d(nm.qkvWeight), { m: C, n: 3 * C, k: n, transposeA: true, columnSums: d(nm.qkvBias) });
      matmul(step, dqkv, p(nm.qkvWeight), dc, { m: n, n: C, k: 3 * C, transposeB: true });
      layerNormBackward(this.gpu, step, {
        x: this.act(b.x, C),
        cols: C,
        gamma: p(nm.ln1Gamma),
        stats: span(b.stats1, 0, 2 * n),
        dy: dc,
        dx: g,
        accumulateDx: true,
        dgamma: d(nm.ln1Gamma),
        dbeta: d(nm.ln1Beta),
      });
    }
    // One call each: dwte accumulates onto the head's part, dwpe is overwritten.
    embeddingBackward(step, { tokens: batch.tokens, cols: C, seq: T, dout: g, dwte: d(GPT_NAMES.wte), accumulate: true });
    embeddingBackward(step, { tokens: batch.tokens, cols: C, seq: T, dout: g, dwpe: d(GPT_NAMES.wpe) });
    this.lastDispatches.backward = step.dispatches - start;
  }

  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }
}
