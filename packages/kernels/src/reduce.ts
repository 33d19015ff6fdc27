// Reductions whose results stay on the GPU: sum, dot, squared L2 norm and norm of a span into one
// element of an output buffer; per-segment sums of squares (per-tensor norms) of a flat buffer in one
// pass; argmax per row and counting correct predictions. Callers read back only when they want.
import type { Gpu, StepEncoder } from '@gossamer/gpu';
import {
  acquireScratch,
  encodeScalarReduce,
  encodeSegmentReduce,
  outputSpan,
  reduceKernels,
  rowsOf,
  rowWorkgroupSize,
  scalarSpan,
  SegmentTable,
  type IndexTarget,
  type ScalarTarget,
  type SegmentRange,
  type Target,
} from './reduce-encode.js';
import { asSpan, checkSameLength, grid1d, isSpan, type F32Span } from './span.js';

export { reduceKernels, SegmentTable, type IndexSpan, type IndexTarget, type ScalarTarget, type SegmentRange } from './reduce-encode.js';

export interface ReduceOptions {
  /** The output receives scale · result (default 1; 1/n gives a mean). */
  scale?: number;
  /** Add to the output's current value instead of overwriting it (e.g. a loss summed over steps). */
  accumulate?: boolean;
}

/** out ← Σ x. Two-stage tree reduction; no readback. */
export function reduceSum(gpu: Gpu, step: StepEncoder, x: Target, out: ScalarTarget, options: ReduceOptions = {}): void {
  encodeScalarReduce(gpu, step, 'sum', [{ x: asSpan(x) }], scalarSpan('reduceSum', 'out', out), options);
}

/** out ← Σ x·y (x and y may be the same span). */
export function reduceDot(gpu: Gpu, step: StepEncoder, x: Target, y: Target, out: ScalarTarget, options: ReduceOptions = {}): void {
  const [xs, ys] = [asSpan(x), asSpan(y)];
  checkSameLength('reduceDot', xs, ys);
  encodeScalarReduce(gpu, step, 'dot', [{ x: xs, y: ys }], scalarSpan('reduceDot', 'out', out), options);
}

/** out ← ‖x‖² = Σ x². */
export function reduceSumSquares(gpu: Gpu, step: StepEncoder, x: Target, out: ScalarTarget, options: ReduceOptions = {}): void {
  encodeScalarReduce(gpu, step, 'sumSquares', [{ x: asSpan(x) }], scalarSpan('reduceSumSquares', 'out', out), options);
}

/** out ← ‖x‖ (the L2 norm of one span, or the global norm of several as if concatenated). */
export function reduceNorm(gpu: Gpu, step: StepEncoder, x: Target | readonly Target[], out: ScalarTarget): void {
  const spans = (Array.isArray(x) ? (x as readonly Target[]) : [x as Target]).map(asSpan);
  if (spans.length === 0) throw new Error('reduceNorm: no spans');
  encodeScalarReduce(gpu, step, 'sumSquares', spans.map((s) => ({ x: s })), scalarSpan('reduceNorm', 'out', out), { root: true });
}

export interface SegmentReduceOptions extends ReduceOptions {
  /** Write √(scale · Σ x²), the segment's L2 norm, instead of the sum of squares. */
  norm?: boolean;
}

/** A segment table for `segments` of a flat buffer; create once per layout (it uploads one buffer). */
export function createSegmentTable(gpu: Gpu, segments: readonly SegmentRange[], blockElements?: number): SegmentTable {
  return new SegmentTable(gpu, segments, blockElements);
}

/**
 * out[s] ← Σ x² over segment s of `base` (or its norm), for every segment of `table` at once: one
 * dispatch when every segment is at most one block, else two (block partials, then one workgroup per
 * segment). `out` has one element per segment.
 */
export function segmentSumSquares(
  gpu: Gpu,
  step: StepEncoder,
  table: SegmentTable,
  base: Target,
  out: Target,
  options: SegmentReduceOptions = {},
): void {
  const op = 'segmentSumSquares';
  encodeSegmentReduce(gpu, step, table, table.base(op, base), outputSpan(op, 'out', out, table.segmentCount), {
    scale: options.scale,
    accumulate: options.accumulate,
    root: options.norm,
  });
}

/** out[s] ← ‖segment s‖ for every segment of `table`. */
export function segmentNorms(gpu: Gpu, step: StepEncoder, table: SegmentTable, base: Target, out: Target): void {
  segmentSumSquares(gpu, step, table, base, out, { norm: true });
}

/**
 * predictions[r] ← argmax_c x[r, c] for a row-major [rows × cols] matrix (rows = x.length / cols),
 * u32, one workgroup per row. Ties go to the lowest index; NaN counts as the largest value.
 * `predictions` must not share a buffer with `x`.
 */
export function argmaxRows(step: StepEncoder, x: Target, cols: number, predictions: IndexTarget): void {
  const xs = asSpan(x);
  const rows = rowsOf('argmaxRows', xs, cols);
  const out = outputSpan('argmaxRows', 'predictions', predictions, rows);
  if (out.buffer === xs.buffer) throw new Error('argmaxRows: predictions must be in a different buffer than x');
  step.dispatch(
    reduceKernels.argmaxRows,
    { rows, cols, x_off: xs.offset, out_off: out.offset },
    [xs.buffer, out.buffer],
    grid1d(rows, 1),
    { WG: rowWorkgroupSize(cols) },
  );
}

export interface CountOptions {
  /** The output receives scale · count (default 1; 1/rows gives the accuracy). */
  scale?: number;
  /** Add to the output's current value (counting over many batches). */
  accumulate?: boolean;
}

export interface CountFromLogitsOptions extends CountOptions {
  /**
   * [rows] floats for the predictions. Default: pooled scratch, which may be another buffer on every
   * call (and so another bind group); a caller that evaluates again and again passes its own.
   */
  predictions?: F32Span;
}

/**
 * out ← #{r : predictions[r] = labels[r]} (u32 inputs, float32 count, exact below 2^24). One
 * workgroup: batches are small next to the kernels that produced the predictions. `out` must not
 * share a buffer with the inputs.
 */
export function countCorrect(step: StepEncoder, predictions: IndexTarget, labels: IndexTarget, out: ScalarTarget, options: CountOptions = {}): void {
  const [ps, ls] = [asSpan(predictions), asSpan(labels)];
  // A whole labels buffer may be longer than the predictions (pooled); spans must match exactly.
  const n = ps.length;
  if (isSpan(labels) ? ls.length !== n : ls.length < n) throw new Error(`countCorrect: ${ls.length} labels for ${n} predictions`);
  const o = scalarSpan('countCorrect', 'out', out);
  if (o.buffer === ps.buffer || o.buffer === ls.buffer) throw new Error('countCorrect: out must be in a different buffer than the inputs');
  step.dispatch(
    reduceKernels.countEqual,
    { n, x_off: ps.offset, y_off: ls.offset, out_off: o.offset, scale: options.scale ?? 1, finalize: 1, accumulate: options.accumulate ? 1 : 0 },
    [ps.buffer, ls.buffer, o.buffer],
    1,
  );
}

/**
 * out ← number of rows of `logits` ([rows × cols]) whose argmax equals the label: accuracy without
 * reading predictions back. Predictions go through pooled scratch.
 */
export function countCorrectFromLogits(
  gpu: Gpu,
  step: StepEncoder,
  logits: Target,
  cols: number,
  labels: IndexTarget,
  out: ScalarTarget,
  options: CountFromLogitsOptions = {},
): void {
  const rows = rowsOf('countCorrectFromLogits', asSpan(logits), cols);
  if (options.predictions && options.predictions.length !== rows) {
    throw new Error(`countCorrectFromLogits: predictions has ${options.predictions.length} floats for ${rows} rows`);
  }
  const predictions: F32Span = options.predictions ?? { buffer: acquireScratch(gpu, rows, 'scratch:predictions'), offset: 0, length: rows };
  argmaxRows(step, logits, cols, predictions);
  countCorrect(step, predictions, labels, out, options);
  if (!options.predictions) gpu.pool.release(predictions.buffer);
}
