// References of shaders/pack.wgsl. fp16 and bf16 are bit-exact encoders (round to nearest even on the
// float32 bits, the same integer steps as the WGSL); int8 is a float64 reference of the same layout.
type Vec = ArrayLike<number>;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bitsOf(v: number): number {
  f32[0] = v;
  return u32[0];
}

function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0];
}

/** binary16 bits of fround(v), round to nearest even; overflow → ±Inf; NaN → quiet NaN. */
export function f16Bits(v: number): number {
  const b = bitsOf(v);
  const sign = (b >>> 16) & 0x8000;
  const a = b & 0x7fffffff;
  if (a >= 0x7f800000) return sign | (a > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (a >= 0x477ff000) return sign | 0x7c00;
  if (a >= 0x38800000) {
    let h = (a - 0x38000000) >>> 13;
    const rest = a & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
    return sign | h;
  }
  if (a <= 0x33000000) return sign;
  const m = (a & 0x7fffff) | 0x800000;
  const shift = 126 - (a >>> 23);
  let h = m >>> shift;
  const rest = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/** The value of binary16 bits (exact). */
export function f16Value(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits of fround(v), round to nearest even; NaN → quiet NaN with its sign. */
export function bf16Bits(v: number): number {
  const b = bitsOf(v);
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x40) & 0xffff;
  // b ≤ 0xff800000 here, so the sum stays below 2^32 (as in the WGSL's u32 arithmetic).
  return Math.floor((b + 0x7fff + ((b >>> 16) & 1)) / 65536);
}

export function bf16Value(h: number): number {
  return fromBits((h & 0xffff) << 16);
}

function packHalves(x: Vec, bits: (v: number) => number): Uint32Array {
  const out = new Uint32Array(Math.ceil(x.length / 2));
  for (let w = 0; w < out.length; w++) {
    const lo = bits(x[2 * w]);
    const hi = 2 * w + 1 < x.length ? bits(x[2 * w + 1]) : 0;
    out[w] = (lo | (hi << 16)) >>> 0;
  }
  return out;
}

function unpackHalves(words: Uint32Array, n: number, value: (h: number) => number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => value(i % 2 === 0 ? words[i >> 1] & 0xffff : words[i >> 1] >>> 16));
}

/** The fp16 wire words of x (bit-exact with pack_fp16). */
export function packFp16(x: Vec): Uint32Array {
  return packHalves(x, f16Bits);
}

export function unpackFp16(words: Uint32Array, n: number): Float64Array {
  return unpackHalves(words, n, f16Value);
}

/** The bf16 wire words of x (bit-exact with pack_bf16). */
export function packBf16(x: Vec): Uint32Array {
  return packHalves(x, bf16Bits);
}

export function unpackBf16(words: Uint32Array, n: number): Float64Array {
  return unpackHalves(words, n, bf16Value);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Per-block int8 quantization in float64: scales[b] = max|x|/127, q = round-half-even(x/scale). */
export function quantizeInt8Blocks(x: Vec, blockSize: number): { scales: Float64Array; q: Int8Array } {
  const blocks = Math.ceil(x.length / blockSize);
  const scales = new Float64Array(blocks);
  const q = new Int8Array(x.length);
  for (let b = 0; b < blocks; b++) {
    const end = Math.min(x.length, (b + 1) * blockSize);
    let m = 0;
    for (let i = b * blockSize; i < end; i++) m = Math.max(m, Math.abs(x[i]));
    const scale = m / 127;
    scales[b] = scale;
    for (let i = b * blockSize; i < end; i++) q[i] = scale > 0 ? Math.max(-127, Math.min(127, roundHalfEven(x[i] / scale))) : 0;
  }
  return { scales, q };
}

/** Reads the int8 wire layout (scale words, then int8 words) back into scales and values. */
export function readInt8Blocks(words: Uint32Array, n: number, blockSize: number): { scales: Float32Array; q: Int8Array } {
  const blocks = Math.ceil(n / blockSize);
  const scales = new Float32Array(words.buffer, words.byteOffset, blocks).slice();
  const q = new Int8Array(words.buffer, words.byteOffset + 4 * blocks, n).slice();
  return { scales, q };
}

export function dequantizeInt8Blocks(scales: ArrayLike<number>, q: ArrayLike<number>, blockSize: number): Float64Array {
  return Float64Array.from(q, (v, i) => v * scales[Math.floor(i / blockSize)]);
}
