// Fused causal multi-head self-attention over a GPT's fused QKV projection, forward and backward.
// See shaders/attention.wgsl for the layout, the tiling and the numerics.
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { attention as source } from './generated/shaders.js';
import { acquireScratch, outputSpan, type Target } from './reduce-encode.js';
import type { F32Span } from './span.js';

const attentionParams = [
  ['t', 'u32'],
  ['heads', 'u32'],
  ['c', 'u32'],
  ['qkv_off', 'u32'],
  ['y_off', 'u32'],
  ['lse_off', 'u32'],
  ['dy_off', 'u32'],
  ['delta_off', 'u32'],
  ['dqkv_off', 'u32'],
  ['scale', 'f32'],
] as const;

export const attentionKernels = {
  /** Bindings: qkv, y, lse. */
  forward: defineKernel({ name: 'attention.forward', source, entryPoint: 'attention_forward', params: attentionParams, storage: ['read', 'read_write', 'read_write'] }),
  /** Bindings: qkv, y, lse, dy, delta (written), dqkv. */
  backwardDq: defineKernel({
    name: 'attention.backward_dq',
    source,
    entryPoint: 'attention_backward_dq',
    params: attentionParams,
    storage: ['read', 'read', 'read', 'read', 'read_write', 'read_write'],
  }),
  /** Bindings: qkv, lse, dy, delta, dqkv. */
  backwardDkdv: defineKernel({
    name: 'attention.backward_dkdv',
    source,
    entryPoint: 'attention_backward_dkdv',
    params: attentionParams,
    storage: ['read', 'read', 'read', 'read', 'read_write'],
  }),
};

/** Shape of one attention call. */
export interface AttentionShape {
  /** Batch items B. */
  batch: number;
  /** Sequence length T (tokens per batch item). */
  seqLen: number;
  /** Heads H. */
  heads: number;
  /** Head size D; C = H·D. 16, 32, 48 or 64. */
  headDim: number;
}

/** Workgroup tiling chosen for a head size (exposed for tests and docs). */
export interface AttentionTiles {
  /** Rows a workgroup owns (queries; keys in the dk/dv pass). */
  br: number;
  /** Rows of each streamed tile. */
  bn: number;
  /** Threads per owned row; the workgroup has br·tpr threads. */
  tpr: number;
  /** Bytes of workgroup memory of the largest of the three kernels (the dk/dv pass). */
  workgroupBytes: number;
}

/** WebGPU's guaranteed maxComputeWorkgroupStorageSize: the tiles fit every device. */
const WORKGROUP_BYTES = 16384;
const MAX_HEAD_DIM = 64;

/**
 * 64 threads, 16 owned rows of 4 threads each (so a thread keeps D/16 ≤ 4 vec4 accumulators per
 * output), and the largest streamed tile (16, else 8, else 4 rows) whose dk/dv-pass memory —
 * 4·((2·br + 2·bn)·(D + 4) + 2·br·(bn + 1) + 2·bn) bytes, rows padded against bank conflicts — fits 16 KiB:
 * 16 rows up to D = 48 (D = 32: 11.3 KiB), 8 rows for D = 64 (13.9 KiB). D is a pipeline override
 * (one specialised pipeline per head size); B, T and H are runtime params.
 */
export function attentionTiles(headDim: number): AttentionTiles {
  // Multiples of 16: 4 threads per row, each owning whole vec4 column chunks.
  if (!Number.isInteger(headDim) || headDim < 16 || headDim > MAX_HEAD_DIM || headDim % 16 !== 0) {
    throw new Error(`attention: headDim must be 16, 32, 48 or ${MAX_HEAD_DIM}, got ${headDim}`);
  }
  const br = 16;
  const tpr = 4;
  for (const bn of [16, 8, 4]) {
    const workgroupBytes = 4 * ((2 * br + 2 * bn) * (headDim + 4) + 2 * br * (bn + 1) + 2 * bn);
    if (workgroupBytes <= WORKGROUP_BYTES) return { br, bn, tpr, workgroupBytes };
  }
  throw new Error(`attention: no tiling of headDim ${headDim} fits ${WORKGROUP_BYTES} bytes of workgroup memory`);
}

function checkShape(op: string, s: AttentionShape): void {
  for (const [name, v] of [['batch', s.batch], ['seqLen', s.seqLen], ['heads', s.heads]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${op}: ${name} must be a positive integer, got ${v}`);
  }
  attentionTiles(s.headDim);
}

function setup(op: string, shape: AttentionShape) {
  checkShape(op, shape);
  const tiles = attentionTiles(shape.headDim);
  const c = shape.heads * shape.headDim;
  const tokens = shape.batch * shape.seqLen;
  const grid = [Math.ceil(shape.seqLen / tiles.br), shape.heads, shape.batch] as const;
  const constants = { D: shape.headDim, BR: tiles.br, BN: tiles.bn, TPR: tiles.tpr };
  return { c, tokens, rows: shape.batch * shape.heads * shape.seqLen, grid, constants };
}

export interface AttentionForwardArgs {
  /** [B·T, 3C] fused projection: per token q | k | v, each with heads of D contiguous columns. */
  qkv: Target;
  /** [B·T, C] output, heads concatenated. */
  y: Target;
  /** [B·H·T] per-row logsumexp of the scaled masked scores, index (b·H + h)·T + t; the backward reads it. */
  lse: Target;
}

/**
 * Causal self-attention y = softmax(q·kᵀ/√D + mask)·v for every (batch item, head): one dispatch of
 * ⌈T/16⌉ × H × B workgroups. y and lse must each be in a buffer of their own (written operands).
 */
export function attentionForward(step: StepEncoder, shape: AttentionShape, args: AttentionForwardArgs): void {
  const op = 'attentionForward';
  const { c, tokens, rows, grid, constants } = setup(op, shape);
  const qkv = outputSpan(op, 'qkv', args.qkv, tokens * 3 * c);
  const y = outputSpan(op, 'y', args.y, tokens * c);
  const lse = outputSpan(op, 'lse', args.lse, rows);
  checkWritableUnaliased(op, [y, lse], [qkv]);
  const params = {
    t: shape.seqLen,
    heads: shape.heads,
    c,
    qkv_off: qkv.offset,
    y_off: y.offset,
    lse_off: lse.offset,
    dy_off: 0,
    delta_off: 0,
    dqkv_off: 0,
    scale: 1 / Math.sqrt(shape.headDim),
  };
  step.dispatch(attentionKernels.forward, params, [qkv.buffer, y.buffer, lse.buffer], grid, constants);
}

export interface AttentionBackwardArgs {
  /** The forward's input, [B·T, 3C]. */
  qkv: Target;
  /** The forward's output, [B·T, C]. */
  y: Target;
  /** The forward's logsumexp, [B·H·T]. */
  lse: Target;
  /** Gradient of the loss with respect to y, [B·T, C]. */
  dy: Target;
  /** Receives d(loss)/d(qkv), [B·T, 3C] laid out as qkv (overwritten, not accumulated). */
  dqkv: Target;
  /**
   * [B·H·T] scratch for Δ = rowsum(dy ∘ y), in a buffer of its own; default: one from the pool,
   * returned after the call.
   */
  delta?: Target;
}

/**
 * The gradient of attentionForward: two dispatches of ⌈T/16⌉ × H × B workgroups. The first owns
 * query blocks (Δ and dq), the second key blocks (dk and dv); each output element is summed by one
 * thread in a fixed order, so the result is the same bits on every run. qkv, y, lse and dy are read
 * only and may share buffers; dqkv and delta must each have a buffer of their own.
 */
export function attentionBackward(gpu: Gpu, step: StepEncoder, shape: AttentionShape, args: AttentionBackwardArgs): void {
  const op = 'attentionBackward';
  const { c, tokens, rows, grid, constants } = setup(op, shape);
  const qkv = outputSpan(op, 'qkv', args.qkv, tokens * 3 * c);
  const y = outputSpan(op, 'y', args.y, tokens * c);
  const lse = outputSpan(op, 'lse', args.lse, rows);
  const dy = outputSpan(op, 'dy', args.dy, tokens * c);
  const dqkv = outputSpan(op, 'dqkv', args.dqkv, tokens * 3 * c);
  let scratch: GPUBuffer | undefined;
  let delta: F32Span;
  if (args.delta !== undefined) {
    delta = outputSpan(op, 'delta', args.delta, rows);
  } else {
    scratch = acquireScratch(gpu, rows, 'scratch:attention-delta');
    delta = { buffer: scratch, offset: 0, length: rows };
  }
  checkWritableUnaliased(op, [dqkv, delta], [qkv, y, lse, dy]);
  const params = {
    t: shape.seqLen,
    heads: shape.heads,
    c,
    qkv_off: qkv.offset,
    y_off: y.offset,
    lse_off: lse.offset,
    dy_off: dy.offset,
    delta_off: delta.offset,
    dqkv_off: dqkv.offset,
    scale: 1 / Math.sqrt(shape.headDim),
  };
  const k = attentionKernels;
  step.dispatch(k.backwardDq, params, [qkv.buffer, y.buffer, lse.buffer, dy.buffer, delta.buffer, dqkv.buffer], grid, constants);
  step.dispatch(k.backwardDkdv, params, [qkv.buffer, lse.buffer, dy.buffer, delta.buffer, dqkv.buffer], grid, constants);
  if (scratch) gpu.pool.release(scratch);
}

/** Causal (query, key) pairs of a call: B·H·T·(T + 1)/2. */
function causalPairs(shape: AttentionShape): number {
  return (shape.batch * shape.heads * shape.seqLen * (shape.seqLen + 1)) / 2;
}

/** Floating-point operations of the forward (q·kᵀ and P·v: 4·D per causal pair), for GFLOP/s figures. */
export function attentionForwardFlops(shape: AttentionShape): number {
  return 4 * shape.headDim * causalPairs(shape);
}

/**
 * Floating-point operations of the backward's products (dP = dy·vᵀ, dv, dq, dk: 8·D per causal
 * pair), not counting the recomputed scores (another 4·D per pair, q·kᵀ once in each pass).
 */
export function attentionBackwardFlops(shape: AttentionShape): number {
  return 8 * shape.headDim * causalPairs(shape);
}
