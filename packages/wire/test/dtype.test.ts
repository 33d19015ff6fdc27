// CPU dtype codecs (f16, bf16, int8 blocks), NaN/Inf detection, and zero-copy float32 views.
import { describe, expect, it } from 'vitest';
import {
  DType,
  EnvelopeEncoder,
  bf16ToF32,
  bytesOf,
  decodeEnvelope,
  decodeTensor,
  dequantizeInt8Blocks,
  encodeTensor,
  f16BitsToF32Bits,
  f16ToF32,
  f32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32FromBits,
  f32ToBf16,
  f32ToF16,
  firstNonFinite,
  float32View,
  quantizeInt8Blocks,
  roundHalfEven,
  uint16View,
} from '@gossamer/wire';
import { envelopeOf, rng } from './fixtures.js';

const f16Value = (h: number): number => f32FromBits(f16BitsToF32Bits(h));

describe('f16', () => {
  it('decodes the landmarks', () => {
    expect(f16Value(0x3c00)).toBe(1);
    expect(f16Value(0xc000)).toBe(-2);
    expect(f16Value(0x7bff)).toBe(65504);
    expect(f16Value(0x0001)).toBe(2 ** -24);
    expect(f16Value(0x0400)).toBe(2 ** -14);
    expect(f16Value(0x7c00)).toBe(Infinity);
    expect(Object.is(f16Value(0x8000), -0)).toBe(true);
    expect(f16Value(0x7e00)).toBeNaN();
  });

  it('all 65536 values survive f16 → f32 → f16 (NaNs stay NaN)', () => {
    for (let h = 0; h < 0x10000; h++) {
      const back = f32BitsToF16Bits(f16BitsToF32Bits(h));
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) expect((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0).toBe(true);
      else if (back !== h) throw new Error(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  it('rounds to nearest, ties to even, at every pair of neighbours (subnormals and overflow included)', () => {
    const wrong: string[] = [];
    const check = (bits: number, expected: number): void => {
      const got = f32BitsToF16Bits(bits >>> 0);
      if (got !== expected) wrong.push(`0x${(bits >>> 0).toString(16)} → 0x${got.toString(16)}, expected 0x${expected.toString(16)}`);
    };
    for (let h = 0; h <= 0x7bff; h++) {
      const a = f16Value(h);
      const b = h === 0x7bff ? 65536 : f16Value(h + 1); // past the largest finite: the next power of two
      const mid = f32Bits((a + b) / 2); // exact in f32: f16 has 11 significant bits
      const even = h % 2 === 0 ? h : h + 1;
      for (const [s, sign] of [[0, 0], [0x80000000, 0x8000]]) {
        check(mid | s, even | sign);
        check((mid + 1) | s, (h + 1) | sign); // the next f32 above the midpoint
        check((mid - 1) | s, h | sign);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('overflows to Inf and underflows to signed zero', () => {
    expect(f32BitsToF16Bits(f32Bits(1e6))).toBe(0x7c00);
    expect(f32BitsToF16Bits(f32Bits(-Infinity))).toBe(0xfc00);
    expect(f32BitsToF16Bits(f32Bits(1e-9))).toBe(0);
    expect(f32BitsToF16Bits(f32Bits(-1e-9))).toBe(0x8000);
  });

  it('array codecs round-trip', () => {
    const src = new Float32Array([0, 1, -2.5, 0.1, 65504, 1e-6]);
    const back = f16ToF32(f32ToF16(src));
    for (let i = 0; i < src.length; i++) expect(back[i]).toBeCloseTo(src[i], 3);
  });
});

describe('bf16', () => {
  it('rounds to nearest, ties to even, for every bf16 pair (bit-level midpoints)', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x7f80; h++) {
      const mid = ((h << 16) | 0x8000) >>> 0;
      const even = h % 2 === 0 ? h : h + 1;
      if (
        f32BitsToBf16Bits(mid) !== even ||
        f32BitsToBf16Bits(mid + 1) !== h + 1 ||
        f32BitsToBf16Bits(mid - 1) !== h ||
        f32BitsToBf16Bits((mid | 0x80000000) >>> 0) !== (even | 0x8000)
      ) wrong.push(h);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it('keeps NaN a NaN and Inf an Inf', () => {
    expect(f32BitsToBf16Bits(0x7f800001) & 0x7f).not.toBe(0);
    expect(f32BitsToBf16Bits(0x7f800000)).toBe(0x7f80);
    expect(f32BitsToBf16Bits(0xff800000)).toBe(0xff80);
  });

  it('array codecs round-trip values with ≤ 8 significant bits exactly', () => {
    const src = new Float32Array([0, 1, -2.5, 3.140625, 1024, -0.0078125]);
    expect(Array.from(bf16ToF32(f32ToBf16(src)))).toEqual(Array.from(src));
  });
});

describe('int8 blocks', () => {
  it('roundHalfEven matches WGSL round()', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 63.5, 2.4999, -3.6].map(roundHalfEven)).toEqual([0, 2, 2, -0, -2, -2, 64, 2, -4]);
  });

  it('scale = absmax / 127 per block, q = round(x / scale), all-zero blocks → scale 0', () => {
    const src = new Float32Array([0.5, -1, 0.25, 1, /* block 2 */ 0, 0, 0, 0, /* block 3 (partial) */ 3, -1.5]);
    const { values, scales } = quantizeInt8Blocks(src, 4);
    expect(Array.from(scales)).toEqual([Math.fround(1 / 127), 0, Math.fround(3 / 127)]);
    expect(Array.from(values)).toEqual([64, -127, 32, 127, 0, 0, 0, 0, 127, -64]);
  });

  it('dequantized values are within half a step of the input', () => {
    const random = rng(3);
    const src = Float32Array.from({ length: 1000 }, () => (random() - 0.5) * 20);
    const q = quantizeInt8Blocks(src, 32);
    const back = dequantizeInt8Blocks(q.values, q.scales, 32);
    for (let i = 0; i < src.length; i++) expect(Math.abs(back[i] - src[i])).toBeLessThanOrEqual(q.scales[Math.floor(i / 32)] * 0.5 + 1e-6);
  });

  it('refuses NaN/Inf input and bad block sizes (caller bugs)', () => {
    expect(() => quantizeInt8Blocks(new Float32Array([1, NaN]), 2)).toThrow(RangeError);
    expect(() => quantizeInt8Blocks(new Float32Array([Infinity]), 2)).toThrow(RangeError);
    expect(() => quantizeInt8Blocks(new Float32Array([1]), 0)).toThrow(RangeError);
  });
});

describe('encodeTensor / decodeTensor', () => {
  const src = Float32Array.from({ length: 37 }, (_, i) => Math.sin(i) * 10); // odd count: f16 ends with one u16
  for (const dtype of [DType.DTYPE_F32, DType.DTYPE_F16, DType.DTYPE_BF16, DType.DTYPE_INT8_BLOCK]) {
    it(`dtype ${dtype}: round trip from misaligned bytes`, () => {
      const encoded = encodeTensor(src, dtype, 8);
      const expectedBytes = ({ 1: 4, 2: 2, 3: 2, 4: 1 } as Record<number, number>)[dtype] * src.length;
      expect(encoded.bytes.length).toBe(expectedBytes);
      // Re-home the bytes at an odd offset, as a decoded protobuf payload would be.
      const holder = new Uint8Array(encoded.bytes.length + 1);
      holder.set(encoded.bytes, 1);
      const back = decodeTensor({ ...encoded, bytes: holder.subarray(1) });
      const tolerance = ({ 1: 0, 2: 1e-2, 3: 0.1, 4: 0.1 } as Record<number, number>)[dtype];
      for (let i = 0; i < src.length; i++) expect(Math.abs(back[i] - src[i])).toBeLessThanOrEqual(tolerance);
    });
  }

  it('F32 encoding is a view of the source (no copy)', () => {
    expect(encodeTensor(src, DType.DTYPE_F32).bytes.buffer).toBe(src.buffer);
  });
});

describe('firstNonFinite', () => {
  it('finds NaN/Inf in every float dtype, aligned and misaligned', () => {
    for (const [dtype, bad] of [
      [DType.DTYPE_F32, bytesOf(new Float32Array([1, 2, NaN, 4]))],
      [DType.DTYPE_F32, bytesOf(new Float32Array([1, 2, -Infinity, 4]))],
      [DType.DTYPE_F16, bytesOf(new Uint16Array([0x3c00, 0x3c00, 0x7c00, 0]))],
      [DType.DTYPE_F16, bytesOf(new Uint16Array([0x3c00, 0x3c00, 0xfe01, 0]))],
      [DType.DTYPE_BF16, bytesOf(new Uint16Array([0x3f80, 0x3f80, 0x7fc0, 0]))],
      [DType.DTYPE_BF16, bytesOf(new Uint16Array([0x3f80, 0x3f80, 0xff80, 0]))],
    ] as const) {
      expect(firstNonFinite(bad, dtype)).toBe(2);
      const misaligned = new Uint8Array(bad.length + 3).subarray(3);
      misaligned.set(bad);
      expect(firstNonFinite(misaligned, dtype)).toBe(2);
    }
    expect(firstNonFinite(bytesOf(new Float32Array([1, 3.4e38, -1e-45])), DType.DTYPE_F32)).toBe(-1);
    expect(firstNonFinite(bytesOf(new Uint16Array([0x7bff, 0xfbff])), DType.DTYPE_F16)).toBe(-1);
    expect(firstNonFinite(new Uint8Array([0xff, 0x7f]), DType.DTYPE_INT8_BLOCK)).toBe(-1);
  });
});

describe('zero-copy views', () => {
  it('float32View: aligned bytes → a view (no copy); misaligned → one copy', () => {
    const values = new Float32Array([1, 2, 3]);
    const aligned = float32View(bytesOf(values));
    expect(aligned.copied).toBe(false);
    expect(aligned.values.buffer).toBe(values.buffer);
    const holder = new Uint8Array(13);
    holder.set(bytesOf(values), 1);
    const misaligned = float32View(holder.subarray(1));
    expect(misaligned.copied).toBe(true);
    expect(Array.from(misaligned.values)).toEqual([1, 2, 3]);
    expect(() => float32View(new Uint8Array(5))).toThrow(RangeError);
  });

  it('a decoded f32 payload is viewed in place when the encoder placed it 4-aligned, copied once otherwise', () => {
    const encoder = new EnvelopeEncoder();
    const envelope = envelopeOf('tensorChunk');
    const n = encoder.encodedLength(envelope);
    const payloadLength = envelope.body === 'tensorChunk' ? envelope.tensorChunk.payload.length : 0;
    const seen = new Set<boolean>();
    for (let shift = 0; shift < 4; shift++) {
      const buffer = new Uint8Array(n + shift);
      encoder.encodeInto(envelope, buffer, shift);
      const result = decodeEnvelope(buffer.subarray(shift));
      if (!result.ok || result.envelope.body !== 'tensorChunk') throw new Error('decode failed');
      const payload = result.envelope.tensorChunk.payload;
      expect(payload.length).toBe(payloadLength);
      const view = float32View(payload);
      expect(view.copied).toBe(payload.byteOffset % 4 !== 0);
      expect(Array.from(view.values)).toEqual([1.5, -2, 3.25, 0]);
      if (!view.copied) expect(view.values.buffer).toBe(buffer.buffer);
      seen.add(view.copied);
    }
    expect([...seen].sort()).toEqual([false, true]); // both paths exercised
  });

  it('uint16View: view when 2-aligned, copy otherwise', () => {
    const u = new Uint16Array([1, 0xabcd]);
    expect(uint16View(bytesOf(u)).copied).toBe(false);
    const holder = new Uint8Array(5);
    holder.set(bytesOf(u), 1);
    const v = uint16View(holder.subarray(1));
    expect(v.copied).toBe(true);
    expect(Array.from(v.values)).toEqual([1, 0xabcd]);
  });
});
