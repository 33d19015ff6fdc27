import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { gather as source } from './generated/shaders.js';
import { grid1d } from './span.js';

// Params of shaders/gather.wgsl, in struct order (gather_rows leaves the image fields 0).
const gatherParams = [
  ['n', 'u32'],
  ['row_length', 'u32'],
  ['src_off', 'u32'],
  ['src_rows', 'u32'],
  ['idx_off', 'u32'],
  ['dst_off', 'u32'],
  ['channels', 'u32'],
  ['height', 'u32'],
  ['width', 'u32'],
  ['shift_off', 'u32'],
] as const;

export const gatherKernels = {
  rows: defineKernel({ name: 'gather.rows', source, entryPoint: 'gather_rows', params: gatherParams, storage: ['read', 'read', 'read_write'] }),
  shiftedImages: defineKernel({
    name: 'gather.shifted_images',
    source,
    entryPoint: 'gather_shifted_images',
    params: gatherParams,
    storage: ['read', 'read', 'read_write'],
  }),
};

/**
 * `length` 32-bit words from word `offset` of a buffer. The gather moves bits, so the words may be
 * f32 (features, targets, embeddings) or u32 (labels, token ids); an `F32Span` is one of these.
 */
export interface WordSpan {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly length: number;
}

/** `count` u32 row indices starting at element `offset` of `buffer`. */
export interface GatherIndices {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly count: number;
}

export interface GatherRowsArgs {
  /** [numRows × rowLength] words, row-major; numRows = source.length / rowLength. */
  readonly source: WordSpan;
  /** Which source row lands in each destination row. An index ≥ numRows yields a row of zeros. */
  readonly indices: GatherIndices;
  /** [indices.count × rowLength] words; in a buffer other than the source's and the indices'. */
  readonly destination: WordSpan;
  /** Words per row (features per sample, embedding width, 1 for labels). */
  readonly rowLength: number;
}

/**
 * destination[r, :] = source[indices[r], :] for r < indices.count, in one dispatch. Bit-exact for
 * f32 and u32 data alike (the batcher uses it for features and labels; embedding lookups too).
 */
export function gatherRows(step: StepEncoder, args: GatherRowsArgs): void {
  const n = checkGather('gatherRows', args);
  if (n === 0) return;
  const { source, indices, destination, rowLength } = args;
  step.dispatch(
    gatherKernels.rows,
    { ...gatherOffsets(args), n, row_length: rowLength, channels: 0, height: 0, width: 0, shift_off: 0 },
    [source.buffer, indices.buffer, destination.buffer],
    grid1d(n),
  );
}

/** Image rows, [height × width × channels] each (HWC, as the convolutions read them). */
export interface ImageShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface GatherShiftedImagesArgs {
  /** [numImages × H·W·C] words. */
  readonly source: WordSpan;
  readonly indices: GatherIndices;
  /** One packed word per index, `packImageShift(dx, dy)`, in the indices' buffer. */
  readonly shifts: GatherIndices;
  /** [indices.count × H·W·C] words, in a buffer other than the source's, indices' and shifts'. */
  readonly destination: WordSpan;
  readonly image: ImageShape;
}

/** The shift word of a translation by (dx, dy) pixels (right and down are positive). */
export function packImageShift(dx: number, dy: number): number {
  if (!Number.isInteger(dx) || !Number.isInteger(dy) || Math.abs(dx) > 0x7fff || Math.abs(dy) > 0x7fff) {
    throw new Error(`packImageShift: (${dx}, ${dy}) is not a pair of integers within ±32767`);
  }
  return ((dx + 0x8000) | ((dy + 0x8000) << 16)) >>> 0;
}

/**
 * destination image r = source image indices[r] translated by shift r (data augmentation inside the
 * batch gather, one dispatch): dst[y, x, c] = src[y − dy, x − dx, c] with coordinates clamped to the
 * image's edge, so the uncovered border repeats the edge pixels (the background of a digit).
 */
export function gatherShiftedImages(step: StepEncoder, args: GatherShiftedImagesArgs): void {
  const { source, indices, shifts, destination, image } = args;
  for (const [name, v] of Object.entries(image)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`gatherShiftedImages: image ${name} must be a positive integer, got ${v}`);
  }
  const rowLength = image.channels * image.height * image.width;
  const n = checkGather('gatherShiftedImages', { source, indices, destination, rowLength });
  checkWords('gatherShiftedImages: shifts', shifts.buffer, shifts.offset, shifts.count);
  if (shifts.count !== indices.count) throw new Error(`gatherShiftedImages: ${shifts.count} shifts for ${indices.count} indices`);
  // The kernel reads both through one binding: one host write per step carries indices and shifts.
  if (shifts.buffer !== indices.buffer) throw new Error('gatherShiftedImages: the shifts must be in the same buffer as the indices');
  if (n === 0) return;
  step.dispatch(
    gatherKernels.shiftedImages,
    { ...gatherOffsets({ source, indices, destination, rowLength }), n, row_length: rowLength, ...image, shift_off: shifts.offset },
    [source.buffer, indices.buffer, destination.buffer],
    grid1d(n),
  );
}

/** Checks a gather's spans; returns the destination words it writes. */
function checkGather(op: string, args: GatherRowsArgs): number {
  const { source, indices, destination, rowLength } = args;
  if (!Number.isInteger(rowLength) || rowLength < 1) throw new Error(`${op}: rowLength must be a positive integer, got ${rowLength}`);
  checkWords(`${op}: source`, source.buffer, source.offset, source.length);
  checkWords(`${op}: destination`, destination.buffer, destination.offset, destination.length);
  checkWords(`${op}: indices`, indices.buffer, indices.offset, indices.count);
  if (source.length % rowLength !== 0) {
    throw new Error(`${op}: source length ${source.length} is not a multiple of the row length ${rowLength}`);
  }
  const n = indices.count * rowLength;
  if (destination.length !== n) {
    throw new Error(`${op}: destination length ${destination.length} != ${indices.count} indices × row length ${rowLength}`);
  }
  // WebGPU rejects a buffer bound both read-only and writable in one dispatch; say so clearly.
  if (destination.buffer === source.buffer || destination.buffer === indices.buffer) {
    throw new Error(`${op}: the destination must be in a buffer of its own (not the source or indices buffer)`);
  }
  if (n > 0xffffffff) throw new Error(`${op}: ${n} destination words exceed the u32 index range`);
  return n;
}

function gatherOffsets(args: Pick<GatherRowsArgs, 'source' | 'indices' | 'destination' | 'rowLength'>) {
  return {
    src_off: args.source.offset,
    src_rows: args.source.length / args.rowLength,
    idx_off: args.indices.offset,
    dst_off: args.destination.offset,
  };
}

export interface GatherLabelsArgs {
  /** [numSamples] u32 labels (or f32 targets: the words are copied bit-exact). */
  readonly labels: WordSpan;
  readonly indices: GatherIndices;
  /** [indices.count] words. */
  readonly destination: WordSpan;
}

/** destination[r] = labels[indices[r]]: `gatherRows` with rows of one word. */
export function gatherLabels(step: StepEncoder, args: GatherLabelsArgs): void {
  gatherRows(step, { source: args.labels, indices: args.indices, destination: args.destination, rowLength: 1 });
}

function checkWords(what: string, buffer: GPUBuffer, offset: number, length: number): void {
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) {
    throw new Error(`${what}: bad range (offset ${offset}, length ${length})`);
  }
  if ((offset + length) * 4 > buffer.size) {
    throw new Error(`${what}: [${offset}, ${offset + length}) exceeds buffer ${buffer.label || ''} of ${buffer.size / 4} words`);
  }
}
