// Wire compression (shaders/pack.wgsl): float32 ranges packed into u32 words and back. The packed
// range is exactly what goes on the wire: send its packedBytes(format, n) bytes as they are.
//
// Layouts (little-endian u32 words):
//   fp16, bf16  ceil(n/2) words: element 2w in the low half of word w, 2w + 1 in the high half; an odd
//               n leaves the last high half zero. Round to nearest even, in integer ops, so every GPU
//               produces the same bits; ±Inf and NaN are kept (fp16: |x| ≥ 65520 → ±Inf).
//   int8        ceil(n/B) scale words (float32 bits, block b = elements [bB, bB + B)), then ceil(n/4)
//               words of int8 values (element 4w + j in byte j of word w). scale = max|x|/127 per
//               block, q = round-half-even(x/scale) in [−127, 127]; decode x ≈ q·scale, so
//               |error| ≤ scale/2. B is a multiple of 4. Finite inputs only.
import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { pack as source } from './generated/shaders.js';
import { asSpan, grid1d, type F32Span } from './span.js';

type Target = GPUBuffer | F32Span;

export type WireFormat = 'fp16' | 'bf16' | 'int8';

/** Default int8 block: 256 values share one scale (1.6% overhead). */
export const DEFAULT_INT8_BLOCK = 256;

const packParams = [
  ['n', 'u32'],
  ['x_off', 'u32'],
  ['p_off', 'u32'],
  ['block', 'u32'],
] as const;

const toWords = ['read', 'read_write'] as const;

export const packKernels = {
  packFp16: defineKernel({ name: 'pack.pack_fp16', source, entryPoint: 'pack_fp16', params: packParams, storage: toWords }),
  unpackFp16: defineKernel({ name: 'pack.unpack_fp16', source, entryPoint: 'unpack_fp16', params: packParams, storage: toWords }),
  packBf16: defineKernel({ name: 'pack.pack_bf16', source, entryPoint: 'pack_bf16', params: packParams, storage: toWords }),
  unpackBf16: defineKernel({ name: 'pack.unpack_bf16', source, entryPoint: 'unpack_bf16', params: packParams, storage: toWords }),
  /** One workgroup per block; override WG (a power of two ≤ 256) is picked from the block size. */
  packInt8: defineKernel({ name: 'pack.pack_int8_blocks', source, entryPoint: 'pack_int8_blocks', params: packParams, storage: toWords }),
  unpackInt8: defineKernel({ name: 'pack.unpack_int8_blocks', source, entryPoint: 'unpack_int8_blocks', params: packParams, storage: toWords }),
};

/** u32 words that n values take in `format` (int8: with its per-block scales). */
export function packedWords(format: WireFormat, n: number, blockSize = DEFAULT_INT8_BLOCK): number {
  if (!Number.isInteger(n) || n < 0) throw new Error(`packedWords: bad n ${n}`);
  if (format === 'int8') {
    checkBlockSize(blockSize);
    return Math.ceil(n / blockSize) + Math.ceil(n / 4);
  }
  return Math.ceil(n / 2);
}

/** Bytes on the wire: fp16/bf16 4·ceil(n/2); int8 4·ceil(n/B) + 4·ceil(n/4). */
export function packedBytes(format: WireFormat, n: number, blockSize = DEFAULT_INT8_BLOCK): number {
  return 4 * packedWords(format, n, blockSize);
}

/** packed ← encode(x). `packed` must hold exactly packedWords(format, x.length, blockSize) words. */
export function packValues(step: StepEncoder, format: WireFormat, x: Target, packed: Target, blockSize = DEFAULT_INT8_BLOCK): void {
  const xs = asSpan(x);
  const ps = asSpan(packed);
  const n = xs.length;
  checkPackedLength('packValues', format, n, ps, blockSize);
  checkWritableUnaliased('packValues', [ps], [xs]);
  const params = { n, x_off: xs.offset, p_off: ps.offset, block: format === 'int8' ? blockSize : 0 };
  const buffers = [xs.buffer, ps.buffer];
  if (format === 'int8') {
    const wg = int8Workgroup(blockSize);
    step.dispatch(packKernels.packInt8, params, buffers, grid1d(Math.ceil(n / blockSize), 1), { WG: wg });
  } else {
    step.dispatch(format === 'fp16' ? packKernels.packFp16 : packKernels.packBf16, params, buffers, grid1d(Math.ceil(n / 2)));
  }
}

/** x ← decode(packed), the inverse of packValues with the same format, length and block size. */
export function unpackValues(step: StepEncoder, format: WireFormat, packed: Target, x: Target, blockSize = DEFAULT_INT8_BLOCK): void {
  const xs = asSpan(x);
  const ps = asSpan(packed);
  const n = xs.length;
  checkPackedLength('unpackValues', format, n, ps, blockSize);
  checkWritableUnaliased('unpackValues', [xs], [ps]);
  const params = { n, x_off: xs.offset, p_off: ps.offset, block: format === 'int8' ? blockSize : 0 };
  const buffers = [ps.buffer, xs.buffer];
  if (format === 'int8') {
    step.dispatch(packKernels.unpackInt8, params, buffers, grid1d(Math.ceil(n / 4)));
  } else {
    step.dispatch(format === 'fp16' ? packKernels.unpackFp16 : packKernels.unpackBf16, params, buffers, grid1d(Math.ceil(n / 2)));
  }
}

function checkBlockSize(blockSize: number): void {
  if (!Number.isInteger(blockSize) || blockSize < 4 || blockSize % 4 !== 0 || blockSize > 2 ** 24) {
    throw new Error(`int8 block size must be a multiple of 4 in [4, 2^24], got ${blockSize}`);
  }
}

function checkPackedLength(op: string, format: WireFormat, n: number, packed: F32Span, blockSize: number): void {
  const words = packedWords(format, n, blockSize);
  if (packed.length !== words) {
    throw new Error(`${op}: ${n} values in ${format} take ${words} words, the packed span has ${packed.length}`);
  }
}

/** Threads per int8 block: enough for one word (4 values) each, a power of two in [32, 256]. */
function int8Workgroup(blockSize: number): number {
  const words = blockSize / 4;
  let wg = 32;
  while (wg < words && wg < 256) wg *= 2;
  return wg;
}
