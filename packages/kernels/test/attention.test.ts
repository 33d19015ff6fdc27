import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { attentionBackward, attentionForward, attentionTiles, reference, span, type AttentionShape } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { normal } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff
const ref = reference.attention;

/** Asserts |actual − expected| ≤ bound elementwise, naming the worst element. */
function expectWithin(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: ArrayLike<number>, what: string): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < actual.length; i++) {
    const ratio = Math.abs(actual[i] - expected[i]) / bound[i];
    if (!(ratio <= 1) && (Number.isNaN(ratio) || ratio > worstRatio || worst < 0)) {
      worst = i;
      worstRatio = Number.isNaN(ratio) ? Infinity : ratio;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: worst at [${worst}]: got ${actual[worst]}, expected ${expected[worst]}, bound ${bound[worst]} (×${worstRatio.toFixed(2)})`);
  }
}

// Error model (first order in u, every bound doubled below to cover the second-order terms). With
// s_ij = scale·q_i·k_j and a_ij = scale·Σ_c |q_ic·k_jc|:
// - a score is a D-term dot product (any summation order: vec4 dots) and a multiply:
//   |Δs_ij| ≤ δs_ij = (D + 2)·u·a_ij;
// - WGSL's exp is accurate to (3 + 2|x|) ulp; every argument lies in [−R_i, 0], R_i the row's range;
// - forward: the rescale factors hit acc and l alike and cancel in y = acc/l; what is left is the
//   scores' error (twice: the shift m is itself a computed score), and the n_i + tiles_i roundings
//   of each of the two sums and the division, relative to Σ p·|v| / l ≤ M_i = max_j |v_j|;
// - L = m + log l: m's error, l's relative error (score, exp, rescale and summation errors) and log's
//   2^-21 absolute accuracy (l ∈ [1, n]) plus 3 ulp of log l and one rounding of the sum;
// - backward: P = exp(s − L) inherits δs, ΔL and exp's error; dP and Δ are D-term dot products (Δ
//   also carries dy·Δy from the forward's y); dS = P·(dP − Δ) and dq, dk, dv are sums of n terms.
interface ForwardBounds {
  y: Float64Array;
  lse: Float64Array;
}

function rowTerms(qkv: ArrayLike<number>, s: AttentionShape, b: number, h: number, i: number) {
  const D = s.headDim;
  const scale = 1 / Math.sqrt(D);
  const qi = ref.qkvIndex(s, b * s.seqLen + i, 0, h, 0);
  const score = new Float64Array(i + 1);
  const ds = new Float64Array(i + 1);
  for (let j = 0; j <= i; j++) {
    const kj = ref.qkvIndex(s, b * s.seqLen + j, 1, h, 0);
    let dot = 0;
    let mag = 0;
    for (let c = 0; c < D; c++) {
      dot += qkv[qi + c] * qkv[kj + c];
      mag += Math.abs(qkv[qi + c] * qkv[kj + c]);
    }
    score[j] = dot * scale;
    ds[j] = (D + 2) * U * mag * scale;
  }
  return { score, ds };
}

function forwardBounds(qkv: ArrayLike<number>, s: AttentionShape, lse: ArrayLike<number>): ForwardBounds {
  const { bn } = attentionTiles(s.headDim);
  const C = s.heads * s.headDim;
  const y = new Float64Array(s.batch * s.seqLen * C);
  const dl = new Float64Array(s.batch * s.heads * s.seqLen);
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      for (let i = 0; i < s.seqLen; i++) {
        const { score, ds } = rowTerms(qkv, s, b, h, i);
        const n = i + 1;
        const tiles = Math.ceil(n / bn);
        const dsMax = Math.max(...ds);
        const range = Math.max(...score) - Math.min(...score);
        const expErr = (3 + 2 * range) * U;
        const yRel = 2 * (2 * dsMax + expErr) + (2 * (n + tiles) + 1) * U;
        const lRel = 2 * dsMax + expErr + tiles * (expErr + U) + (n + tiles) * U;
        const L = lse[(b * s.heads + h) * s.seqLen + i];
        dl[(b * s.heads + h) * s.seqLen + i] = 2 * (dsMax + lRel + 2 ** -21 + 3 * U * Math.log(n) + U * Math.abs(L));
        for (let c = 0; c < s.headDim; c++) {
          let m = 0;
          for (let j = 0; j <= i; j++) m = Math.max(m, Math.abs(qkv[ref.qkvIndex(s, b * s.seqLen + j, 2, h, c)]));
          y[(b * s.seqLen + i) * C + h * s.headDim + c] = 2 * yRel * m;
        }
      }
    }
  }
  return { y, lse: dl };
}

function backwardBounds(qkv: ArrayLike<number>, dy: ArrayLike<number>, y: ArrayLike<number>, s: AttentionShape, fwd: ForwardBounds): Float64Array {
  const D = s.headDim;
  const T = s.seqLen;
  const C = s.heads * D;
  const scale = 1 / Math.sqrt(D);
  const out = new Float64Array(s.batch * T * 3 * C);
  const dqkv = ref.attentionBackward(qkv, dy, s).dqkv;
  for (let b = 0; b < s.batch; b++) {
    for (let h = 0; h < s.heads; h++) {
      const { p, lse } = ref.attentionProbabilities(qkv, s, b, h);
      for (let i = 0; i < T; i++) {
        const { score, ds: dScore } = rowTerms(qkv, s, b, h, i);
        const yi = (b * T + i) * C + h * D;
        const stat = (b * s.heads + h) * T + i;
        let delta = 0;
        let deltaErr = 0;
        for (let c = 0; c < D; c++) {
          delta += dy[yi + c] * y[yi + c];
          deltaErr += (D + 1) * U * Math.abs(dy[yi + c] * y[yi + c]) + Math.abs(dy[yi + c]) * fwd.y[yi + c];
        }
        const qi = ref.qkvIndex(s, b * T + i, 0, h, 0);
        for (let j = 0; j <= i; j++) {
          const kj = ref.qkvIndex(s, b * T + j, 1, h, 0);
          const vj = kj + C;
          let dp = 0;
          let dpErr = 0;
          for (let c = 0; c < D; c++) {
            dp += dy[yi + c] * qkv[vj + c];
            dpErr += (D + 1) * U * Math.abs(dy[yi + c] * qkv[vj + c]);
          }
          const P = p[i][j];
          const pErr = dScore[j] + fwd.lse[stat] + (4 + 2 * Math.abs(score[j] - lse[i])) * U;
          const dS = Math.abs(P * (dp - delta));
          const dSErr = P * (pErr * Math.abs(dp - delta) + dpErr + deltaErr + U * Math.abs(dp - delta)) + U * dS;
          const sumQ = (i + 2) * U; // dq_i sums i + 1 terms
          const sumKV = (T - j + 1) * U; // dk_j, dv_j sum T − j terms
          for (let c = 0; c < D; c++) {
            out[qi + c] += 2 * scale * (dSErr + sumQ * dS) * Math.abs(qkv[kj + c]);
            out[kj + c] += 2 * scale * (dSErr + sumKV * dS) * Math.abs(qkv[qi + c]);
            out[vj + c] += 2 * (pErr + sumKV) * P * Math.abs(dy[yi + c]);
          }
        }
      }
    }
  }
  for (let e = 0; e < out.length; e++) out[e] += 2 * U * Math.abs(dqkv[e]) + 1e-30; // final rounding
  return out;
}

interface Run {
  y: Float32Array;
  lse: Float32Array;
  dqkv: Float32Array;
  /** Δ = rowsum(dy ∘ y), when the caller's scratch was used. */
  delta?: Float32Array;
}

/** Forward then backward on the GPU, qkv and dy at odd offsets of bigger buffers. */
async function runGpu(g: Gpu, s: AttentionShape, qkv: Float32Array, dy: Float32Array, ownDelta = false): Promise<Run> {
  const C = s.heads * s.headDim;
  const tokens = s.batch * s.seqLen;
  const rows = s.batch * s.heads * s.seqLen;
  const pad = (x: Float32Array, off: number) => {
    const a = new Float32Array(off + x.length + 3);
    a.set(x, off);
    return g.upload(a);
  };
  const bqkv = pad(qkv, 5);
  const bdy = pad(dy, 3);
  const by = g.createBuffer(tokens * C * 4);
  const blse = g.createBuffer((rows + 7) * 4);
  const bd = g.createBuffer((tokens * 3 * C + 1) * 4);
  const bdelta = g.createBuffer((rows + 2) * 4);
  const step = g.beginStep();
  const qkvSpan = span(bqkv, 5, qkv.length);
  const lseSpan = span(blse, 7, rows);
  attentionForward(step, s, { qkv: qkvSpan, y: by, lse: lseSpan });
  attentionBackward(g, step, s, {
    qkv: qkvSpan,
    y: by,
    lse: lseSpan,
    dy: span(bdy, 3, dy.length),
    dqkv: span(bd, 1, tokens * 3 * C),
    delta: ownDelta ? span(bdelta, 2, rows) : undefined,
  });
  step.submit();
  const run: Run = { y: await g.readF32(by), lse: (await g.readF32(blse)).slice(7), dqkv: (await g.readF32(bd)).slice(1) };
  if (ownDelta) run.delta = (await g.readF32(bdelta)).slice(2);
  for (const buf of [bqkv, bdy, by, blse, bd, bdelta]) buf.destroy();
  return run;
}

function inputs(s: AttentionShape, seed: number) {
  const C = s.heads * s.headDim;
  const tokens = s.batch * s.seqLen;
  return { qkv: normal(tokens * 3 * C, seed, 1.5), dy: normal(tokens * C, seed + 1) };
}

const shape = (batch: number, seqLen: number, heads: number, headDim: number): AttentionShape => ({ batch, seqLen, heads, headDim });

describe('causal multi-head attention', () => {
  const gpu = useGpu();

  it('the float64 backward matches central finite differences of the float64 forward', () => {
    const s = shape(2, 5, 2, 4);
    const { qkv, dy } = inputs(s, 3);
    const x = Float64Array.from(qkv);
    const loss = (v: Float64Array) => ref.attentionForward(v, s).y.reduce((acc, yv, e) => acc + yv * dy[e], 0);
    const h = 1e-5; // O(h²) truncation + O(eps·|loss|/h) cancellation: ~1e-10
    const fd = Float64Array.from(x, (_, e) => {
      const plus = Float64Array.from(x);
      const minus = Float64Array.from(x);
      plus[e] += h;
      minus[e] -= h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
    const grad = ref.attentionBackward(x, dy, s).dqkv;
    let worst = 0;
    for (let e = 0; e < fd.length; e++) worst = Math.max(worst, Math.abs(fd[e] - grad[e]));
    expect(worst).toBeLessThan(1e-7);
    // And the reference forward's rows are convex combinations of v: row 0 attends only to itself.
    const y = ref.attentionForward(x, s).y;
    for (let c = 0; c < s.heads * s.headDim; c++) expect(y[c]).toBeCloseTo(x[2 * s.heads * s.headDim + c], 12);
  });

  it.each([
    shape(1, 1, 1, 16),
    shape(2, 7, 3, 16),
    shape(1, 64, 2, 32),
    shape(2, 130, 4, 32),
    shape(1, 130, 1, 16),
    shape(1, 37, 2, 64),
    shape(1, 257, 1, 16),
  ])('forward and backward of %o match float64 within the derived bound', async (s) => {
    const g = gpu();
    const { qkv, dy } = inputs(s, s.seqLen * 7 + s.heads * 3 + s.headDim);
    const got = await runGpu(g, s, qkv, dy);
    const want = ref.attentionForward(qkv, s);
    const fb = forwardBounds(qkv, s, want.lse);
    expectWithin(got.y, want.y, fb.y, 'y');
    expectWithin(got.lse, want.lse, fb.lse, 'logsumexp');
    // The backward runs on the GPU's own y and L, whose errors the bound carries.
    expectWithin(got.dqkv, ref.attentionBackward(qkv, dy, s).dqkv, backwardBounds(qkv, dy, got.y, s, fb), 'd(qkv)');
  });

  it('is causal: changing later tokens leaves earlier outputs and earlier query gradients bit for bit', async () => {
    const g = gpu();
    const s = shape(2, 45, 2, 16);
    const t0 = 21; // inside a 16-row block, so a block mixes changed and unchanged tokens
    const { qkv, dy } = inputs(s, 11);
    const qkv2 = Float32Array.from(qkv);
    const dy2 = Float32Array.from(dy);
    const C = s.heads * s.headDim;
    for (let b = 0; b < s.batch; b++) {
      for (let t = t0; t < s.seqLen; t++) {
        for (let c = 0; c < 3 * C; c++) qkv2[(b * s.seqLen + t) * 3 * C + c] *= -3;
        for (let c = 0; c < C; c++) dy2[(b * s.seqLen + t) * C + c] += 1;
      }
    }
    const a = await runGpu(g, s, qkv, dy);
    const z = await runGpu(g, s, qkv2, dy2);
    let changed = 0;
    for (let b = 0; b < s.batch; b++) {
      const rows = (r: Float32Array, width: number, from: number, to: number) => new Uint32Array(r.buffer).slice((b * s.seqLen + from) * width, (b * s.seqLen + to) * width);
      expect(rows(z.y, C, 0, t0)).toEqual(rows(a.y, C, 0, t0));
      const earlyDq = (r: Float32Array) => Array.from({ length: t0 }, (_, t) => Array.from(new Uint32Array(r.buffer, ((b * s.seqLen + t) * 3 * C) * 4, C)));
      expect(earlyDq(z.dqkv)).toEqual(earlyDq(a.dqkv));
      for (let h = 0; h < s.heads; h++) {
        const base = (b * s.heads + h) * s.seqLen;
        expect(z.lse.slice(base, base + t0)).toEqual(a.lse.slice(base, base + t0));
        if (z.lse[base + t0] !== a.lse[base + t0]) changed++;
      }
      // The changed tokens' own outputs do change (the comparison above can fail).
      expect(rows(z.y, C, t0, s.seqLen)).not.toEqual(rows(a.y, C, t0, s.seqLen));
    }
    expect(changed).toBeGreaterThan(0);
  });

  it('is deterministic: two runs give the same bits (the second with caller-provided Δ scratch)', async () => {
    const g = gpu();
    const s = shape(2, 70, 3, 32);
    const { qkv, dy } = inputs(s, 21);
    const a = await runGpu(g, s, qkv, dy);
    const b = await runGpu(g, s, qkv, dy, true);
    for (const k of ['y', 'lse', 'dqkv'] as const) expect(new Uint32Array(b[k].buffer), k).toEqual(new Uint32Array(a[k].buffer));
    // Δ_i = dy_i·y_i over the GPU's y: a D-term dot product, plus |dy|·(y's bound) from the forward.
    const want = ref.attentionBackward(qkv, dy, s).delta;
    const fb = forwardBounds(qkv, s, ref.attentionForward(qkv, s).lse);
    const C = s.heads * s.headDim;
    const bound = Float64Array.from(want, (_, row) => {
      const t = row % s.seqLen;
      const h = Math.floor(row / s.seqLen) % s.heads;
      const bt = Math.floor(row / (s.seqLen * s.heads)) * s.seqLen + t;
      let e = 0;
      for (let c = 0; c < s.headDim; c++) {
        const at = bt * C + h * s.headDim + c;
        e += Math.abs(dy[at]) * (fb.y[at] + (s.headDim + 1) * U * Math.abs(b.y[at]));
      }
      return 2 * e + 1e-30;
    });
    expectWithin(b.delta!, want, bound, 'Δ');
  });

  it('tiles every head size (16, 32, 48, 64) within the 16 KiB of workgroup memory WebGPU guarantees', () => {
    for (let d = 16; d <= 64; d += 16) {
      const t = attentionTiles(d);
      expect(t.workgroupBytes, `D = ${d}`).toBeLessThanOrEqual(16384);
      expect(t.br * t.tpr).toBeLessThanOrEqual(256);
      expect(d % (4 * t.tpr) === 0 && t.bn % t.tpr === 0 && t.bn / t.tpr <= 4 && d / (4 * t.tpr) <= 4, `D = ${d}`).toBe(true);
    }
    expect(attentionTiles(32).bn).toBe(16);
    expect(attentionTiles(64).bn).toBe(8);
  });

  it('rejects bad shapes, wrong lengths and aliased outputs', () => {
    const g = gpu();
    const s = shape(1, 4, 2, 16);
    const qkv = g.createBuffer(4 * 3 * 32 * 4);
    const y = g.createBuffer(4 * 32 * 4);
    const lse = g.createBuffer(8 * 4);
    const step = g.beginStep();
    expect(() => attentionForward(step, { ...s, headDim: 128 }, { qkv, y, lse })).toThrow(/headDim must be 16, 32, 48 or 64, got 128/);
    expect(() => attentionForward(step, { ...s, headDim: 8 }, { qkv, y, lse })).toThrow(/got 8/);
    expect(() => attentionForward(step, { ...s, seqLen: 0 }, { qkv, y, lse })).toThrow(/seqLen must be a positive integer/);
    expect(() => attentionForward(step, s, { qkv: span(qkv, 0, 10), y, lse })).toThrow(/qkv has 10 elements, expected 384/);
    expect(() => attentionForward(step, s, { qkv, y: span(qkv, 0, 128), lse })).toThrow(/shares its buffer/);
    expect(() => attentionBackward(g, step, s, { qkv, y, lse, dy: y, dqkv: qkv })).toThrow(/shares its buffer/);
    for (const b of [qkv, y, lse]) b.destroy();
  });

  it('a steady-state forward + backward creates no GPU buffers, in 3 dispatches whatever the heads', async () => {
    const g = gpu();
    for (const heads of [1, 4]) {
      const s = shape(2, 33, heads, 16);
      const { qkv, dy } = inputs(s, 31);
      const C = heads * 16;
      const bqkv = g.upload(qkv);
      const bdy = g.upload(dy);
      const by = g.createBuffer(2 * 33 * C * 4);
      const blse = g.createBuffer(2 * heads * 33 * 4);
      const bd = g.createBuffer(qkv.length * 4);
      let dispatches = 0;
      const run = async () => {
        const step = g.beginStep();
        attentionForward(step, s, { qkv: bqkv, y: by, lse: blse });
        attentionBackward(g, step, s, { qkv: bqkv, y: by, lse: blse, dy: bdy, dqkv: bd });
        dispatches = step.dispatches;
        step.submit();
        await g.sync();
      };
      await expectSteadyStateAllocatesNothing(g, run);
      expect(dispatches).toBe(3);
    }
  });
});
