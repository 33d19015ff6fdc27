import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { gather as source } from './generated/shaders.js';
import { grid1d } from './span.js';

export const gatherKernels = {
  rows: defineKernel({
    name: 'gather.rows',
    source,
    entryPoint: 'gather_rows',
    params: [
      ['n', 'u32'],
      ['row_length', 'u32'],
      ['src_off', 'u32'],
      ['src_rows', 'u32'],
      ['idx_off', 'u32'],
      ['dst_off', 'u32'],
    ],
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
  const { source, indices, destination, rowLength } = args;
  if (!Number.isInteger(rowLength) || rowLength < 1) throw new Error(`gatherRows: rowLength must be a positive integer, got ${rowLength}`);
  checkWords('gatherRows: source', source.buffer, source.offset, source.length);
  checkWords('gatherRows: destination', destination.buffer, destination.offset, destination.length);
  checkWords('gatherRows: indices', indices.buffer, indices.offset, indices.count);
  if (source.length % rowLength !== 0) {
    throw new Error(`gatherRows: source length ${source.length} is not a multiple of rowLength ${rowLength}`);
  }
  const n = indices.count * rowLength;
  if (destination.length !== n) {
    throw new Error(`gatherRows: destination length ${destination.length} != ${indices.count} indices × rowLength ${rowLength}`);
  }
  // WebGPU rejects a buffer bound both read-only and writable in one dispatch; say so clearly.
  if (destination.buffer === source.buffer || destination.buffer === indices.buffer) {
    throw new Error('gatherRows: the destination must be in a buffer of its own (not the source or indices buffer)');
  }
  if (n > 0xffffffff) throw new Error(`gatherRows: ${n} destination words exceed the u32 index range`);
  if (n === 0) return;
  step.dispatch(
    gatherKernels.rows,
    {
      n,
      row_length: rowLength,
      src_off: source.offset,
      src_rows: source.length / rowLength,
      idx_off: indices.offset,
      dst_off: destination.offset,
    },
    [source.buffer, indices.buffer, destination.buffer],
    grid1d(n),
  );
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
