// Gradient clipping with no readback: by value (clamp), by global norm over one or several spans or
// segments, and per segment (per-layer clipping). The norm is reduced into a GPU buffer and the scale
// kernels read it there, so clipping is a handful of dispatches inside the training step.
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { clip as source } from './generated/shaders.js';
import {
  acquireScratch,
  encodeScalarReduce,
  encodeSegmentReduce,
  encodeSegmentTotal,
  outputSpan,
  scalarSpan,
  type ScalarTarget,
  type SegmentTable,
  type Target,
} from './reduce-encode.js';
import { asSpan, grid1d, type F32Span } from './span.js';

const scaleParams = [
  ['n', 'u32'],
  ['x_off', 'u32'],
  ['norm_off', 'u32'],
  ['norm_stride', 'u32'],
  ['max_norm', 'f32'],
] as const;

export const clipKernels = {
  clampValues: defineKernel({
    name: 'clip.clamp_values',
    source,
    entryPoint: 'clamp_values',
    params: [
      ['n', 'u32'],
      ['x_off', 'u32'],
      ['limit', 'f32'],
    ] as const,
    storage: ['read_write'],
  }),
  scaleByNorm: defineKernel({ name: 'clip.scale_by_norm', source, entryPoint: 'scale_by_norm', params: scaleParams, storage: ['read', 'read_write'] }),
  scaleSegmentsByNorm: defineKernel({
    name: 'clip.scale_segments_by_norm',
    source,
    entryPoint: 'scale_segments_by_norm',
    params: scaleParams,
    storage: ['read', 'read', 'read_write'],
  }),
};

/** x ← clamp(x, −limit, limit), in place. */
export function clipByValue(step: StepEncoder, x: Target, limit: number): void {
  if (!(limit >= 0)) throw new Error(`clipByValue: limit must be ≥ 0, got ${limit}`);
  const s = asSpan(x);
  step.dispatch(clipKernels.clampValues, { n: s.length, x_off: s.offset, limit }, [s.buffer], grid1d(s.length));
}

export interface ClipNormOptions {
  /** One element receiving the norm before clipping (for metrics). */
  norm?: ScalarTarget;
}

function checkMaxNorm(op: string, maxNorm: number): void {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new Error(`${op}: maxNorm must be a positive finite number, got ${maxNorm}`);
}

/**
 * Where the norm(s) live while the scale kernels read them: the caller's output when it is in a
 * buffer the scale kernels do not write, else pooled scratch copied into the caller's output.
 */
function withNormBuffer(
  gpu: Gpu,
  step: StepEncoder,
  count: number,
  dest: F32Span | undefined,
  written: readonly GPUBuffer[],
  reduceInto: (norms: F32Span) => void,
  scaleWith: (norms: F32Span) => void,
): void {
  if (dest && !written.includes(dest.buffer)) {
    reduceInto(dest);
    scaleWith(dest);
    return;
  }
  const scratch = acquireScratch(gpu, count, 'scratch:norms');
  const norms = { buffer: scratch, offset: 0, length: count };
  reduceInto(norms);
  if (dest) step.copy(scratch, 0, dest.buffer, dest.offset * 4, count * 4);
  scaleWith(norms);
  gpu.pool.release(scratch);
}

/**
 * x ← x · min(1, maxNorm / ‖x‖) where ‖x‖ is the global L2 norm of all spans together (e.g. every
 * gradient tensor). No readback: sum of squares into a buffer, then scale kernels that read it and
 * skip their writes when no clipping is needed.
 */
export function clipByGlobalNorm(gpu: Gpu, step: StepEncoder, x: Target | readonly Target[], maxNorm: number, options: ClipNormOptions = {}): void {
  const op = 'clipByGlobalNorm';
  checkMaxNorm(op, maxNorm);
  const spans = (Array.isArray(x) ? (x as readonly Target[]) : [x as Target]).map(asSpan);
  if (spans.length === 0) throw new Error(`${op}: no spans`);
  const dest = options.norm === undefined ? undefined : scalarSpan(op, 'norm', options.norm);
  withNormBuffer(
    gpu,
    step,
    1,
    dest,
    spans.map((s) => s.buffer),
    (norm) => encodeScalarReduce(gpu, step, 'sumSquares', spans.map((s) => ({ x: s })), norm, { root: true }),
    (norm) => {
      for (const s of spans) {
        step.dispatch(
          clipKernels.scaleByNorm,
          { n: s.length, x_off: s.offset, norm_off: norm.offset, norm_stride: 0, max_norm: maxNorm },
          [norm.buffer, s.buffer],
          grid1d(s.length),
        );
      }
    },
  );
}

function scaleSegments(step: StepEncoder, table: SegmentTable, base: F32Span, norms: F32Span, perSegment: boolean, maxNorm: number): void {
  step.dispatch(
    clipKernels.scaleSegmentsByNorm,
    { n: table.blockCount, x_off: base.offset, norm_off: norms.offset, norm_stride: perSegment ? 1 : 0, max_norm: maxNorm },
    [table.buffer, norms.buffer, base.buffer],
    grid1d(table.blockCount, 1),
  );
}

/**
 * Clip by the global norm of the table's segments of `base` (elements between segments are neither
 * counted nor scaled): three dispatches however many segments.
 */
export function clipSegmentsByGlobalNorm(
  gpu: Gpu,
  step: StepEncoder,
  table: SegmentTable,
  base: Target,
  maxNorm: number,
  options: ClipNormOptions = {},
): void {
  const op = 'clipSegmentsByGlobalNorm';
  checkMaxNorm(op, maxNorm);
  const b = table.base(op, base);
  const dest = options.norm === undefined ? undefined : scalarSpan(op, 'norm', options.norm);
  withNormBuffer(
    gpu,
    step,
    1,
    dest,
    [b.buffer],
    (norm) => encodeSegmentTotal(gpu, step, table, b, norm, { root: true }),
    (norm) => scaleSegments(step, table, b, norm, false, maxNorm),
  );
}

export interface ClipSegmentsOptions {
  /** One element per segment receiving that segment's norm before clipping. */
  norms?: Target;
}

/** Per-segment (per-layer) clipping: segment s ← segment s · min(1, maxNorm / ‖segment s‖). */
export function clipSegmentsByNorm(
  gpu: Gpu,
  step: StepEncoder,
  table: SegmentTable,
  base: Target,
  maxNorm: number,
  options: ClipSegmentsOptions = {},
): void {
  const op = 'clipSegmentsByNorm';
  checkMaxNorm(op, maxNorm);
  const b = table.base(op, base);
  const dest = options.norms === undefined ? undefined : outputSpan(op, 'norms', options.norms, table.segmentCount);
  withNormBuffer(
    gpu,
    step,
    table.segmentCount,
    dest,
    [b.buffer],
    (norms) => encodeSegmentReduce(gpu, step, table, b, norms, { root: true }),
    (norms) => scaleSegments(step, table, b, norms, true, maxNorm),
  );
}
