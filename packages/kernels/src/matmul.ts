import { defineKernel, type StepEncoder, type StorageBinding } from '@gossamer/gpu';
import type { Activation } from './elementwise.js';
import { matmul as source } from './generated/shaders.js';
import { asSpan, type F32Span } from './span.js';

// Params of shaders/matmul.wgsl, in struct order.
const matmulParams = [
  ['m', 'u32'],
  ['n', 'u32'],
  ['k', 'u32'],
  ['a_off', 'u32'],
  ['b_off', 'u32'],
  ['c_off', 'u32'],
  ['bias_off', 'u32'],
  ['pre_off', 'u32'],
  ['a_batch_stride', 'u32'],
  ['b_batch_stride', 'u32'],
  ['c_batch_stride', 'u32'],
  ['alpha', 'f32'],
] as const;

export const matmulKernels = {
  /** Bindings: A, B, bias (A again when there is none), C. */
  matmul: defineKernel({ name: 'matmul.matmul', source, entryPoint: 'matmul', params: matmulParams, storage: ['read', 'read', 'read', 'read_write'] }),
  /** As `matmul`, plus the pre-activation output. */
  matmulPre: defineKernel({
    name: 'matmul.matmul_pre',
    source,
    entryPoint: 'matmul_pre',
    params: matmulParams,
    storage: ['read', 'read', 'read', 'read_write', 'read_write'],
  }),
  /** C = alpha·op(A)·op(B) ⊙ act'(pre). Bindings: A, B, pre (bias slot), C. */
  matmulActGrad: defineKernel({
    name: 'matmul.matmul_act_grad',
    source,
    entryPoint: 'matmul_act_grad',
    params: matmulParams,
    storage: ['read', 'read', 'read', 'read_write'],
  }),
  /** As `matmul`, plus column sums of op(B). Bindings: A, B, bias, C, column sums. */
  matmulColSums: defineKernel({
    name: 'matmul.matmul_col_sums',
    source,
    entryPoint: 'matmul_col_sums',
    params: matmulParams,
    storage: ['read', 'read', 'read', 'read_write', 'read_write'],
  }),
};

/**
 * Workgroup shape of the matmul kernel: wgX × wgY threads, each computing an 8×8 block of C, so a
 * workgroup computes a (8·wgY) × (8·wgX) tile; K is staged tileK at a time. Workgroup memory is
 * 16·tileK·(2·wgX + 2·wgY + 2) bytes and must fit the device's maxComputeWorkgroupStorageSize.
 */
export interface MatmulTiles {
  wgX: number;
  wgY: number;
  tileK: number;
}

/**
 * 64×64 tiles of 64 threads, K staged 16 at a time: 8.5 KiB of workgroup memory, within WebGPU's
 * guaranteed 16 KiB, so valid on every device. On SwiftShader it measured within noise of the best
 * configuration tried (8×4, 4×8 threads; tileK 32), and 2× faster than 4×4 blocks per thread.
 */
export const MATMUL_DEFAULT_TILES: Readonly<MatmulTiles> = { wgX: 8, wgY: 8, tileK: 16 };

export type MatmulActivation = 'none' | Activation;

const ACTIVATION_CODE: Record<MatmulActivation, number> = { none: 0, relu: 1, gelu: 2 };

type Target = GPUBuffer | F32Span;

export interface MatmulOptions {
  /** Rows of op(A) and of C. */
  m: number;
  /** Columns of op(B) and of C. */
  n: number;
  /** Columns of op(A) = rows of op(B). */
  k: number;
  /** A is stored K×M and used transposed (e.g. dW = Xᵀ·dY). */
  transposeA?: boolean;
  /** B is stored N×K and used transposed (e.g. dX = dY·Wᵀ). */
  transposeB?: boolean;
  /** Scales op(A)·op(B) before the bias (e.g. 1/batch for a mean gradient). Default 1. */
  alpha?: number;
  /** Per-column bias (n floats), added before the activation and shared by all batch items. */
  bias?: Target;
  /** Applied after the bias. Default 'none'. */
  activation?: MatmulActivation;
  /** C += act(...) instead of C = act(...): gradient accumulation. */
  accumulate?: boolean;
  /**
   * Also write alpha·op(A)·op(B) + bias (before the activation, never accumulated) here, laid out as
   * C, for the backward pass. May share C's buffer if the two ranges are at least 256 bytes apart
   * (they are bound as separate 256-byte-aligned ranges).
   */
  preActivation?: Target;
  /** Independent products computed by one dispatch (workgroup z). Default 1. */
  batch?: number;
  /**
   * Elements between consecutive batch items of each operand. Defaults: packed (m·k, k·n, m·n).
   * 0 broadcasts A or B to every item (e.g. shared weights); C's stride must be at least m·n.
   */
  batchStrides?: { a?: number; b?: number; c?: number };
  /**
   * Backward through an activation: C = alpha·op(A)·op(B) ⊙ act'(preActivation), with the
   * pre-activation laid out as C (e.g. dZ = dY·Wᵀ ⊙ relu'(Z) in one dispatch). Excludes bias,
   * activation and preActivation.
   */
  activationGradient?: { activation: Activation; preActivation: Target };
  /**
   * Also write alpha·Σ_k op(B)[k, :] (n floats) here, e.g. the bias gradient Σ_batch dZ beside
   * dW = Xᵀ·dZ, at no extra global reads. May share C's buffer at a range at least 256 bytes apart
   * (segments of one flat gradient buffer). Not with batch > 1 or preActivation.
   */
  columnSums?: Target;
  /** Workgroup tile configuration; default MATMUL_DEFAULT_TILES. */
  tiles?: MatmulTiles;
}

/** Floats an operand of `batch` items `stride` apart, each `size` floats, spans. */
function batchExtent(batch: number, stride: number, size: number): number {
  return (batch - 1) * stride + size;
}

function checkDimension(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`matmul: ${name} must be a positive integer, got ${v}`);
}

/**
 * Binds `extent` floats of a span as a 256-byte-aligned range (WebGPU's largest possible
 * minStorageBufferOffsetAlignment) and returns the span's offset within that range.
 */
function rangeBinding(s: F32Span, extent: number): { binding: { buffer: GPUBuffer; offset: number; size: number }; offset: number } {
  const start = Math.floor((s.offset * 4) / 256) * 256;
  return { binding: { buffer: s.buffer, offset: start, size: (s.offset + extent) * 4 - start }, offset: s.offset - start / 4 };
}

/**
 * C = act(alpha · op(A) · op(B) + bias), or C += that with `accumulate`, for row-major A, B, C;
 * optionally batched over workgroup z and optionally also writing the pre-activation. One dispatch.
 *
 * Shapes: op(A) is m×k (A stored m×k, or k×m with transposeA), op(B) is k×n (B stored k×n, or n×k
 * with transposeB), C is m×n. Each span must hold exactly its operand (all batch items): a mismatch
 * throws, naming the operand and both lengths. A, B and bias are read-only and may share buffers
 * with each other but not with C or preActivation (WebGPU forbids a buffer bound read-only and
 * writable in one dispatch).
 */
export function matmul(step: StepEncoder, a: Target, b: Target, c: Target, options: MatmulOptions): void {
  const { m, n, k } = options;
  checkDimension('m', m);
  checkDimension('n', n);
  checkDimension('k', k);
  const batch = options.batch ?? 1;
  checkDimension('batch', batch);
  const transposeA = options.transposeA ?? false;
  const transposeB = options.transposeB ?? false;
  const strideA = options.batchStrides?.a ?? m * k;
  const strideB = options.batchStrides?.b ?? k * n;
  const strideC = options.batchStrides?.c ?? m * n;
  for (const [name, stride] of [['a', strideA], ['b', strideB], ['c', strideC]] as const) {
    if (!Number.isInteger(stride) || stride < 0) throw new Error(`matmul: batchStrides.${name} must be a non-negative integer, got ${stride}`);
  }
  if (batch > 1 && strideC < m * n) {
    throw new Error(`matmul: batchStrides.c (${strideC}) < m·n (${m * n}): batch items would overwrite each other`);
  }

  const as = asSpan(a);
  const bs = asSpan(b);
  const cs = asSpan(c);
  const biasSpan = options.bias === undefined ? undefined : asSpan(options.bias);
  const actGrad = options.activationGradient;
  const colSpan = options.columnSums === undefined ? undefined : asSpan(options.columnSums);
  if (actGrad && (biasSpan || options.preActivation || (options.activation ?? 'none') !== 'none' || colSpan)) {
    throw new Error('matmul: activationGradient excludes bias, activation, preActivation and columnSums');
  }
  if (colSpan && (batch > 1 || options.preActivation)) throw new Error('matmul: columnSums excludes batch > 1 and preActivation');
  if (colSpan && colSpan.length !== n) throw new Error(`matmul: columnSums needs n = ${n} floats, got a span of ${colSpan.length}`);
  const gradPre = actGrad ? asSpan(actGrad.preActivation) : undefined;
  // The output written besides C (pre-activation or column sums) and the length it spans.
  const preSpan = options.preActivation === undefined ? colSpan : asSpan(options.preActivation);
  const batchNote = batch > 1 ? ` in ${batch} batch items` : '';
  const expectLength = (what: string, s: F32Span, want: number, shape: string) => {
    if (s.length !== want) {
      throw new Error(`matmul: ${what} (${shape}${batchNote}) needs ${want} floats, got a span of ${s.length}`);
    }
  };
  const extentA = batchExtent(batch, strideA, m * k);
  const extentB = batchExtent(batch, strideB, k * n);
  const extentC = batchExtent(batch, strideC, m * n);
  expectLength('A', as, extentA, transposeA ? `k×m = ${k}×${m}, transposed` : `m×k = ${m}×${k}`);
  expectLength('B', bs, extentB, transposeB ? `n×k = ${n}×${k}, transposed` : `k×n = ${k}×${n}`);
  expectLength('C', cs, extentC, `m×n = ${m}×${n}`);
  if (biasSpan) {
    if (biasSpan.length !== n) throw new Error(`matmul: bias needs n = ${n} floats, got a span of ${biasSpan.length}`);
  }
  if (preSpan && !colSpan) expectLength('preActivation', preSpan, extentC, `m×n = ${m}×${n}`);
  if (gradPre) expectLength('activationGradient.preActivation', gradPre, extentC, `m×n = ${m}×${n}`);
  const secondExtent = colSpan ? n : extentC;

  const readOnly: [string, F32Span | undefined][] = [['A', as], ['B', bs], ['bias', biasSpan], ['activationGradient.preActivation', gradPre]];
  for (const [outName, out] of [['C', cs], [colSpan ? 'columnSums' : 'preActivation', preSpan]] as const) {
    if (!out) continue;
    for (const [inName, input] of readOnly) {
      if (input && input.buffer === out.buffer) {
        throw new Error(
          `matmul: ${outName} shares its buffer with ${inName}; WebGPU forbids binding one buffer read-only and writable in one dispatch, use separate buffers`,
        );
      }
    }
  }

  // C and the pre-activation may share a buffer only as disjoint bound ranges.
  let cBinding: StorageBinding = cs.buffer;
  let cOffset = cs.offset;
  let preBinding: StorageBinding | undefined = preSpan?.buffer;
  let preOffset = preSpan?.offset ?? 0;
  if (preSpan && preSpan.buffer === cs.buffer) {
    const cr = rangeBinding(cs, extentC);
    const pr = rangeBinding(preSpan, secondExtent);
    const [lo, hi] = cr.binding.offset < pr.binding.offset ? [cr, pr] : [pr, cr];
    if (lo.binding.offset + lo.binding.size > hi.binding.offset) {
      throw new Error(
        `matmul: C and ${colSpan ? 'columnSums' : 'preActivation'} share a buffer and their ranges, rounded out to 256 bytes, overlap; ` +
          'place them at least 256 bytes apart or in separate buffers',
      );
    }
    [cBinding, cOffset, preBinding, preOffset] = [cr.binding, cr.offset, pr.binding, pr.offset];
  }

  const tiles = options.tiles ?? MATMUL_DEFAULT_TILES;
  for (const [name, v] of Object.entries(tiles)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`matmul: tiles.${name} must be a positive integer, got ${v}`);
  }
  const constants = {
    TRANS_A: transposeA,
    TRANS_B: transposeB,
    HAS_BIAS: biasSpan !== undefined,
    ACTIVATION: ACTIVATION_CODE[actGrad ? actGrad.activation : (options.activation ?? 'none')],
    COLUMN_SUMS: colSpan !== undefined,
    ACCUMULATE: options.accumulate ?? false,
    WG_X: tiles.wgX,
    WG_Y: tiles.wgY,
    TILE_K: tiles.tileK,
  };
  if (constants.ACTIVATION === undefined) throw new Error(`matmul: unknown activation ${String(options.activation)}`);
  const params = {
    m,
    n,
    k,
    a_off: as.offset,
    b_off: bs.offset,
    c_off: cOffset,
    bias_off: biasSpan?.offset ?? 0,
    pre_off: gradPre ? gradPre.offset : preOffset,
    a_batch_stride: strideA,
    b_batch_stride: strideB,
    c_batch_stride: strideC,
    alpha: options.alpha ?? 1,
  };
  const workgroups = [Math.ceil(n / (8 * tiles.wgX)), Math.ceil(m / (8 * tiles.wgY)), batch] as const;
  const biasBinding = biasSpan?.buffer ?? as.buffer;
  if (gradPre) {
    step.dispatch(matmulKernels.matmulActGrad, params, [as.buffer, bs.buffer, gradPre.buffer, cBinding], workgroups, constants);
  } else if (colSpan && preBinding) {
    step.dispatch(matmulKernels.matmulColSums, params, [as.buffer, bs.buffer, biasBinding, cBinding, preBinding], workgroups, constants);
  } else if (preBinding) {
    step.dispatch(matmulKernels.matmulPre, params, [as.buffer, bs.buffer, biasBinding, cBinding, preBinding], workgroups, constants);
  } else {
    step.dispatch(matmulKernels.matmul, params, [as.buffer, bs.buffer, biasBinding, cBinding], workgroups, constants);
  }
}

/** Floating-point operations of a matmul (2·m·n·k per batch item), for GFLOP/s figures. */
export function matmulFlops(m: number, n: number, k: number, batch = 1): number {
  return 2 * m * n * k * batch;
}
