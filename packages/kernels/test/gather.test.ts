import { describe, expect, it } from 'vitest';
import { gatherLabels, gatherRows, gatherShiftedImages, packImageShift, reference, span } from '@gossamer/kernels';
import { useGpu } from '../../../test/support/gpu.js';
import { rng, uniform } from '../../../test/support/numeric.js';

function randomIndices(count: number, rows: number, seed: number): Uint32Array {
  const r = rng(seed);
  return Uint32Array.from({ length: count }, () => Math.floor(r() * rows));
}

describe('gather kernel', () => {
  const gpu = useGpu();

  // [rows, rowLength, count]: odd sizes, a row longer than a workgroup, one-word rows, repeats.
  it.each([
    [1, 1, 1],
    [7, 3, 5],
    [97, 13, 41],
    [300, 257, 33],
    [1000, 1, 777],
    [50, 784, 64],
  ])('gatherRows matches the reference for %i rows × %i words, %i indices', async (rows, rowLength, count) => {
    const g = gpu();
    const source = uniform(rows * rowLength, rows + rowLength);
    const indices = randomIndices(count, rows, count);
    const bs = g.upload(source);
    const bi = g.upload(indices);
    const bd = g.createBuffer(count * rowLength * 4);
    const step = g.beginStep();
    gatherRows(step, { source: span(bs), indices: { buffer: bi, offset: 0, count }, destination: span(bd), rowLength });
    step.submit();
    // A copy: bit-exact, no tolerance.
    expect(Array.from(await g.readF32(bd))).toEqual(Array.from(reference.gather.gatherRows(source, rowLength, indices)));
  });

  it('respects offsets of source, indices and destination and leaves the rest untouched', async () => {
    const g = gpu();
    const [rows, rowLength, count] = [23, 5, 9];
    const srcOff = 11;
    const idxOff = 3;
    const dstOff = 7;
    const all = uniform(srcOff + rows * rowLength + 4, 9);
    const indices = randomIndices(count, rows, 10);
    const idxWords = new Uint32Array(idxOff + count + 2).fill(999_999);
    idxWords.set(indices, idxOff);
    const bs = g.upload(all);
    const bi = g.upload(idxWords);
    const bd = g.upload(new Float32Array(dstOff + count * rowLength + 6).fill(-1));
    const step = g.beginStep();
    gatherRows(step, {
      source: span(bs, srcOff, rows * rowLength),
      indices: { buffer: bi, offset: idxOff, count },
      destination: span(bd, dstOff, count * rowLength),
      rowLength,
    });
    step.submit();
    const got = await g.readF32(bd);
    const want = reference.gather.gatherRows(all.subarray(srcOff, srcOff + rows * rowLength), rowLength, indices);
    expect(Array.from(got.subarray(dstOff, dstOff + count * rowLength))).toEqual(Array.from(want));
    expect(Array.from(got.subarray(0, dstOff))).toEqual(new Array(dstOff).fill(-1));
    expect(Array.from(got.subarray(dstOff + count * rowLength))).toEqual(new Array(6).fill(-1));
  });

  it('gathers u32 labels bit-exact and zero-fills out-of-range indices', async () => {
    const g = gpu();
    const n = 1001;
    const labels = Uint32Array.from({ length: n }, (_, i) => (i * 2_654_435_761) >>> 0); // full 32-bit range
    const indices = randomIndices(333, n, 11);
    indices[5] = n; // out of range
    indices[6] = 0xffffffff;
    const bl = g.upload(labels);
    const bi = g.upload(indices);
    const bd = g.createBuffer(indices.length * 4);
    const step = g.beginStep();
    gatherLabels(step, { labels: span(bl), indices: { buffer: bi, offset: 0, count: indices.length }, destination: span(bd) });
    step.submit();
    const got = new Uint32Array(await g.read(bd));
    const want = Array.from(indices, (i) => (i < n ? labels[i] : 0));
    expect(Array.from(got)).toEqual(want);
  });

  it('copies f32 bit patterns exactly (-0, NaN, denormals, infinities)', async () => {
    const g = gpu();
    const words = Uint32Array.from([0x80000000, 0x7fc00001, 0x00000001, 0x7f800000, 0xff800000, 0x3f800000]);
    const bs = g.upload(words);
    const bi = g.upload(Uint32Array.from([5, 4, 3, 2, 1, 0]));
    const bd = g.createBuffer(24);
    const step = g.beginStep();
    gatherRows(step, { source: span(bs), indices: { buffer: bi, offset: 0, count: 6 }, destination: span(bd), rowLength: 1 });
    step.submit();
    expect(Array.from(new Uint32Array(await g.read(bd)))).toEqual(Array.from(words).reverse());
  });

  it('folds a destination larger than one grid dimension into 2-D', async () => {
    const g = gpu();
    const rowLength = 1 << 16;
    const count = 260; // 260 · 65,536 words = 66,560 workgroups of 256 > 65,535
    const source = uniform(3 * rowLength, 12);
    const indices = Uint32Array.from({ length: count }, (_, i) => i % 3);
    const bs = g.upload(source);
    const bi = g.upload(indices);
    const bd = g.createBuffer(count * rowLength * 4);
    const step = g.beginStep();
    gatherRows(step, { source: span(bs), indices: { buffer: bi, offset: 0, count }, destination: span(bd), rowLength });
    step.submit();
    const lastRow = await g.readF32(bd, (count - 1) * rowLength, rowLength);
    const src = (count - 1) % 3;
    expect(Array.from(lastRow)).toEqual(Array.from(source.subarray(src * rowLength, (src + 1) * rowLength)));
  });

  it('rejects mismatched shapes and aliasing', () => {
    const g = gpu();
    const b = g.createBuffer(400);
    const other = g.createBuffer(400);
    const idx = { buffer: g.createBuffer(16), offset: 0, count: 4 };
    const step = g.beginStep();
    expect(() => gatherRows(step, { source: span(b, 0, 99), indices: idx, destination: span(other, 0, 40), rowLength: 10 })).toThrow(/multiple/);
    expect(() => gatherRows(step, { source: span(b), indices: idx, destination: span(other, 0, 39), rowLength: 10 })).toThrow(/destination length/);
    expect(() => gatherRows(step, { source: span(b, 0, 50), indices: idx, destination: span(b, 50, 40), rowLength: 10 })).toThrow(/buffer of its own/);
    expect(() => gatherRows(step, { source: span(b), indices: { ...idx, count: 5 }, destination: span(other, 0, 50), rowLength: 10 })).toThrow(/exceeds/);
    expect(() => gatherRows(step, { source: span(b), indices: idx, destination: span(other, 0, 40), rowLength: 0 })).toThrow(/rowLength/);
    step.submit();
  });

  // [images, channels, height, width, count, max shift]: one channel (MNIST), three (HWC order
  // matters), shifts as large as the image (everything clamps to one edge pixel), non-square.
  it.each([
    [20, 1, 28, 28, 64, 2],
    [9, 3, 7, 5, 17, 3],
    [4, 2, 4, 6, 11, 6],
  ])('gatherShiftedImages matches the reference: %i images of %i×%i×%i, %i indices, shifts up to ±%i', async (images, channels, height, width, count, maxShift) => {
    const g = gpu();
    const image = { channels, height, width };
    const size = channels * height * width;
    const source = uniform(images * size, images + size);
    const r = rng(count + maxShift);
    const indices = randomIndices(count, images, count);
    indices[1] = images; // out of range: zeros
    const dx = Array.from({ length: count }, () => Math.round((2 * r() - 1) * maxShift));
    const dy = Array.from({ length: count }, () => Math.round((2 * r() - 1) * maxShift));
    [dx[0], dy[0]] = [0, 0];
    [dx[2], dy[2]] = [maxShift, -maxShift];
    const idxOff = 5;
    const words = new Uint32Array(idxOff + 2 * count);
    words.set(indices, idxOff);
    words.set(dx.map((x, i) => packImageShift(x, dy[i])), idxOff + count);
    const bs = g.upload(source);
    const bi = g.upload(words);
    const bd = g.createBuffer(count * size * 4);
    const step = g.beginStep();
    gatherShiftedImages(step, {
      source: span(bs),
      indices: { buffer: bi, offset: idxOff, count },
      shifts: { buffer: bi, offset: idxOff + count, count },
      destination: span(bd),
      image,
    });
    step.submit();
    const got = await g.readF32(bd);
    // A copy: bit-exact, no tolerance.
    expect(Array.from(got)).toEqual(Array.from(reference.gather.gatherShiftedImages(source, image, indices, dx, dy)));
    // An unshifted image is its source row.
    expect(Array.from(got.subarray(0, size))).toEqual(Array.from(source.subarray(indices[0] * size, (indices[0] + 1) * size)));
  });

  it('gatherShiftedImages: a digit moved right by 2 and up by 1 lands 2 columns right, 1 row up', async () => {
    const g = gpu();
    const image = { channels: 1, height: 6, width: 6 };
    const source = new Float32Array(36);
    source[2 * 6 + 3] = 1; // pixel (y 2, x 3)
    const bs = g.upload(source);
    const bi = g.upload(Uint32Array.from([0, packImageShift(2, -1)]));
    const bd = g.createBuffer(36 * 4);
    const step = g.beginStep();
    gatherShiftedImages(step, {
      source: span(bs),
      indices: { buffer: bi, offset: 0, count: 1 },
      shifts: { buffer: bi, offset: 1, count: 1 },
      destination: span(bd),
      image,
    });
    step.submit();
    const got = await g.readF32(bd);
    expect(got.indexOf(1)).toBe(1 * 6 + 5);
    expect(got.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('gatherShiftedImages rejects shifts outside the indices buffer and a miscounted image', () => {
    const g = gpu();
    const bs = g.upload(new Float32Array(2 * 16));
    const bi = g.upload(new Uint32Array(4));
    const other = g.upload(new Uint32Array(2));
    const bd = g.createBuffer(2 * 16 * 4);
    const step = g.beginStep();
    const args = {
      source: span(bs),
      indices: { buffer: bi, offset: 0, count: 2 },
      shifts: { buffer: bi, offset: 2, count: 2 },
      destination: span(bd),
      image: { channels: 1, height: 4, width: 4 },
    };
    expect(() => gatherShiftedImages(step, { ...args, shifts: { buffer: other, offset: 0, count: 2 } })).toThrow(/same buffer as the indices/);
    expect(() => gatherShiftedImages(step, { ...args, image: { channels: 1, height: 4, width: 5 } })).toThrow(/not a multiple of the row length 20/);
    expect(() => gatherShiftedImages(step, { ...args, shifts: { buffer: bi, offset: 2, count: 1 } })).toThrow(/1 shifts for 2 indices/);
    expect(() => packImageShift(1.5, 0)).toThrow(/not a pair of integers/);
    step.submit();
  });
});
