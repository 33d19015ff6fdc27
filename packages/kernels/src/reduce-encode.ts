// Encoders shared by reductions, softmax + cross-entropy and clipping: scratch from the pool, output
// targets, segment tables and the two-stage reductions. Not re-exported from the package index
// except for the public types and SegmentTable (see reduce.ts).
import { defineKernel, STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { reduce as source } from './generated/shaders.js';
import { asSpan, grid1d, isSpan, type F32Span } from './span.js';

/** A whole buffer or a span of one (float32 elements). */
export type Target = GPUBuffer | F32Span;

/**
 * A range of u32 elements (class labels, predicted indices): the same shape as F32Span, with
 * `offset` and `length` counted in 4-byte elements. Build one with `span(buffer, offset, length)`.
 */
export type IndexSpan = F32Span;
export type IndexTarget = GPUBuffer | IndexSpan;

/** One output element: a span of length 1, or element 0 of a buffer. */
export type ScalarTarget = GPUBuffer | F32Span;

/** Workgroup size of the reductions (a power of two; the WG override's default in the WGSL). */
export const REDUCE_WG = 256;
/** Most stage-1 workgroups of a scalar reduction; stage 2 folds this many partials in one workgroup. */
export const MAX_PARTIALS = 1024;
/**
 * Stage 1 uses fewer workgroups until each invocation has at least this many elements: the partials
 * get fuller and small inputs finish in one workgroup (one dispatch).
 */
const MIN_ITEMS_PER_THREAD = 8;

export const reduceKernels = {
  /** Sum (OP 0) or sum of squares (OP 1) of a range; with ROOT, the finished value is a norm. */
  reduceX: defineKernel({ name: 'reduce.reduce_x', source, entryPoint: 'reduce_x', params: reduceParams(), storage: ['read', 'read_write'] }),
  reduceXY: defineKernel({ name: 'reduce.reduce_xy', source, entryPoint: 'reduce_xy', params: reduceParams(), storage: ['read', 'read', 'read_write'] }),
  segmentBlocks: defineKernel({
    name: 'reduce.segment_sumsq_blocks',
    source,
    entryPoint: 'segment_sumsq_blocks',
    params: segmentedParams(),
    storage: ['read', 'read', 'read_write'],
  }),
  segmentFinish: defineKernel({
    name: 'reduce.segment_finish',
    source,
    entryPoint: 'segment_finish',
    params: segmentedParams(),
    storage: ['read', 'read', 'read_write'],
  }),
  argmaxRows: defineKernel({
    name: 'reduce.argmax_rows',
    source,
    entryPoint: 'argmax_rows',
    params: [
      ['rows', 'u32'],
      ['cols', 'u32'],
      ['x_off', 'u32'],
      ['out_off', 'u32'],
    ] as const,
    storage: ['read', 'read_write'],
  }),
  countEqual: defineKernel({ name: 'reduce.count_equal', source, entryPoint: 'count_equal', params: reduceParams(), storage: ['read', 'read', 'read_write'] }),
};

function reduceParams() {
  return [
    ['n', 'u32'],
    ['x_off', 'u32'],
    ['y_off', 'u32'],
    ['out_off', 'u32'],
    ['scale', 'f32'],
    ['finalize', 'u32'],
    ['accumulate', 'u32'],
  ] as const;
}

function segmentedParams() {
  return [
    ['count', 'u32'],
    ['x_off', 'u32'],
    ['seg_base', 'u32'],
    ['out_off', 'u32'],
    ['scale', 'f32'],
    ['finalize', 'u32'],
    ['accumulate', 'u32'],
  ] as const;
}

/** Scratch floats from the device's pool. Release right after encoding: reuse waits for the GPU. */
export function acquireScratch(gpu: Gpu, floats: number, label: string): GPUBuffer {
  return gpu.pool.acquire(Math.max(1, floats) * 4, STORAGE_USAGE, label);
}

/** The span of `count` elements an output refers to: a span must have exactly that length. */
export function outputSpan(op: string, what: string, target: Target, count: number): F32Span {
  if (isSpan(target)) {
    if (target.length !== count) throw new Error(`${op}: ${what} has ${target.length} elements, expected ${count}`);
    return target;
  }
  const whole = asSpan(target);
  if (whole.length < count) throw new Error(`${op}: ${what} buffer holds ${whole.length} elements, expected at least ${count}`);
  return { buffer: target, offset: 0, length: count };
}

export function scalarSpan(op: string, what: string, target: ScalarTarget): F32Span {
  return outputSpan(op, what, target, 1);
}

/**
 * Runs `write` against `dest`, or — when `dest` lies in a buffer the kernel also binds for another
 * role (WebGPU rejects a writable binding aliasing another binding of the same buffer in one
 * dispatch) — against pooled scratch that is then copied into `dest`.
 */
export function writeVia(gpu: Gpu, step: StepEncoder, dest: F32Span, bound: readonly GPUBuffer[], write: (target: F32Span) => void): void {
  if (!bound.includes(dest.buffer)) {
    write(dest);
    return;
  }
  const scratch = acquireScratch(gpu, dest.length, 'scratch:output');
  write({ buffer: scratch, offset: 0, length: dest.length });
  step.copy(scratch, 0, dest.buffer, dest.offset * 4, dest.length * 4);
  gpu.pool.release(scratch);
}

/** Stage-1 workgroups (= partials) for n elements. */
export function partialCount(n: number): number {
  return Math.min(MAX_PARTIALS, Math.max(1, Math.ceil(n / (REDUCE_WG * MIN_ITEMS_PER_THREAD))));
}

export interface Finish {
  /** The finished value is scale · total (default 1). */
  scale?: number;
  /** Take the square root of scale · total (a norm from a sum of squares). */
  root?: boolean;
  /** Add to the value the output already holds instead of overwriting it. */
  accumulate?: boolean;
}

function finishParams(f: Finish) {
  return { scale: f.scale ?? 1, accumulate: f.accumulate ? 1 : 0 };
}

/**
 * out ← finish(Σ over all `inputs` of x (sum), x² (sumSquares) or x·y (dot)). Stage 1 writes one
 * partial per workgroup for each input into one scratch buffer; stage 2 folds them all. A single
 * small input whose output is in another buffer finishes in stage 1 (one dispatch).
 */
export function encodeScalarReduce(
  gpu: Gpu,
  step: StepEncoder,
  op: 'sum' | 'sumSquares' | 'dot',
  inputs: readonly { x: F32Span; y?: F32Span }[],
  out: F32Span,
  finish: Finish,
): void {
  const k = reduceKernels;
  const counts = inputs.map(({ x }) => partialCount(x.length));
  const read = inputs.flatMap(({ x, y }) => (y ? [x.buffer, y.buffer] : [x.buffer]));
  const stage1 = (input: { x: F32Span; y?: F32Span }, target: GPUBuffer, outOff: number, groups: number, final: boolean) => {
    const params = { n: input.x.length, x_off: input.x.offset, y_off: input.y?.offset ?? 0, out_off: outOff, ...finishParams(final ? finish : {}), finalize: final ? 1 : 0 };
    if (op === 'dot') {
      if (!input.y) throw new Error('dot: missing y');
      step.dispatch(k.reduceXY, params, [input.x.buffer, input.y.buffer, target], groups, { ROOT: final && !!finish.root });
    } else {
      step.dispatch(k.reduceX, params, [input.x.buffer, target], groups, { OP: op === 'sumSquares' ? 1 : 0, ROOT: final && !!finish.root });
    }
  };
  if (inputs.length === 1 && counts[0] === 1 && !read.includes(out.buffer)) {
    stage1(inputs[0], out.buffer, out.offset, 1, true);
    return;
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const scratch = acquireScratch(gpu, total, 'scratch:partials');
  let at = 0;
  inputs.forEach((input, i) => {
    stage1(input, scratch, at, counts[i], false);
    at += counts[i];
  });
  foldPartials(step, scratch, 0, total, out, finish);
  gpu.pool.release(scratch);
}

/** out ← finish(Σ partials[off, off + count)) in one workgroup. */
export function foldPartials(step: StepEncoder, partials: GPUBuffer, offset: number, count: number, out: F32Span, finish: Finish): void {
  step.dispatch(
    reduceKernels.reduceX,
    { n: count, x_off: offset, y_off: 0, out_off: out.offset, ...finishParams(finish), finalize: 1 },
    [partials, out.buffer],
    1,
    { OP: 0, ROOT: !!finish.root },
  );
}

/** A segment of a flat buffer: `length` elements from element `offset` (relative to a base span). */
export interface SegmentRange {
  readonly offset: number;
  readonly length: number;
}

/** Elements per block of a segment table: one workgroup of 256 invocations, 16 elements each. */
export const DEFAULT_BLOCK_ELEMENTS = 4096;

/**
 * The segments of a flat buffer (e.g. one per layer tensor) cut into blocks of at most
 * `blockElements`, uploaded once. Segmented kernels run one workgroup per block, so one dispatch
 * covers every segment, and a huge tensor spreads over many workgroups instead of one. Build it once
 * per layout (it creates a GPU buffer) and reuse it every step; offsets are relative to the base
 * span the kernels get, so one table serves parameters, gradients and optimizer state alike.
 */
export class SegmentTable {
  /** Table words: (segment, start, length) per block, then (first block, block count) per segment. */
  readonly buffer: GPUBuffer;
  readonly blockCount: number;
  /** Word index where the per-segment entries start. */
  readonly segmentBase: number;
  /** The base span must hold at least this many elements (the furthest segment end). */
  readonly extent: number;
  /** Every segment is one block: per-segment reductions finish in one dispatch. */
  readonly oneBlockPerSegment: boolean;

  constructor(gpu: Gpu, readonly segments: readonly SegmentRange[], readonly blockElements = DEFAULT_BLOCK_ELEMENTS) {
    if (segments.length === 0) throw new Error('SegmentTable: no segments');
    if (!Number.isInteger(blockElements) || blockElements < 1) throw new Error(`SegmentTable: bad blockElements ${blockElements}`);
    const blocks: number[] = [];
    const perSegment: number[] = [];
    let extent = 0;
    segments.forEach(({ offset, length }, s) => {
      if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) {
        throw new Error(`SegmentTable: segment ${s} has bad offset/length ${offset}/${length}`);
      }
      extent = Math.max(extent, offset + length);
      // An empty segment still gets one (empty) block, so every segment has an output.
      const count = Math.max(1, Math.ceil(length / blockElements));
      perSegment.push(blocks.length / 3, count);
      for (let b = 0; b < count; b++) {
        const start = b * blockElements;
        blocks.push(s, offset + start, Math.min(blockElements, length - start));
      }
    });
    if (extent >= 2 ** 32) throw new Error('SegmentTable: offsets exceed u32');
    this.blockCount = blocks.length / 3;
    this.segmentBase = blocks.length;
    this.extent = extent;
    this.oneBlockPerSegment = this.blockCount === segments.length;
    this.buffer = gpu.upload(Uint32Array.from([...blocks, ...perSegment]), 'segment-table');
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  /** The base span, checked to hold every segment. */
  base(op: string, x: Target): F32Span {
    const s = asSpan(x);
    if (s.length < this.extent) throw new Error(`${op}: base span of ${s.length} elements is shorter than the segments' extent ${this.extent}`);
    return s;
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

/** Stage 1 of segmented sums of squares: a partial per block, or per segment when `finalOut`. */
export function encodeSegmentBlocks(step: StepEncoder, table: SegmentTable, base: F32Span, out: F32Span, finalOut: Finish | null): void {
  step.dispatch(
    reduceKernels.segmentBlocks,
    {
      count: table.blockCount,
      x_off: base.offset,
      seg_base: table.segmentBase,
      out_off: out.offset,
      ...finishParams(finalOut ?? {}),
      finalize: finalOut ? 1 : 0,
    },
    [table.buffer, base.buffer, out.buffer],
    grid1d(table.blockCount, 1),
    { ROOT: !!finalOut?.root },
  );
}

/** out[s] ← finish(Σ over segment s of x²), one value per segment. */
export function encodeSegmentReduce(gpu: Gpu, step: StepEncoder, table: SegmentTable, base: F32Span, out: F32Span, finish: Finish): void {
  if (table.oneBlockPerSegment && out.buffer !== base.buffer && out.buffer !== table.buffer) {
    encodeSegmentBlocks(step, table, base, out, finish);
    return;
  }
  const scratch = acquireScratch(gpu, table.blockCount, 'scratch:segment-partials');
  encodeSegmentBlocks(step, table, base, { buffer: scratch, offset: 0, length: table.blockCount }, null);
  step.dispatch(
    reduceKernels.segmentFinish,
    { count: table.segmentCount, x_off: 0, seg_base: table.segmentBase, out_off: out.offset, ...finishParams(finish), finalize: 1 },
    [table.buffer, scratch, out.buffer],
    grid1d(table.segmentCount, 1),
    { ROOT: !!finish.root },
  );
  gpu.pool.release(scratch);
}

/** out ← finish(Σ over every segment of x²): block partials, then one fold. */
export function encodeSegmentTotal(gpu: Gpu, step: StepEncoder, table: SegmentTable, base: F32Span, out: F32Span, finish: Finish): void {
  const scratch = acquireScratch(gpu, table.blockCount, 'scratch:segment-partials');
  encodeSegmentBlocks(step, table, base, { buffer: scratch, offset: 0, length: table.blockCount }, null);
  foldPartials(step, scratch, 0, table.blockCount, out, finish);
  gpu.pool.release(scratch);
}

/** Workgroup size for one-workgroup-per-row kernels: the next power of two ≥ cols, in [32, 256]. */
export function rowWorkgroupSize(cols: number): number {
  return Math.min(256, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(1, cols)))));
}

/** Rows of a [rows × cols] matrix span, checked. */
export function rowsOf(op: string, matrix: F32Span, cols: number): number {
  if (!Number.isInteger(cols) || cols < 1) throw new Error(`${op}: cols must be a positive integer, got ${cols}`);
  if (matrix.length % cols !== 0) throw new Error(`${op}: ${matrix.length} elements is not a whole number of rows of ${cols}`);
  return matrix.length / cols;
}

/** Whether two spans of one buffer share any element. */
export function overlaps(a: F32Span, b: F32Span): boolean {
  return a.buffer === b.buffer && a.offset < b.offset + b.length && b.offset < a.offset + a.length;
}
