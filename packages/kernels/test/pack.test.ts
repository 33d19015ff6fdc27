import { describe, expect, it } from 'vitest';
import { DEFAULT_INT8_BLOCK, packedBytes, packedWords, packValues, reference, span, unpackValues, type WireFormat } from '@gossamer/kernels';
import type { Gpu } from '@gossamer/gpu';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, rng, uniform } from '../../../test/support/numeric.js';

const ref = reference.pack;

/** float32 values from raw bit patterns: every exponent, sign and mantissa shows up. */
function randomBits(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const bits = Uint32Array.from({ length: n }, () => Math.floor(r() * 2 ** 32) >>> 0);
  return new Float32Array(bits.buffer);
}

/** Values that probe the rounding: specials, range limits, subnormals and exact ties. */
function edgeValues(): Float32Array {
  const v = [0, -0, Infinity, -Infinity, NaN, 1, -1, 65504, -65504, 65519.99, 65520, 65536, 3.4028234663852886e38, -1e-45];
  for (const e of [-26, -25, -24, -20, -15, -14, -1, 0, 7, 15]) {
    for (const m of [1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1.5, 1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -9 + 2 ** -11]) {
      v.push(m * 2 ** e, -m * 2 ** e);
    }
  }
  return Float32Array.from(v);
}

async function roundTrip(g: Gpu, format: WireFormat, x: Float32Array, blockSize = DEFAULT_INT8_BLOCK) {
  const bx = g.upload(x);
  const bp = g.createBuffer(packedBytes(format, x.length, blockSize));
  const by = g.createBuffer(x.length * 4);
  const step = g.beginStep();
  packValues(step, format, bx, bp, blockSize);
  unpackValues(step, format, bp, by, blockSize);
  step.submit();
  const words = new Uint32Array(await g.read(bp, 0, packedBytes(format, x.length, blockSize)));
  const back = await g.readF32(by);
  for (const b of [bx, bp, by]) b.destroy();
  return { words, back };
}

function expectSameWords(got: Uint32Array, want: Uint32Array, what: string): void {
  expect(got.length).toBe(want.length);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    throw new Error(`${what}: ${bad}/${got.length} words differ; first [${first}] got 0x${got[first].toString(16)}, want 0x${want[first].toString(16)}`);
  }
}

describe('wire packing kernels', () => {
  const gpu = useGpu();

  it('the reference fp16/bf16 encoders round to the nearest value, ties to even', () => {
    // Independent of the bit tricks: compare with the neighbouring codes by value.
    const xs = [...randomBits(20_000, 1), ...normal(20_000, 2), ...edgeValues()].filter((v) => Number.isFinite(v));
    for (const [bits, value, maxFinite] of [
      [ref.f16Bits, ref.f16Value, 65504],
      [ref.bf16Bits, ref.bf16Value, 3.3895313892515355e38],
    ] as const) {
      for (const v of xs) {
        const h = bits(v);
        const got = value(h);
        if (Math.abs(v) >= maxFinite * (1 + 2 ** (bits === ref.f16Bits ? -11 : -8))) {
          expect(Math.abs(got)).toBe(Infinity);
          continue;
        }
        if (!Number.isFinite(got)) continue; // rounded up past the largest finite: checked by the GPU tests
        const err = Math.abs(got - v);
        for (const nb of [h - 1, h + 1]) {
          const alt = value(nb & 0xffff);
          if (Number.isNaN(alt) || (nb & 0x7fff) === 0x7c00 || (nb & 0x8000) !== (h & 0x8000)) continue;
          const altErr = Math.abs(alt - v);
          expect(err <= altErr).toBe(true);
          if (err === altErr) expect(h & 1).toBe(0);
        }
      }
    }
  });

  it.each([1, 2, 7, 256, 257, 4099, 1_000_003])('fp16 and bf16 bits equal the reference encoder, odd tails zero-padded (n=%i)', async (n) => {
    const g = gpu();
    // Random bit patterns (every exponent, NaNs, Infs) with the edge values up front.
    const x = randomBits(n, 3);
    const edges = edgeValues();
    x.set(edges.subarray(0, Math.min(n, edges.length)));
    for (const [format, encode] of [
      ['fp16', ref.packFp16],
      ['bf16', ref.packBf16],
    ] as const) {
      const { words } = await roundTrip(g, format, x);
      expect(words.length * 4).toBe(packedBytes(format, n));
      expectSameWords(words, encode(x), format);
      if (n % 2 === 1) expect(words[words.length - 1] >>> 16).toBe(0);
    }
  });

  it('fp16 decode is exact for all 65,536 codes, and re-encodes to the same code (NaNs stay NaN)', async () => {
    const g = gpu();
    const codes = Uint32Array.from({ length: 32768 }, (_, w) => ((2 * w) | ((2 * w + 1) << 16)) >>> 0);
    const bp = g.upload(codes);
    const by = g.createBuffer(65536 * 4);
    const bq = g.createBuffer(codes.byteLength);
    const step = g.beginStep();
    unpackValues(step, 'fp16', bp, by);
    packValues(step, 'fp16', by, bq);
    step.submit();
    const values = await g.readF32(by);
    const again = new Uint32Array(await g.read(bq));
    for (let h = 0; h < 65536; h++) {
      const want = ref.f16Value(h);
      if (Number.isNaN(want)) {
        expect(Number.isNaN(values[h])).toBe(true);
        continue;
      }
      expect(Object.is(values[h], want)).toBe(true);
      const code = h % 2 === 0 ? again[h >> 1] & 0xffff : again[h >> 1] >>> 16;
      expect(code).toBe(h);
    }
  });

  it('round-trip error: fp16 ≤ 2^-11 relative in its normal range, bf16 ≤ 2^-8 relative; Inf and NaN survive', async () => {
    const g = gpu();
    const n = 100_003;
    const r = rng(4);
    // Magnitudes spread over fp16's normal range [2^-14, 65504].
    const x = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 2 ** (-14 + 29.9 * r()));
    x[0] = Infinity;
    x[1] = -Infinity;
    x[2] = NaN;
    const fp16 = (await roundTrip(g, 'fp16', x)).back;
    const bf16 = (await roundTrip(g, 'bf16', x)).back;
    for (const [back, bound] of [
      [fp16, 2 ** -11],
      [bf16, 2 ** -8],
    ] as const) {
      expect(back[0]).toBe(Infinity);
      expect(back[1]).toBe(-Infinity);
      expect(Number.isNaN(back[2])).toBe(true);
      expectAllClose(back.subarray(3), x.subarray(3), { atol: 0, rtol: bound }, `rel ${bound}`);
    }
    // bf16 keeps float32's range: tiny and huge values keep their relative precision.
    const wide = Float32Array.from({ length: 1001 }, (_, i) => (1 + r()) * 2 ** (-120 + (i % 240)));
    expectAllClose((await roundTrip(g, 'bf16', wide)).back, wide, { atol: 0, rtol: 2 ** -8 }, 'bf16 wide range');
    // A NaN whose payload lies only in the low 16 bits must not turn into Inf.
    const quietless = new Float32Array(new Uint32Array([0x7f800001, 0xff800123]).buffer);
    const nanBack = (await roundTrip(g, 'bf16', quietless)).back;
    expect(Number.isNaN(nanBack[0]) && Number.isNaN(nanBack[1])).toBe(true);
  });

  const int8Cases = [
    { n: 1, block: 4 },
    { n: 7, block: 4 },
    { n: 1000, block: 32 },
    { n: 4099, block: 256 },
    { n: 4099, block: 1000 },
    { n: 1_000_003, block: 256 },
    { n: 70_001, block: 4096 },
  ];
  it.each(int8Cases)('int8 blocks: |error| ≤ scale/2, scales and codes match the reference (n=$n, B=$block)', async ({ n, block }) => {
    const g = gpu();
    // Blocks of very different magnitudes, one all-zero block.
    const x = normal(n, 5 + n);
    for (let i = 0; i < n; i++) x[i] *= 2 ** ((Math.floor(i / block) % 9) - 4);
    if (n > 2 * block) x.fill(0, block, 2 * block);
    const { words, back } = await roundTrip(g, 'int8', x, block);
    expect(words.length).toBe(packedWords('int8', n, block));
    expect(words.length * 4).toBe(4 * Math.ceil(n / block) + 4 * Math.ceil(n / 4));
    const got = ref.readInt8Blocks(words, n, block);
    const want = ref.quantizeInt8Blocks(x, block);
    // scale = absmax/127: one float32 rounding (WGSL's division is within 2.5 ulp).
    expectAllClose(got.scales, want.scales, { atol: 0, rtol: 4e-7 }, 'scales');
    let codeDiffs = 0;
    for (let i = 0; i < n; i++) {
      const scale = got.scales[Math.floor(i / block)];
      // Half a step, plus the float32 rounding of q·scale and of x/scale near a tie.
      const bound = scale / 2 + 1e-6 * Math.abs(x[i]) + 1e-6 * scale;
      if (!(Math.abs(back[i] - x[i]) <= bound)) throw new Error(`int8 [${i}]: ${back[i]} vs ${x[i]}, bound ${bound}`);
      if (got.q[i] !== want.q[i]) {
        // Only where x/scale sits within rounding of a half-integer may the code differ, by 1.
        expect(Math.abs(got.q[i] - want.q[i])).toBe(1);
        const frac = Math.abs(x[i] / want.scales[Math.floor(i / block)]) % 1;
        expect(Math.abs(frac - 0.5)).toBeLessThan(1e-4);
        codeDiffs++;
      }
    }
    expect(codeDiffs).toBeLessThanOrEqual(Math.max(2, n * 1e-4));
    expect(got.q.every((q) => q >= -127)).toBe(true); // −128 is never produced
    if (n > 2 * block) {
      expect(got.scales[1]).toBe(0);
      expect(back.subarray(block, 2 * block).every((v) => v === 0)).toBe(true);
    }
    // Bytes past n in the last word are zero.
    if (n % 4 !== 0) expect(words[words.length - 1] >>> (8 * (n % 4))).toBe(0);
  });

  it('packs and unpacks spans of larger buffers', async () => {
    const g = gpu();
    const n = 999;
    const x = uniform(3000, 6);
    const [xOff, pOff, yOff] = [501, 77, 1234];
    for (const format of ['fp16', 'bf16', 'int8'] as const) {
      const words = packedWords(format, n, 64);
      const [bx, bp, by] = [g.upload(x), g.createBuffer((pOff + words + 9) * 4), g.upload(new Float32Array(3000).fill(7))];
      const step = g.beginStep();
      packValues(step, format, span(bx, xOff, n), span(bp, pOff, words), 64);
      unpackValues(step, format, span(bp, pOff, words), span(by, yOff, n), 64);
      step.submit();
      const y = await g.readF32(by);
      const bound = format === 'fp16' ? 2 ** -11 : format === 'bf16' ? 2 ** -8 : 0;
      expectAllClose(y.subarray(yOff, yOff + n), x.subarray(xOff, xOff + n), { atol: format === 'int8' ? 1 / 127 / 2 + 1e-7 : 0, rtol: bound }, format);
      expect(y[yOff - 1]).toBe(7);
      expect(y[yOff + n]).toBe(7);
      if (format !== 'int8') expectSameWords(new Uint32Array(await g.read(bp, pOff * 4, words * 4)), (format === 'fp16' ? ref.packFp16 : ref.packBf16)(x.subarray(xOff, xOff + n)), format);
    }
  });

  it('rejects wrong packed lengths, bad block sizes and aliasing', () => {
    const g = gpu();
    const x = g.createBuffer(40);
    const step = g.beginStep();
    expect(() => packValues(step, 'fp16', x, g.createBuffer(24))).toThrow(/take 5 words/);
    expect(() => packValues(step, 'int8', x, g.createBuffer(64), 6)).toThrow(/multiple of 4/);
    expect(() => packValues(step, 'bf16', span(x, 0, 4), span(x, 4, 2))).toThrow(/buffer/);
    expect(packedBytes('int8', 1000, 256)).toBe(4 * 4 + 1000);
    expect(packedBytes('fp16', 1001)).toBe(2004);
    step.submit();
  });

  it('a steady-state pack/unpack step creates no GPU buffers', async () => {
    const g = gpu();
    const n = 10_001;
    const bx = g.upload(uniform(n, 7));
    const bufs = (['fp16', 'bf16', 'int8'] as const).map((f) => ({ f, p: g.createBuffer(packedBytes(f, n)), y: g.createBuffer(n * 4) }));
    const run = async () => {
      const step = g.beginStep();
      for (const { f, p, y } of bufs) {
        packValues(step, f, bx, p);
        unpackValues(step, f, p, y);
      }
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
