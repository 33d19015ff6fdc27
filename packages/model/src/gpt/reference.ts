// Float64 CPU reference of the whole GPT, forward and backward, built from the kernels' float64
// references; tests check its gradient against central finite differences of its loss, and the
// GPU graph against it.
import { reference } from '@gossamer/kernels';
import type { ParameterLayout } from '../layout.js';
import { centralDifferences } from '../reference.js';
import { blockNames, GPT_NAMES } from './layout.js';
import { headSize, type GptConfig } from './spec.js';

type Vec = ArrayLike<number>;

const mm = reference.matmul.matmul;

function tensor(layout: ParameterLayout, params: Vec, name: string): Float64Array {
  const s = layout.segment(name);
  return Float64Array.from({ length: s.length }, (_, i) => params[s.offset + i]);
}

function columnSums(x: Vec, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c] += x[r * cols + c];
  return out;
}

function add(x: Vec, y: Vec): Float64Array {
  return Float64Array.from(x, (v, i) => v + y[i]);
}

interface BlockCache {
  x: Float64Array;
  ln1: Float64Array;
  qkv: Float64Array;
  att: Float64Array;
  xMid: Float64Array;
  ln2: Float64Array;
  fcPre: Float64Array;
  fc: Float64Array;
}

export interface GptForward {
  /** [B·T, V] logits. */
  logits: Float64Array;
  /** Mean next-token cross-entropy over the B·T rows. */
  loss: number;
  blocks: BlockCache[];
  /** Input of the final LayerNorm, and its output. */
  xFinal: Float64Array;
  lnf: Float64Array;
}

function checkBatch(cfg: GptConfig, tokens: Vec, targets: Vec, batch: number): number {
  const n = batch * cfg.ctx;
  if (tokens.length !== n || targets.length !== n) {
    throw new Error(`GPT reference: need ${batch}·${cfg.ctx} = ${n} tokens and targets, got ${tokens.length} and ${targets.length}`);
  }
  return n;
}

/** Forward pass of `batch` sequences of cfg.ctx tokens; `targets[t]` is the token after tokens[t]. */
export function gptForward(cfg: GptConfig, layout: ParameterLayout, params: Vec, tokens: Vec, targets: Vec, batch: number): GptForward {
  const n = checkBatch(cfg, tokens, targets, batch);
  const { width: C, mlp: M, vocab: V } = cfg;
  const p = (name: string) => tensor(layout, params, name);
  const shape = { batch, seqLen: cfg.ctx, heads: cfg.heads, headDim: headSize(cfg) };
  const wte = p(GPT_NAMES.wte);
  let x = reference.embedding.embeddingForward(tokens, wte, p(GPT_NAMES.wpe), C, cfg.ctx);
  const blocks: BlockCache[] = [];
  for (let l = 0; l < cfg.layers; l++) {
    const b = blockNames(l);
    const ln1 = reference.layernorm.layerNormForward(x, p(b.ln1Gamma), p(b.ln1Beta), C).y;
    const qkv = mm(ln1, p(b.qkvWeight), { m: n, n: 3 * C, k: C, bias: p(b.qkvBias) }).c;
    const att = reference.attention.attentionForward(qkv, shape).y;
    const xMid = add(x, mm(att, p(b.projWeight), { m: n, n: C, k: C, bias: p(b.projBias) }).c);
    const ln2 = reference.layernorm.layerNormForward(xMid, p(b.ln2Gamma), p(b.ln2Beta), C).y;
    const fcr = mm(ln2, p(b.fcWeight), { m: n, n: M, k: C, bias: p(b.fcBias), activation: 'gelu' });
    const next = add(xMid, mm(fcr.c, p(b.mlpProjWeight), { m: n, n: C, k: M, bias: p(b.mlpProjBias) }).c);
    blocks.push({ x, ln1, qkv, att, xMid, ln2, fcPre: fcr.preActivation, fc: fcr.c });
    x = next;
  }
  const lnf = reference.layernorm.layerNormForward(x, p(GPT_NAMES.lnfGamma), p(GPT_NAMES.lnfBeta), C).y;
  const logits = mm(lnf, wte, { m: n, n: V, k: C, transposeB: true }).c;
  return { logits, loss: reference.softmax.meanCrossEntropy(logits, targets, V), blocks, xFinal: x, lnf };
}

/** Mean next-token cross-entropy (for finite differences). */
export function gptLoss(cfg: GptConfig, layout: ParameterLayout, params: Vec, tokens: Vec, targets: Vec, batch: number): number {
  return gptForward(cfg, layout, params, tokens, targets, batch).loss;
}

/** The loss and its gradient with respect to every parameter, as a flat buffer laid out as `layout` (padding 0). */
export function gptGradient(
  cfg: GptConfig,
  layout: ParameterLayout,
  params: Vec,
  tokens: Vec,
  targets: Vec,
  batch: number,
): { loss: number; grads: Float64Array } {
  const f = gptForward(cfg, layout, params, tokens, targets, batch);
  const n = batch * cfg.ctx;
  const { width: C, mlp: M, vocab: V } = cfg;
  const p = (name: string) => tensor(layout, params, name);
  const grads = new Float64Array(layout.length);
  const put = (name: string, g: Vec) => {
    const s = layout.segment(name);
    if (g.length !== s.length) throw new Error(`GPT reference: gradient of ${name} has ${g.length} elements, expected ${s.length}`);
    for (let i = 0; i < s.length; i++) grads[s.offset + i] += g[i];
  };
  const shape = { batch, seqLen: cfg.ctx, heads: cfg.heads, headDim: headSize(cfg) };
  const wte = p(GPT_NAMES.wte);

  const dlogits = reference.softmax.crossEntropy(f.logits, targets, V).grad;
  put(GPT_NAMES.wte, mm(dlogits, f.lnf, { m: V, n: C, k: n, transposeA: true }).c);
  const dlnf = mm(dlogits, wte, { m: n, n: C, k: V }).c;
  const lnfBack = reference.layernorm.layerNormBackward(f.xFinal, p(GPT_NAMES.lnfGamma), dlnf, C);
  put(GPT_NAMES.lnfGamma, lnfBack.dgamma);
  put(GPT_NAMES.lnfBeta, lnfBack.dbeta);
  // dL/d(residual stream), updated in place as the blocks are walked back.
  let g = lnfBack.dx;
  for (let l = cfg.layers - 1; l >= 0; l--) {
    const b = blockNames(l);
    const c = f.blocks[l];
    put(b.mlpProjWeight, mm(c.fc, g, { m: M, n: C, k: n, transposeA: true }).c);
    put(b.mlpProjBias, columnSums(g, n, C));
    const dfc = reference.elementwise.geluBackward(c.fcPre, mm(g, p(b.mlpProjWeight), { m: n, n: M, k: C, transposeB: true }).c);
    put(b.fcWeight, mm(c.ln2, dfc, { m: C, n: M, k: n, transposeA: true }).c);
    put(b.fcBias, columnSums(dfc, n, M));
    const dln2 = mm(dfc, p(b.fcWeight), { m: n, n: C, k: M, transposeB: true }).c;
    const ln2Back = reference.layernorm.layerNormBackward(c.xMid, p(b.ln2Gamma), dln2, C);
    put(b.ln2Gamma, ln2Back.dgamma);
    put(b.ln2Beta, ln2Back.dbeta);
    g = add(g, ln2Back.dx);
    put(b.projWeight, mm(c.att, g, { m: C, n: C, k: n, transposeA: true }).c);
    put(b.projBias, columnSums(g, n, C));
    const datt = mm(g, p(b.projWeight), { m: n, n: C, k: C, transposeB: true }).c;
    const dqkv = reference.attention.attentionBackward(c.qkv, datt, shape).dqkv;
    put(b.qkvWeight, mm(c.ln1, dqkv, { m: C, n: 3 * C, k: n, transposeA: true }).c);
    put(b.qkvBias, columnSums(dqkv, n, 3 * C));
    const dln1 = mm(dqkv, p(b.qkvWeight), { m: n, n: C, k: 3 * C, transposeB: true }).c;
    const ln1Back = reference.layernorm.layerNormBackward(c.x, p(b.ln1Gamma), dln1, C);
    put(b.ln1Gamma, ln1Back.dgamma);
    put(b.ln1Beta, ln1Back.dbeta);
    g = add(g, ln1Back.dx);
  }
  const emb = reference.embedding.embeddingBackward(tokens, g, V, C, cfg.ctx);
  put(GPT_NAMES.wte, emb.dwte);
  put(GPT_NAMES.wpe, emb.dwpe);
  return { loss: f.loss, grads };
}

/** Central finite differences of gptLoss w.r.t. the parameters at `indices` (float64 throughout). */
export function gptFiniteDifferences(
  cfg: GptConfig,
  layout: ParameterLayout,
  params: Vec,
  tokens: Vec,
  targets: Vec,
  batch: number,
  indices: readonly number[],
  h = 1e-5,
): Float64Array {
  return centralDifferences((x) => gptLoss(cfg, layout, x, tokens, targets, batch), params, indices, h);
}
