// Element encodings on the wire and their CPU codecs. The GPU versions (shaders/pack.wgsl) use the same
// definitions and byte layout, so GPU-packed bytes go on the wire unchanged (pack.wgsl's f16/bf16
// words hold element 2w in their low half, i.e. these u16s in order; its int8 buffer is the scales
// followed by the int8 words, which the sender passes to the chunker as two views of one readback):
//   F32         4 bytes per element, little-endian binary32.
//   F16         2 bytes per element, little-endian binary16, rounded to nearest even; overflow → ±Inf.
//               An odd element count ends with a single u16 (no padding to 4 bytes on the wire).
//   BF16        2 bytes per element: the top half of the binary32 bits, rounded to nearest even.
//   INT8_BLOCK  1 signed byte per element; one float32 scale per block of `blockSize` elements:
//               scale = max|x| / 127 over the block (f32), q = clamp(roundHalfEven(x / scale), -127, 127)
//               (the quotient rounded to f32 first), and q = 0 for an all-zero block (scale 0).
//               Decoding: x ≈ q * scale. Half-to-even is WGSL's round(), so the CPU and GPU agree
//               except where WGSL's division (2.5 ulp) lands on the other side of a .5: |Δq| ≤ 1.
import { DType } from './proto.js';
import { bytesOf, float32View, int8View, uint16View } from './views.js';

/** Bytes per element of a dtype (INT8_BLOCK: 1, its scales are counted separately), or 0 if unknown. */
export function bytesPerElement(dtype: number): number {
  switch (dtype) {
    case DType.DTYPE_F32:
      return 4;
    case DType.DTYPE_F16:
    case DType.DTYPE_BF16:
      return 2;
    case DType.DTYPE_INT8_BLOCK:
      return 1;
    default:
      return 0;
  }
}

/** True for the dtypes the wire supports (not UNSPECIFIED, not unknown numbers). */
export function isKnownDType(dtype: number): dtype is DType {
  return bytesPerElement(dtype) !== 0;
}

/** Short name for logs: "f32", "f16", "bf16", "int8_block". */
export function dtypeName(dtype: number): string {
  switch (dtype) {
    case DType.DTYPE_F32:
      return 'f32';
    case DType.DTYPE_F16:
      return 'f16';
    case DType.DTYPE_BF16:
      return 'bf16';
    case DType.DTYPE_INT8_BLOCK:
      return 'int8_block';
    default:
      return `dtype(${dtype})`;
  }
}

/** Length of a whole encoded tensor (scales excluded): element_count × bytesPerElement. */
export function tensorByteLength(dtype: DType, elementCount: number): number {
  return elementCount * bytesPerElement(dtype);
}

/** Number of scale blocks of an INT8_BLOCK tensor. */
export function blockCount(elementCount: number, blockSize: number): number {
  return Math.ceil(elementCount / blockSize);
}

/**
 * Index of the first NaN or ±Inf element in little-endian `bytes` of the given dtype, or -1 (always -1
 * for INT8_BLOCK, whose elements are integers). Reads exponent bits only, so it works on misaligned
 * views without copying; aligned f32 views are scanned as u32 words.
 */
export function firstNonFinite(bytes: Uint8Array, dtype: DType): number {
  switch (dtype) {
    case DType.DTYPE_F32: {
      const n = bytes.length >>> 2;
      if (bytes.byteOffset % 4 === 0 && HOST_LE) {
        const words = new Uint32Array(bytes.buffer, bytes.byteOffset, n);
        for (let i = 0; i < n; i++) if ((words[i] & 0x7f800000) === 0x7f800000) return i;
        return -1;
      }
      // Exponent = bits 30..23: all of byte 3's low 7 bits and byte 2's top bit.
      for (let i = 0; i < n; i++) if ((bytes[4 * i + 3] & 0x7f) === 0x7f && bytes[4 * i + 2] & 0x80) return i;
      return -1;
    }
    case DType.DTYPE_F16: {
      const n = bytes.length >>> 1;
      // Exponent = bits 14..10 = bits 6..2 of the high byte.
      for (let i = 0; i < n; i++) if ((bytes[2 * i + 1] & 0x7c) === 0x7c) return i;
      return -1;
    }
    case DType.DTYPE_BF16: {
      const n = bytes.length >>> 1;
      // Exponent = bits 14..7: the high byte's low 7 bits and the low byte's top bit.
      for (let i = 0; i < n; i++) if ((bytes[2 * i + 1] & 0x7f) === 0x7f && bytes[2 * i] & 0x80) return i;
      return -1;
    }
    default:
      return -1;
  }
}

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// Scratch for reinterpreting one float32's bits.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** binary32 bits → binary16 bits, rounded to nearest even (overflow → ±Inf, NaN → ±0x7e00). */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = f & 0x7f800000;
  if (exp >= 0x47800000) {
    // |x| ≥ 65536, Inf or NaN: ±Inf, or the quiet NaN 0x7e00 with its sign (as shaders/pack.wgsl does).
    if (exp === 0x7f800000 && (f & 0x7fffff) !== 0) return sign | 0x7e00;
    return sign | 0x7c00;
  }
  if (exp <= 0x38000000) {
    // |x| < 2^-14: an f16 subnormal or zero.
    if (exp < 0x33000000) return sign; // below half the smallest subnormal: rounds to ±0
    const e = exp >>> 23;
    let sig = 0x800000 + (f & 0x7fffff);
    sig >>>= 113 - e;
    // Round half to even; the shift may have dropped low bits, which make a tie a round-up.
    if ((sig & 0x3fff) !== 0x1000 || (f & 0x7ff) !== 0) sig += 0x1000;
    return sign | (sig >>> 13); // a carry into the exponent gives the smallest normal: correct
  }
  let sig = f & 0x7fffff;
  if ((sig & 0x3fff) !== 0x1000) sig += 0x1000; // round half to even
  // A mantissa carry increments the exponent (up to Inf): correct.
  return sign | (((exp - 0x38000000) >>> 13) + (sig >>> 13));
}

/** binary16 bits → binary32 bits (exact). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Subnormal: normalize.
    let e = 113;
    let m = mant;
    while ((m & 0x400) === 0) {
      m <<= 1;
      e--;
    }
    return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
  }
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
}

/** binary32 bits → bfloat16 bits, rounded to nearest even (NaN stays a quiet NaN). */
export function f32BitsToBf16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && (f & 0x7fffff) !== 0) return ((f >>> 16) | 0x40) & 0xffff;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → float16 bits, element by element (into `dst` if given). */
export function f32ToF16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]);
  return dst;
}

/** float16 bits → float32 (exact). */
export function f16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = f16BitsToF32Bits(src[i]);
  return dst;
}

/** float32 → bfloat16 bits (round to nearest even). */
export function f32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]);
  return dst;
}

/** bfloat16 bits → float32 (exact). */
export function bf16ToF32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const out = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
  return dst;
}

/** Rounds half to even, like WGSL's round(). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v); // rounds .5 towards +Inf
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** int8 values with one float32 scale per block. */
export interface Int8Blocks {
  values: Int8Array;
  scales: Float32Array;
  blockSize: number;
}

/**
 * float32 → int8 with per-block scales (definition at the top of this file). Throws a RangeError on a
 * NaN/Inf input or a block size < 1: quantizing those is a bug in the caller, not bad input from a peer.
 */
export function quantizeInt8Blocks(
  src: Float32Array,
  blockSize: number,
  dst: { values?: Int8Array; scales?: Float32Array } = {},
): Int8Blocks {
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`int8 block size must be an integer >= 1, got ${blockSize}`);
  const n = src.length;
  const values = dst.values ?? new Int8Array(n);
  const scales = dst.scales ?? new Float32Array(blockCount(n, blockSize));
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = Math.min(start + blockSize, n);
    let absmax = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(src[i]);
      if (!(a <= Number.MAX_VALUE)) throw new RangeError(`quantizeInt8Blocks: element ${i} is ${src[i]}`);
      if (a > absmax) absmax = a;
    }
    const scale = Math.fround(absmax / 127);
    scales[b] = scale;
    if (scale === 0) {
      values.fill(0, start, end);
      continue;
    }
    for (let i = start; i < end; i++) {
      const q = roundHalfEven(Math.fround(src[i] / scale));
      values[i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { values, scales, blockSize };
}

/** int8 blocks → float32: x = q × scale (rounded to f32). */
export function dequantizeInt8Blocks(
  values: Int8Array,
  scales: Float32Array,
  blockSize: number,
  dst: Float32Array = new Float32Array(values.length),
): Float32Array {
  for (let b = 0, start = 0; start < values.length; b++, start += blockSize) {
    const scale = scales[b];
    const end = Math.min(start + blockSize, values.length);
    for (let i = start; i < end; i++) dst[i] = values[i] * scale;
  }
  return dst;
}

/** A tensor as the wire carries it: its element bytes and, for INT8_BLOCK, its scales' bytes. */
export interface EncodedTensor {
  dtype: DType;
  elementCount: number;
  /** INT8_BLOCK only (0 otherwise). */
  blockSize: number;
  /** element_count × bytesPerElement(dtype) bytes, little-endian. */
  bytes: Uint8Array;
  /** INT8_BLOCK: 4 bytes (float32) per block; empty otherwise. */
  scales: Uint8Array;
}

/**
 * float32 values → their wire bytes in `dtype` (CPU path; GPU-packed buffers need no conversion). For
 * F32 the result is a view of `src` (no copy).
 */
export function encodeTensor(src: Float32Array, dtype: DType, blockSize = 0): EncodedTensor {
  const base = { dtype, elementCount: src.length, blockSize: 0, scales: new Uint8Array(0) };
  switch (dtype) {
    case DType.DTYPE_F32:
      return { ...base, bytes: bytesOf(src) };
    case DType.DTYPE_F16:
      return { ...base, bytes: bytesOf(f32ToF16(src)) };
    case DType.DTYPE_BF16:
      return { ...base, bytes: bytesOf(f32ToBf16(src)) };
    case DType.DTYPE_INT8_BLOCK: {
      const q = quantizeInt8Blocks(src, blockSize);
      return { ...base, blockSize, bytes: bytesOf(q.values), scales: bytesOf(q.scales) };
    }
    default:
      throw new RangeError(`encodeTensor: unknown dtype ${dtype}`);
  }
}

/**
 * Wire bytes → float32 values. Works on misaligned views (e.g. a payload straight out of a decoded
 * message): aligned F32 bytes come back as a view, anything else costs one copy or one conversion.
 * Lengths must already be valid (the decoder and reassembler check them); throws a RangeError if not.
 */
export function decodeTensor(tensor: EncodedTensor, dst?: Float32Array): Float32Array {
  const { dtype, elementCount, bytes } = tensor;
  if (bytes.length !== tensorByteLength(dtype, elementCount)) {
    throw new RangeError(`decodeTensor: ${bytes.length} bytes for ${elementCount} ${dtypeName(dtype)} elements`);
  }
  switch (dtype) {
    case DType.DTYPE_F32: {
      if (dst === undefined) return float32View(bytes).values;
      bytesOf(dst).set(bytes); // one copy, whatever the alignment of `bytes`
      return dst;
    }
    case DType.DTYPE_F16:
      return f16ToF32(uint16View(bytes).values, dst);
    case DType.DTYPE_BF16:
      return bf16ToF32(uint16View(bytes).values, dst);
    case DType.DTYPE_INT8_BLOCK: {
      const scales = float32View(tensor.scales).values;
      if (scales.length !== blockCount(elementCount, tensor.blockSize)) {
        throw new RangeError(`decodeTensor: ${scales.length} scales for ${elementCount} elements in blocks of ${tensor.blockSize}`);
      }
      return dequantizeInt8Blocks(int8View(bytes), scales, tensor.blockSize, dst);
    }
    default:
      throw new RangeError(`decodeTensor: unknown dtype ${dtype}`);
  }
}

/** Reads one binary32 from bits (for tests and logs). */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits;
  return scratchF32[0];
}

/** The binary32 bits of a number (rounded to f32 first). */
export function f32Bits(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0];
}
