import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { geomedStart, mixingWeights, reference, robustDispatches, robustMix, robustScratchLength, span, type RobustRule } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, rng, uniform } from '../../../test/support/numeric.js';

const U = 2 ** -24; // float32 unit roundoff
const ref = reference.robust;

// Tolerances for inputs in [−1, 1] (scaled by `scale` where inputs are larger). Derivations:
// - nna, trimmed mean: the kept values are exact; m = kept count terms are added (fma with the
//   float32 1/m, or summed and times 1/m), each rounding once on partial sums ≤ 1: ≤ (m + 1)·u; ×2.
// - median: the middle value exactly, or (a + b)·0.5 with one rounding; 2u.
// - clip: ‖r_j − x0‖² is summed in ≤ 16 serial fmas + 8 + nb + 8 tree levels (≤ 34u relative), the
//   square root and τ/‖v‖ add ≤ 3.5 ulp and ×w_j one more: each coefficient c_j is within 40u
//   relative; a term c_j·(r_j − x0) (|r_j − x0| ≤ 2) is then off by ≤ 80u·c_j plus 2u·c_j for the
//   subtraction, and each fma rounds once on |acc| ≤ 2: Σ_j (82·c_j + 2)·u ≤ (82 + 2K)·u; ×2.
// - geomed: per iteration the coefficients β_j/Σβ carry the same ≤ 40u plus (K + 1)u for the sum
//   and 2.5 ulp for the division, and the weighted average adds (K + 1)u: ≤ (45 + 2(K + 1))·u per
//   iteration. Errors of the iterate feed the next distances; near the median the Weiszfeld map is
//   a contraction, so they do not grow faster than linearly: T·(45 + 2(K + 1))·u; ×2.
const tol = {
  kept: (m: number, scale = 1) => ({ atol: 2 * (m + 1) * U * scale, rtol: 0 }),
  median: (scale = 1) => ({ atol: 2 * U * scale, rtol: 0 }),
  clip: (k: number) => ({ atol: 2 * (82 + 2 * k) * U, rtol: 0 }),
  geomed: (k: number, iterations: number, scale = 1) => ({ atol: 2 * iterations * (45 + 2 * (k + 1)) * U * scale, rtol: 0 }),
};

/** K neighbour weights (self weight first, mix.ts layout) with Σ ≤ 1. */
function neighbourWeights(k: number, seed: number): Float32Array {
  const r = rng(seed);
  const raw = Array.from({ length: k + 1 }, () => 0.2 + r());
  const sum = raw.reduce((a, b) => a + b, 0);
  return mixingWeights(raw[0] / sum, raw.slice(1).map((v) => v / sum));
}

interface Inputs {
  x: Float32Array;
  received: Float32Array;
  k: number;
  weights?: Float32Array;
}

/** Runs each rule on the same inputs in one step; returns outputs and the coefficient rows. */
async function runRules(g: Gpu, inp: Inputs, rules: readonly RobustRule[]): Promise<{ out: Float32Array[]; coefs: Float32Array[] }> {
  const p = inp.x.length;
  const [bx, br] = [g.upload(inp.x), g.upload(inp.received)];
  const bw = inp.weights ? g.upload(inp.weights) : undefined;
  const outs = rules.map(() => g.createBuffer(p * 4));
  const scratch = rules.map(() => g.createBuffer(robustScratchLength(p, inp.k) * 4));
  const step = g.beginStep();
  rules.forEach((rule, i) => robustMix(g, step, rule, { x: bx, received: br, count: inp.k, out: outs[i], weights: bw, scratch: span(scratch[i]) }));
  step.submit();
  expect(step.dispatches).toBe(rules.reduce((a, r) => a + robustDispatches(r, inp.k), 0));
  const out = await Promise.all(outs.map((b) => g.readF32(b)));
  const coefs = await Promise.all(scratch.map((b) => g.readF32(b, 0, inp.k + 1)));
  for (const b of [bx, br, ...(bw ? [bw] : []), ...outs, ...scratch]) b.destroy();
  return { out, coefs };
}

/** The reference of one rule. */
function expected(rule: RobustRule, inp: Inputs): Float64Array {
  const { x, received, k } = inp;
  switch (rule.kind) {
    case 'nna':
      return ref.nna(x, received, k, rule.f);
    case 'trimmed-mean':
      return ref.trimmedMean(x, received, k, rule.f);
    case 'median':
      return ref.median(x, received, k);
    case 'geomed':
      return ref.geometricMedian(x, received, k, rule.iterations ?? 8, rule.nu ?? 1e-6, geomedStart(rule, k));
    case 'clip':
      return ref.clippedGossip(x, received, k, inp.weights as Float32Array, rule.tau);
  }
}

function tolFor(rule: RobustRule, k: number): { atol: number; rtol: number } {
  switch (rule.kind) {
    case 'nna':
      return tol.kept(k + 1 - rule.f);
    case 'trimmed-mean':
      return tol.kept(k + 1 - 2 * rule.f);
    case 'median':
      return tol.median();
    case 'geomed':
      return tol.geomed(k, rule.iterations ?? 8);
    case 'clip':
      return tol.clip(k);
  }
}

/** Rules for K, with f as large as each allows, and τ about the median neighbour distance (some clip). */
function rulesFor(k: number, p: number): RobustRule[] {
  const f = Math.floor(k / 2);
  return [
    { kind: 'nna', f: Math.max(0, k - 1 - f) },
    { kind: 'trimmed-mean', f },
    { kind: 'median' },
    { kind: 'geomed', iterations: 4, nu: 1e-6 },
    { kind: 'clip', tau: Math.sqrt((2 * p) / 3) },
  ];
}

/** Bits of a float32 array, for exact comparisons (NaN included). */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe('robust mixing kernels', () => {
  const gpu = useGpu();

  const cases = [1, 3, 16].flatMap((k) => [1, 257, 4099].map((p) => ({ k, p })));
  it.each(cases)('every rule matches its float64 reference for K=$k, P=$p', async ({ k, p }) => {
    const g = gpu();
    const inp: Inputs = { x: uniform(p, 1), received: uniform(k * p, 2), k, weights: neighbourWeights(k, 3) };
    const rules = rulesFor(k, p);
    const { out } = await runRules(g, inp, rules);
    rules.forEach((rule, i) => expectAllClose(out[i], expected(rule, inp), tolFor(rule, k), `${rule.kind} K=${k} P=${p}`));
  });

  it('every K from 1 to 16 at a ragged P matches the references', async () => {
    const g = gpu();
    const p = 37;
    for (let k = 1; k <= 16; k++) {
      const inp: Inputs = { x: uniform(p, 10 + k), received: uniform(k * p, 30 + k), k, weights: neighbourWeights(k, 50 + k) };
      const rules = rulesFor(k, p);
      const { out } = await runRules(g, inp, rules);
      rules.forEach((rule, i) => expectAllClose(out[i], expected(rule, inp), tolFor(rule, k), `${rule.kind} K=${k}`));
    }
  });

  it('NNA with f far-away or non-finite attackers returns the honest average and selects exactly the honest vectors', async () => {
    const g = gpu();
    const [p, k, f] = [300, 8, 3];
    const x = uniform(p, 60);
    const honest = Array.from({ length: k - f }, (_, j) => uniform(p, 61 + j).map((v, i) => x[i] + 0.01 * v));
    const far = uniform(p, 70).map((v) => 1e3 + v);
    const huge = new Float32Array(p).fill(1e30); // ‖·‖² overflows float32: Inf distance
    const nan = uniform(p, 71).map((v, i) => (i === 17 ? NaN : v));
    // Attackers at slots 2, 5, 8 (j = 0 is x0); honest in the rest.
    const slots: Float32Array[] = [honest[0], far, honest[1], honest[2], huge, honest[3], honest[4], nan];
    const received = new Float32Array(k * p);
    slots.forEach((v, j) => received.set(v, j * p));
    const { out, coefs } = await runRules(g, { x, received, k }, [{ kind: 'nna', f }]);
    const m = k + 1 - f;
    const mean = Float64Array.from(x, (v, i) => (v + honest.reduce((a, h) => a + h[i], 0)) / m);
    expectAllClose(out[0], mean, tol.kept(m, 1.1), 'the honest mean');
    expect(Array.from(coefs[0]).map((c) => c !== 0)).toEqual([true, true, false, true, true, false, true, true, false]);
  });

  it('trimmed mean and median: same bits for any permutation of the inputs, own vector included', async () => {
    const g = gpu();
    const [p, k] = [513, 6];
    const vs = Array.from({ length: k + 1 }, (_, j) => uniform(p, 80 + j));
    const order = [4, 0, 6, 2, 5, 1, 3];
    const stack = (ids: number[]) => {
      const r = new Float32Array(k * p);
      ids.slice(1).forEach((id, j) => r.set(vs[id], j * p));
      return { x: vs[ids[0]], received: r, k };
    };
    const rules: RobustRule[] = [{ kind: 'trimmed-mean', f: 2 }, { kind: 'median' }];
    const a = await runRules(g, stack([0, 1, 2, 3, 4, 5, 6]), rules);
    const b = await runRules(g, stack(order), rules);
    rules.forEach((_, i) => expect(bits(b.out[i])).toEqual(bits(a.out[i])));
  });

  it('trimmed mean and median ignore f arbitrarily large, infinite or NaN values (same bits whatever they are)', async () => {
    const g = gpu();
    const [p, k, f] = [200, 7, 2];
    const x = uniform(p, 90);
    const honest = Array.from({ length: k - f }, (_, j) => uniform(p, 91 + j));
    const withAttackers = (a: Float32Array, b: Float32Array) => {
      const r = new Float32Array(k * p);
      [honest[0], a, honest[1], honest[2], b, honest[3], honest[4]].forEach((v, j) => r.set(v, j * p));
      return { x, received: r, k };
    };
    const fill = (v: number) => new Float32Array(p).fill(v);
    const rules: RobustRule[] = [{ kind: 'trimmed-mean', f }, { kind: 'median' }];
    // Attackers above every honest value, in four guises; and one above, one below.
    const variants = [withAttackers(fill(2), fill(3)), withAttackers(fill(1e30), fill(3e38)), withAttackers(fill(Infinity), fill(NaN)), withAttackers(fill(NaN), fill(-NaN))];
    const runs = await Promise.all(variants.map((v) => runRules(g, v, rules)));
    for (const r of runs.slice(1)) rules.forEach((_, i) => expect(bits(r.out[i])).toEqual(bits(runs[0].out[i])));
    const split = withAttackers(fill(1e30), fill(-Infinity));
    const s = await runRules(g, split, rules);
    rules.forEach((rule, i) => {
      expect(s.out[i].every(Number.isFinite)).toBe(true);
      expectAllClose(s.out[i], expected(rule, split), tolFor(rule, k), `${rule.kind} with ±outliers`);
      // Every output lies within the honest values of its coordinate.
      for (let t = 0; t < p; t++) {
        const col = [x[t], ...honest.map((h) => h[t])];
        expect(s.out[i][t]).toBeGreaterThanOrEqual(Math.min(...col));
        expect(s.out[i][t]).toBeLessThanOrEqual(Math.max(...col));
      }
    });
  });

  it('geometric median of points symmetric about c is c (from an off-centre start)', async () => {
    const g = gpu();
    const [p, pairs, iterations] = [33, 4, 40];
    const c = uniform(p, 100);
    const dirs = Array.from({ length: pairs }, (_, j) => uniform(p, 101 + j));
    const pts = dirs.flatMap((d) => [c.map((v, i) => v + d[i]), c.map((v, i) => v - d[i])]);
    const k = pts.length - 1;
    const received = new Float32Array(k * p);
    pts.slice(1).forEach((v, j) => received.set(v, j * p));
    const inp = { x: pts[0], received, k };
    // From x0 (a data point, so the slow start), and from the coordinate-wise median, which is c
    // already: Weiszfeld must stay there.
    const rules: RobustRule[] = [
      { kind: 'geomed', iterations, nu: 1e-6, start: 'own' },
      { kind: 'geomed', iterations: 3, nu: 1e-6 },
    ];
    const { out } = await runRules(g, inp, rules);
    rules.forEach((rule, i) => {
      // The float64 iteration itself must have converged to c, then the GPU tracks it.
      expectAllClose(expected(rule, inp), c, { atol: 1e-6, rtol: 0 }, `float64 Weiszfeld → c (${rule.kind === 'geomed' && rule.start})`);
      expectAllClose(out[i], c, { atol: 1e-6 + tol.geomed(k, rule.kind === 'geomed' ? (rule.iterations ?? 8) : 0, 2).atol, rtol: 0 }, 'geomed → c');
    });
  });

  it('NNA, clipping and the geometric median (from NNA) take up to 255 neighbours (K = 40 here)', async () => {
    const g = gpu();
    const [p, k] = [100, 40];
    const inp: Inputs = { x: uniform(p, 160), received: uniform(k * p, 161), k, weights: neighbourWeights(k, 162) };
    const rules: RobustRule[] = [{ kind: 'nna', f: 13 }, { kind: 'clip', tau: 6 }, { kind: 'geomed', iterations: 3 }];
    const { out } = await runRules(g, inp, rules);
    rules.forEach((rule, i) => expectAllClose(out[i], expected(rule, inp), tolFor(rule, k), rule.kind));
  });

  it('clipping: τ = ∞ is plain mixing with the same weights; τ = 0 leaves x0 exactly; τ → 0 tends to x0', async () => {
    const g = gpu();
    const [p, k] = [1000, 5];
    const inp: Inputs = { x: uniform(p, 110), received: uniform(k * p, 111), k, weights: neighbourWeights(k, 112) };
    const { out } = await runRules(g, inp, [{ kind: 'clip', tau: Infinity }, { kind: 'clip', tau: 0 }, { kind: 'clip', tau: 1e-12 }]);
    const w = Float32Array.from(inp.weights as Float32Array);
    w[0] = 1 - w.slice(1).reduce((a, b) => a + b, 0);
    const plain = reference.mix.mixNeighbours(inp.x, inp.received, k, w);
    // Against plain mixing: the clip bound plus the float32 rounding of w_self (one u).
    expectAllClose(out[0], plain, { atol: tol.clip(k).atol + 2 * U, rtol: 0 }, 'τ = ∞');
    expect(bits(out[1])).toEqual(bits(inp.x));
    expectAllClose(out[2], inp.x, { atol: 1e-12, rtol: 0 }, 'τ = 1e-12');
  });

  it('a NaN or Inf neighbour does not poison clipping or the geometric median (it is dropped)', async () => {
    const g = gpu();
    const [p, k] = [100, 4];
    const received = uniform(k * p, 120);
    received[2 * p + 5] = NaN;
    received[3 * p + 9] = Infinity;
    const inp: Inputs = { x: uniform(p, 121), received, k, weights: neighbourWeights(k, 122) };
    const rules: RobustRule[] = [{ kind: 'clip', tau: 2 }, { kind: 'geomed', iterations: 5 }, { kind: 'nna', f: 2 }, { kind: 'trimmed-mean', f: 2 }, { kind: 'median' }];
    const { out } = await runRules(g, inp, rules);
    rules.forEach((rule, i) => {
      expect(out[i].every(Number.isFinite), rule.kind).toBe(true);
      expectAllClose(out[i], expected(rule, inp), tolFor(rule, k), rule.kind);
    });
  });

  it('is deterministic: the same inputs give the same bits twice (pooled scratch)', async () => {
    const g = gpu();
    const [p, k] = [4099, 7];
    const [bx, br, bw] = [g.upload(uniform(p, 130)), g.upload(uniform(k * p, 131)), g.upload(neighbourWeights(k, 132))];
    const rules = rulesFor(k, p);
    const once = async () => {
      const outs = rules.map(() => g.createBuffer(p * 4));
      const step = g.beginStep();
      rules.forEach((rule, i) => robustMix(g, step, rule, { x: bx, received: br, count: k, out: outs[i], weights: bw }));
      step.submit();
      const r = await Promise.all(outs.map((b) => g.readF32(b)));
      outs.forEach((b) => b.destroy());
      return r.map(bits);
    };
    expect(await once()).toEqual(await once());
  });

  it('respects spans: offsets, padded rows (stride > P), weight offset', async () => {
    const g = gpu();
    const [p, k, stride, xOff, rOff, wOff, oOff] = [301, 4, 320, 50, 17, 3, 9];
    const flat = uniform(1000, 140);
    const staging = uniform(rOff + 6 * stride, 141);
    const w = neighbourWeights(k, 142);
    const wBuf = new Float32Array(wOff + k + 5);
    wBuf.set(w, wOff);
    const x = flat.slice(xOff, xOff + p);
    const received = new Float32Array(k * p);
    for (let j = 0; j < k; j++) received.set(staging.subarray(rOff + j * stride, rOff + j * stride + p), j * p);
    const inp: Inputs = { x, received, k, weights: w };
    const [bx, br, bw, bo] = [g.upload(flat), g.upload(staging), g.upload(wBuf), g.createBuffer((oOff + p + 7) * 4)];
    for (const rule of rulesFor(k, p)) {
      const step = g.beginStep();
      const args = { x: span(bx, xOff, p), received: span(br, rOff), count: k, stride, weights: span(bw, wOff, k + 1), out: span(bo, oOff, p) };
      robustMix(g, step, rule, args);
      step.submit();
      expectAllClose((await g.readF32(bo)).subarray(oOff, oOff + p), expected(rule, inp), tolFor(rule, k), rule.kind);
    }
  });

  it('rejects bad f, too many inputs, short spans, missing weights and aliasing', () => {
    const g = gpu();
    const [x, r, o, w] = [g.createBuffer(40), g.createBuffer(40 * 40), g.createBuffer(40), g.createBuffer(4 * 40)];
    const step = g.beginStep();
    const a = { x, received: r, count: 3, out: o };
    expect(() => robustMix(g, step, { kind: 'nna', f: 4 }, a)).toThrow(/f = 4/);
    expect(() => robustMix(g, step, { kind: 'trimmed-mean', f: 2 }, a)).toThrow(/2f/);
    expect(() => robustMix(g, step, { kind: 'median' }, { ...a, count: 32 })).toThrow(/limit of 32/);
    expect(() => robustMix(g, step, { kind: 'median' }, { ...a, count: 41 })).toThrow(/received span/);
    expect(() => robustMix(g, step, { kind: 'clip', tau: 1 }, a)).toThrow(/weights/);
    expect(() => robustMix(g, step, { kind: 'clip', tau: -1 }, { ...a, weights: w })).toThrow(/τ/);
    expect(() => robustMix(g, step, { kind: 'geomed', iterations: 0 }, a)).toThrow(/iterations/);
    expect(() => robustMix(g, step, { kind: 'median' }, { ...a, out: span(r, 0, 10) })).toThrow(/buffer/);
    expect(() => robustMix(g, step, { kind: 'nna', f: 1 }, { ...a, scratch: span(o) })).toThrow(/scratch/);
    step.submit();
  });

  it('a steady-state robust mixing step creates no GPU buffers', async () => {
    const g = gpu();
    const [p, k] = [5000, 9];
    const [bx, br, bw] = [g.upload(uniform(p, 150)), g.upload(uniform(k * p, 151)), g.upload(neighbourWeights(k, 152))];
    const rules = rulesFor(k, p);
    const outs = rules.map(() => g.createBuffer(p * 4));
    const own = g.createBuffer(robustScratchLength(p, k) * 4);
    const run = async () => {
      const step = g.beginStep();
      rules.forEach((rule, i) => robustMix(g, step, rule, { x: bx, received: br, count: k, out: outs[i], weights: bw }));
      robustMix(g, step, { kind: 'nna', f: 2 }, { x: bx, received: br, count: k, out: outs[0], scratch: span(own) });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
