// Fused LayerNorm forward and backward over rows of width C (GPT's pre-LN blocks). See
// shaders/layernorm.wgsl for the numerics. γ and β are spans of the flat parameter buffer, dγ and
// dβ spans of the flat gradient buffer; calls only encode dispatches (the backward's partials, for
// more than one chunk of rows, come from the device's pool, so a steady state allocates nothing).
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { layernorm as source } from './generated/shaders.js';
import { acquireScratch, outputSpan, rowsOf, rowWorkgroupSize, type Target } from './reduce-encode.js';
import { asSpan, grid1d, WG_1D, type F32Span } from './span.js';

const normParams = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['x_off', 'u32'],
  ['g_off', 'u32'],
  ['out_off', 'u32'],
  ['w_off', 'u32'],
  ['b_off', 'u32'],
  ['stat_off', 'u32'],
  ['eps', 'f32'],
  ['chunk_rows', 'u32'],
  ['chunks', 'u32'],
] as const;

export const layerNormKernels = {
  /** Bindings: x, parameters (γ, β), y, stats. */
  forward: defineKernel({
    name: 'layernorm.forward',
    source,
    entryPoint: 'layernorm_forward',
    params: normParams,
    storage: ['read', 'read', 'read_write', 'read_write'],
  }),
  /** Bindings: dy, x, stats, parameters (γ), dx. */
  backwardDx: defineKernel({
    name: 'layernorm.backward_dx',
    source,
    entryPoint: 'layernorm_backward_dx',
    params: normParams,
    storage: ['read', 'read', 'read', 'read', 'read_write'],
  }),
  /** Bindings: dy, x, stats, gradients (dγ, dβ). */
  backwardParams: defineKernel({
    name: 'layernorm.backward_params',
    source,
    entryPoint: 'layernorm_backward_params',
    params: normParams,
    storage: ['read', 'read', 'read', 'read_write'],
  }),
  /** Bindings: partials, gradients (dγ, dβ). */
  reducePartials: defineKernel({
    name: 'layernorm.reduce_partials',
    source,
    entryPoint: 'layernorm_reduce_partials',
    params: normParams,
    storage: ['read', 'read_write'],
  }),
};

/** Columns per workgroup of the dγ/dβ pass (CPW in shaders/layernorm.wgsl). */
export const LAYERNORM_PARAM_COLUMNS_PER_WORKGROUP = 16;
/** Row lanes per workgroup of the dγ/dβ pass (RPW): lane l sums rows l, l + 16, … serially. */
export const LAYERNORM_PARAM_ROW_LANES = 16;
/**
 * Rows per workgroup of the dγ/dβ pass (16 per lane). Up to this many rows it is one dispatch
 * writing the gradient; above, ⌈rows / 256⌉ chunks write partials that a second dispatch sums per
 * column, so B·T = 8192 rows of C = 768 run as 48 × 32 workgroups instead of 48 long ones.
 */
export const LAYERNORM_PARAM_CHUNK_ROWS = 256;

export interface LayerNormForwardArgs {
  /** [rows × cols] input, row-major. */
  x: Target;
  cols: number;
  /** cols gains, e.g. a span of the flat parameter buffer. */
  gamma: F32Span;
  /** cols biases; in the same buffer as gamma or another read-only one. */
  beta: F32Span;
  /** [rows × cols] output, in a buffer of its own (not x's, the parameters' or the stats'). */
  y: Target;
  /**
   * 2·rows floats: μ per row then rstd = 1/sqrt(var + eps) per row, kept for the backward. A buffer
   * of its own (WebGPU forbids two writable bindings of one buffer in a dispatch).
   */
  stats: Target;
  /** Default 1e-5 (PyTorch's). */
  eps?: number;
}

/** y = (x − μ)·rstd·γ + β per row, and μ, rstd per row into `stats`: one dispatch. */
export function layerNormForward(step: StepEncoder, args: LayerNormForwardArgs): void {
  const op = 'layerNormForward';
  const x = asSpan(args.x);
  const rows = rowsOf(op, x, args.cols);
  if (rows === 0) throw new Error(`${op}: empty input`);
  const cols = args.cols;
  expectLength(op, 'gamma', args.gamma, cols);
  expectLength(op, 'beta', args.beta, cols);
  if (args.gamma.buffer !== args.beta.buffer) throw new Error(`${op}: gamma and beta must be in one buffer (the flat parameters)`);
  const y = outputSpan(op, 'y', args.y, rows * cols);
  const stats = outputSpan(op, 'stats', args.stats, 2 * rows);
  checkWritableUnaliased(op, [y, stats], [x, args.gamma]);
  const eps = args.eps ?? 1e-5;
  if (!(eps >= 0 && Number.isFinite(eps))) throw new Error(`${op}: eps must be finite and ≥ 0, got ${eps}`);
  step.dispatch(
    layerNormKernels.forward,
    {
      rows,
      cols,
      x_off: x.offset,
      g_off: 0,
      out_off: y.offset,
      w_off: args.gamma.offset,
      b_off: args.beta.offset,
      stat_off: stats.offset,
      eps,
      chunk_rows: 0,
      chunks: 0,
    },
    [x.buffer, args.gamma.buffer, y.buffer, stats.buffer],
    grid1d(rows, 1),
    { WG: rowWorkgroupSize(cols) },
  );
}

export interface LayerNormBackwardArgs {
  /** The forward's input, [rows × cols]. */
  x: Target;
  cols: number;
  /** The forward's γ. */
  gamma: F32Span;
  /** The forward's stats (μ then rstd, 2·rows floats), unchanged since. */
  stats: Target;
  /** Upstream gradient dL/dy, [rows × cols]. */
  dy: Target;
  /** dL/dx, [rows × cols], in a buffer other than every input's. Omit to skip the dx pass. */
  dx?: Target;
  /** dL/dγ (cols floats), e.g. a span of the flat gradient buffer. */
  dgamma?: F32Span;
  /** dL/dβ (cols floats), in dgamma's buffer. dgamma and dbeta are given together or not at all. */
  dbeta?: F32Span;
  /** dx += instead of dx = (the LN input also feeds a residual connection, whose gradient is there). */
  accumulateDx?: boolean;
  /**
   * dγ += and dβ += instead of overwriting, as matmul's `accumulate` (e.g. gradient accumulation
   * over micro-batches). Default false: overwrite, like matmul's weight gradients by default.
   */
  accumulateParams?: boolean;
}

/**
 * LayerNorm backward without float atomics: one dispatch for dx (a workgroup per row), and for dγ,
 * dβ a column-owner pass (one dispatch up to LAYERNORM_PARAM_CHUNK_ROWS rows, else two: chunk
 * partials, then their sum per column). Every sum has a fixed order: the same bits on every run.
 */
export function layerNormBackward(gpu: Gpu, step: StepEncoder, args: LayerNormBackwardArgs): void {
  const op = 'layerNormBackward';
  const x = asSpan(args.x);
  const cols = args.cols;
  const rows = rowsOf(op, x, cols);
  if (rows === 0) throw new Error(`${op}: empty input`);
  expectLength(op, 'gamma', args.gamma, cols);
  const dy = outputSpan(op, 'dy', args.dy, rows * cols);
  const stats = outputSpan(op, 'stats', args.stats, 2 * rows);
  if ((args.dgamma === undefined) !== (args.dbeta === undefined)) throw new Error(`${op}: give dgamma and dbeta together`);
  const chunks = Math.ceil(rows / LAYERNORM_PARAM_CHUNK_ROWS);
  if (chunks > 65535) throw new Error(`${op}: ${rows} rows exceed ${65535 * LAYERNORM_PARAM_CHUNK_ROWS} (one grid dimension of chunks)`);
  const base = { rows, cols, x_off: x.offset, g_off: dy.offset, stat_off: stats.offset, eps: 0, chunk_rows: LAYERNORM_PARAM_CHUNK_ROWS, chunks };
  if (args.dx !== undefined) {
    const dx = outputSpan(op, 'dx', args.dx, rows * cols);
    checkWritableUnaliased(op, [dx], [dy, x, stats, args.gamma]);
    step.dispatch(
      layerNormKernels.backwardDx,
      { ...base, out_off: dx.offset, w_off: args.gamma.offset, b_off: 0 },
      [dy.buffer, x.buffer, stats.buffer, args.gamma.buffer, dx.buffer],
      grid1d(rows, 1),
      { WG: rowWorkgroupSize(cols), ACCUMULATE: args.accumulateDx ?? false },
    );
  }
  if (args.dgamma !== undefined && args.dbeta !== undefined) {
    const [dg, db] = [args.dgamma, args.dbeta];
    expectLength(op, 'dgamma', dg, cols);
    expectLength(op, 'dbeta', db, cols);
    if (dg.buffer !== db.buffer) throw new Error(`${op}: dgamma and dbeta must be in one buffer (the flat gradients)`);
    if (dg.offset < db.offset + cols && db.offset < dg.offset + cols) throw new Error(`${op}: dgamma and dbeta overlap`);
    checkWritableUnaliased(op, [dg], [dy, x, stats]);
    const blocks = Math.ceil(cols / LAYERNORM_PARAM_COLUMNS_PER_WORKGROUP);
    const accumulate = args.accumulateParams ?? false;
    const bound = [dy.buffer, x.buffer, stats.buffer] as const;
    if (chunks === 1) {
      step.dispatch(
        layerNormKernels.backwardParams,
        { ...base, out_off: 0, w_off: dg.offset, b_off: db.offset },
        [...bound, dg.buffer],
        [blocks, 1],
        { ACCUMULATE: accumulate },
      );
      return;
    }
    const partials = acquireScratch(gpu, 2 * chunks * cols, 'scratch:layernorm-partials');
    step.dispatch(layerNormKernels.backwardParams, { ...base, out_off: 0, w_off: 0, b_off: chunks * cols }, [...bound, partials], [blocks, chunks], {
      ACCUMULATE: false,
    });
    step.dispatch(
      layerNormKernels.reducePartials,
      { ...base, out_off: 0, w_off: dg.offset, b_off: db.offset },
      [partials, dg.buffer],
      grid1d(cols, WG_1D),
      { ACCUMULATE: accumulate },
    );
    gpu.pool.release(partials);
  }
}

function expectLength(op: string, what: string, s: F32Span, n: number): void {
  if (s.length !== n) throw new Error(`${op}: ${what} has ${s.length} elements, expected cols = ${n}`);
}
