import { describe, expect, it } from 'vitest';
import { embeddingBackward, embeddingForward, matmul, reference, span } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, rng } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Error bounds. Forward: one float32 add of two float32 inputs, so ≤ u relative to the exact sum.
 * Backward: every dwte/dwpe element is a serial float32 sum of its m terms (m = that token's or
 * position's count), ≤ (m − 1)·u·Σ|terms|; the bound used is the worst element's, from the float64
 * reference run on |dout|.
 */
function sumBound(absSums: Float64Array, maxCount: number): number {
  return Math.max(0, maxCount - 1) * U * absSums.reduce((m, v) => Math.max(m, v), 0);
}

function maxCount(values: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < values.length; i++) counts.set(values[i], (counts.get(values[i]) ?? 0) + 1);
  return Math.max(...counts.values());
}

/** Token ids with heavy repeats: half the draws are one id, the rest uniform over the vocabulary. */
function skewedTokens(n: number, vocab: number, seed: number): Uint32Array {
  const r = rng(seed);
  const hot = Math.floor(r() * vocab);
  return Uint32Array.from({ length: n }, () => (r() < 0.5 ? hot : Math.floor(r() * vocab)));
}

describe('token + position embedding', () => {
  const gpu = useGpu();

  it.each([
    // vocab, cols, seq, batch
    [1, 1, 1, 1],
    [5, 3, 4, 2],
    [65, 33, 7, 3],
    [256, 300, 16, 4],
    [512, 64, 8, 40], // 320 tokens: more than one 64-id tile of the token backward
  ])('forward and backward with vocab %i, cols %i, seq %i, batch %i match float64', async (vocab, cols, seq, batch) => {
    const g = gpu();
    const n = seq * batch;
    const tokens = skewedTokens(n, vocab, vocab * 7 + cols);
    const wte = normal(vocab * cols, cols + 1);
    const wpe = normal(seq * cols, cols + 2);
    const dout = normal(n * cols, cols + 3);
    // Flat parameters [pad 3 | wte | pad 1 | wpe]; gradients in the same layout, sentinels elsewhere.
    const teOff = 3;
    const peOff = teOff + wte.length + 1;
    const flat = new Float32Array(peOff + wpe.length + 2).fill(5);
    flat.set(wte, teOff);
    flat.set(wpe, peOff);
    const tokOff = 2;
    const tokBuf = new Uint32Array(tokOff + n);
    tokBuf.set(tokens, tokOff);
    const bt = g.upload(tokBuf);
    const bp = g.upload(flat);
    const bo = g.createBuffer(n * cols * 4);
    const bd = g.upload(dout);
    const bg = g.upload(new Float32Array(flat.length).fill(-9));
    const tok = span(bt, tokOff, n);
    const step = g.beginStep();
    embeddingForward(step, { tokens: tok, cols, seq, wte: span(bp, teOff, wte.length), wpe: span(bp, peOff, wpe.length), out: bo });
    embeddingBackward(step, { tokens: tok, cols, seq, dout: bd, dwte: span(bg, teOff, wte.length), dwpe: span(bg, peOff, wpe.length) });
    step.submit();
    expectAllClose(await g.readF32(bo), reference.embedding.embeddingForward(tokens, wte, wpe, cols, seq), { atol: 0, rtol: U }, 'out');
    const want = reference.embedding.embeddingBackward(tokens, dout, vocab, cols, seq);
    const abs = reference.embedding.embeddingBackward(tokens, Float64Array.from(dout, Math.abs), vocab, cols, seq);
    const grads = await g.readF32(bg);
    const teTol = sumBound(abs.dwte, maxCount(tokens));
    expectAllClose(grads.subarray(teOff, teOff + wte.length), want.dwte, { atol: teTol, rtol: 0 }, 'dwte');
    expectAllClose(grads.subarray(peOff, peOff + wpe.length), want.dwpe, { atol: sumBound(abs.dwpe, batch), rtol: 0 }, 'dwpe');
    // Rows of unused token ids are overwritten with exact zeros; nothing outside the tables changes.
    const used = new Set(tokens);
    for (let v = 0; v < vocab; v++) {
      if (!used.has(v)) expect(grads.subarray(teOff + v * cols, teOff + (v + 1) * cols).every((x) => x === 0)).toBe(true);
    }
    const outside = [...grads.subarray(0, teOff), grads[teOff + wte.length], ...grads.subarray(peOff + wpe.length)];
    expect(outside.every((v) => v === -9)).toBe(true);
  });

  it('a token id ≥ vocab gives a NaN forward row and adds nothing to dwte', async () => {
    const g = gpu();
    const [vocab, cols, seq] = [4, 5, 3];
    const tokens = Uint32Array.of(1, 9, 1, 4, 0, 2);
    const wte = normal(vocab * cols, 1);
    const wpe = normal(seq * cols, 2);
    const dout = normal(tokens.length * cols, 3);
    const [bt, bp, bo, bd, bg] = [g.upload(tokens), g.upload(Float32Array.of(...wte, ...wpe)), g.createBuffer(30 * 4), g.upload(dout), g.createBuffer(35 * 4)];
    const step = g.beginStep();
    embeddingForward(step, { tokens: bt, cols, seq, wte: span(bp, 0, 20), wpe: span(bp, 20, 15), out: bo });
    embeddingBackward(step, { tokens: bt, cols, seq, dout: bd, dwte: span(bg, 0, 20), dwpe: span(bg, 20, 15) });
    step.submit();
    const out = await g.readF32(bo);
    for (const t of [1, 3]) expect(out.subarray(t * cols, (t + 1) * cols).every(Number.isNaN)).toBe(true);
    const ref = reference.embedding.embeddingForward(tokens, wte, wpe, cols, seq);
    const valid = (_: number, i: number) => tokens[Math.floor(i / cols)] < vocab;
    expectAllClose(out.filter(valid), ref.filter(valid), { atol: 0, rtol: U }, 'valid rows');
    const want = reference.embedding.embeddingBackward(tokens, dout, vocab, cols, seq);
    const grads = await g.readF32(bg);
    expectAllClose(grads, [...want.dwte, ...want.dwpe], { atol: 4 * U, rtol: 2 * U }, 'gradients');
  });

  it('accumulates into dwte and dwpe when asked', async () => {
    const g = gpu();
    const [vocab, cols, seq, batch] = [7, 9, 5, 3];
    const n = seq * batch;
    const tokens = skewedTokens(n, vocab, 11);
    const dout = normal(n * cols, 12);
    const prior = normal((vocab + seq) * cols, 13);
    const [bt, bd, bg] = [g.upload(tokens), g.upload(dout), g.upload(prior)];
    const step = g.beginStep();
    embeddingBackward(step, { tokens: bt, cols, seq, dout: bd, dwte: span(bg, 0, vocab * cols), dwpe: span(bg, vocab * cols, seq * cols), accumulate: true });
    step.submit();
    const want = reference.embedding.embeddingBackward(tokens, dout, vocab, cols, seq);
    const abs = reference.embedding.embeddingBackward(tokens, Float64Array.from(dout, Math.abs), vocab, cols, seq);
    const expected = Float64Array.from([...want.dwte, ...want.dwpe], (v, i) => v + prior[i]);
    // The serial sums' bound plus one rounding of the add into the prior value.
    const atol = Math.max(sumBound(abs.dwte, maxCount(tokens)), sumBound(abs.dwpe, batch));
    expectAllClose(await g.readF32(bg), expected, { atol, rtol: U }, 'gradients += ');
  });

  it('is deterministic with many repeated tokens: two backward runs give the same bits', async () => {
    const g = gpu();
    const [vocab, cols, seq, batch] = [3, 40, 32, 8];
    const n = seq * batch;
    const [bt, bd] = [g.upload(skewedTokens(n, vocab, 21)), g.upload(normal(n * cols, 22, 100))];
    const outs = [g.createBuffer((vocab + seq) * cols * 4), g.createBuffer((vocab + seq) * cols * 4)];
    const step = g.beginStep();
    for (const o of outs) {
      embeddingBackward(step, { tokens: bt, cols, seq, dout: bd, dwte: span(o, 0, vocab * cols), dwpe: span(o, vocab * cols, seq * cols) });
    }
    step.submit();
    const bits = async (b: GPUBuffer) => new Uint32Array((await g.readF32(b)).buffer);
    expect(await bits(outs[1])).toEqual(await bits(outs[0]));
  });

  it('the tied output head is matmul with transposed operands (logits = h·wteᵀ, dwte += dlogitsᵀ·h)', async () => {
    const g = gpu();
    const [vocab, cols, n] = [11, 6, 9];
    const h = normal(n * cols, 31);
    const wte = normal(vocab * cols, 32);
    const dlogits = normal(n * vocab, 33);
    const prior = normal(vocab * cols, 34); // e.g. the embedding backward's dwte
    const [bh, bw, bl, bdl, bg] = [g.upload(h), g.upload(wte), g.createBuffer(n * vocab * 4), g.upload(dlogits), g.upload(prior)];
    const step = g.beginStep();
    matmul(step, bh, bw, bl, { m: n, n: vocab, k: cols, transposeB: true });
    matmul(step, bdl, bh, bg, { m: vocab, n: cols, k: n, transposeA: true, accumulate: true });
    step.submit();
    const headOpts = { m: n, n: vocab, k: cols, transposeB: true };
    const gradOpts = { m: vocab, n: cols, k: n, transposeA: true };
    const scale = (s: Float64Array) => s.reduce((m, v) => Math.max(m, v), 0);
    // A dot product of k terms: ≤ (k + 1)·u·Σ|terms| (fma or not); accumulate adds one rounding.
    const logitTol = (cols + 1) * U * scale(reference.matmul.matmulAbsScale(h, wte, headOpts));
    expectAllClose(await g.readF32(bl), reference.matmul.matmul(h, wte, headOpts).c, { atol: logitTol, rtol: 0 }, 'logits');
    const gradTol = (n + 1) * U * scale(reference.matmul.matmulAbsScale(dlogits, h, gradOpts));
    expectAllClose(await g.readF32(bg), reference.matmul.matmul(dlogits, h, gradOpts, prior).c, { atol: gradTol, rtol: U }, 'dwte');
  });

  it('the float64 backward matches central finite differences of the float64 forward', () => {
    const [vocab, cols, seq] = [4, 3, 2];
    const tokens = Uint32Array.of(2, 2, 0, 2, 3, 0);
    const wte = Float64Array.from(normal(vocab * cols, 41));
    const wpe = Float64Array.from(normal(seq * cols, 42));
    const w = Float64Array.from(normal(tokens.length * cols, 43)); // L = Σ w ⊙ out, dL/dout = w
    const loss = (te: ArrayLike<number>, pe: ArrayLike<number>) =>
      reference.embedding.embeddingForward(tokens, te, pe, cols, seq).reduce((s, v, i) => s + v * w[i], 0);
    const want = reference.embedding.embeddingBackward(tokens, w, vocab, cols, seq);
    const h = 1e-6;
    const fd = (v: Float64Array, f: (p: Float64Array) => number) =>
      Float64Array.from(v, (_, i) => {
        const [plus, minus] = [Float64Array.from(v), Float64Array.from(v)];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - f(minus)) / (2 * h);
      });
    const tol = { atol: 1e-8, rtol: 1e-8 }; // the loss is linear: only cancellation, ~1e-16/h
    expectAllClose(want.dwte, fd(wte, (p) => loss(p, wpe)), tol, 'dwte');
    expectAllClose(want.dwpe, fd(wpe, (p) => loss(wte, p)), tol, 'dwpe');
  });

  it('rejects bad shapes and aliased outputs', () => {
    const g = gpu();
    const [bt, bp] = [g.upload(new Uint32Array(6)), g.createBuffer(64 * 4)];
    const step = g.beginStep();
    const args = { tokens: bt, cols: 2, seq: 3, wte: span(bp, 0, 8), wpe: span(bp, 8, 6), out: g.createBuffer(12 * 4) };
    expect(() => embeddingForward(step, { ...args, seq: 4 })).toThrow(/whole number of sequences/);
    expect(() => embeddingForward(step, { ...args, wpe: span(bp, 8, 4) })).toThrow(/wpe has 4/);
    expect(() => embeddingForward(step, { ...args, out: span(bp, 20, 12) })).toThrow(/shares its buffer/);
    expect(() => embeddingBackward(step, { tokens: bt, cols: 2, seq: 3, dout: span(bp, 0, 12), dwte: span(bp, 20, 8) })).toThrow(/shares its buffer/);
    step.submit();
  });

  it('a steady-state forward + backward creates no GPU buffers', async () => {
    const g = gpu();
    const [vocab, cols, seq, batch] = [64, 32, 16, 4];
    const n = seq * batch;
    const bt = g.upload(skewedTokens(n, vocab, 51));
    const bp = g.upload(normal((vocab + seq) * cols, 52));
    const bo = g.createBuffer(n * cols * 4);
    const bg = g.createBuffer((vocab + seq) * cols * 4);
    const wte = span(bp, 0, vocab * cols);
    const wpe = span(bp, vocab * cols, seq * cols);
    const run = async () => {
      const step = g.beginStep();
      embeddingForward(step, { tokens: bt, cols, seq, wte, wpe, out: bo });
      embeddingBackward(step, { tokens: bt, cols, seq, dout: bo, dwte: span(bg, 0, vocab * cols), dwpe: span(bg, vocab * cols, seq * cols) });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
