import { describe, expect, it } from 'vitest';
import {
  admmEdgeMessages,
  admmKernels,
  admmLambdaOverRho,
  admmSquaredDistanceF32,
  admmThetaF32,
  admmUUpdate,
  admmZUpdate,
  admmZUpdateFromMessages,
  reference,
  span,
} from '@gossamer/kernels';
import type { Gpu } from '@gossamer/gpu';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, rng, uniform } from '../../../test/support/numeric.js';

const ref = reference.admm;
const U = 2 ** -24;

/** E random edges on N nodes (no self loops), as the (i, j) pair table. */
function randomEdges(nodes: number, e: number, seed: number): Uint32Array {
  const r = rng(seed);
  const edges = new Uint32Array(2 * e);
  for (let k = 0; k < e; k++) {
    const i = Math.floor(r() * nodes);
    edges[2 * k] = i;
    edges[2 * k + 1] = (i + 1 + Math.floor(r() * (nodes - 1))) % nodes;
  }
  return edges;
}

interface Problem {
  nodes: number;
  d: number;
  x: Float32Array;
  u: Float32Array;
  edges: Uint32Array;
  weights: Float32Array;
}

function problem(nodes: number, e: number, d: number, seed: number): Problem {
  return {
    nodes,
    d,
    x: uniform(nodes * d, seed),
    u: uniform(2 * e * d, seed + 1, -0.2, 0.2),
    edges: randomEdges(nodes, e, seed + 2),
    weights: uniform(e, seed + 3, 0.5, 1.5),
  };
}

/** a_e = fround(x_i + u_ij) and b_e = fround(x_j + u_ji), as the kernel forms them. */
function edgeEnds(p: Problem, k: number): [Float32Array, Float32Array] {
  const { d, x, u, edges } = p;
  const a = Float32Array.from({ length: d }, (_, t) => x[edges[2 * k] * d + t] + u[2 * k * d + t]);
  const b = Float32Array.from({ length: d }, (_, t) => x[edges[2 * k + 1] * d + t] + u[(2 * k + 1) * d + t]);
  return [a, b];
}

async function runZUpdate(g: Gpu, p: Problem, lambda: number, rho: number) {
  const e = p.weights.length;
  const [bx, bu, be, bw] = [g.upload(p.x), g.upload(p.u), g.upload(p.edges), g.upload(p.weights)];
  const [bz, bt] = [g.createBuffer(2 * e * p.d * 4), g.createBuffer(e * 4)];
  const step = g.beginStep();
  admmZUpdate(step, { x: bx, u: bu, z: bz, theta: bt, edges: be, weights: bw, dim: p.d }, { lambda, rho });
  step.submit();
  const z = await g.readF32(bz);
  const theta = await g.readF32(bt);
  for (const b of [bx, bu, be, bw, bz, bt]) b.destroy();
  return { z, theta };
}

function expectThetaBits(theta: Float32Array, expected: (k: number) => number, what: string): void {
  let bad = 0;
  let first = -1;
  for (let k = 0; k < theta.length; k++) {
    if (!Object.is(theta[k], expected(k))) {
      if (first < 0) first = k;
      bad++;
    }
  }
  if (bad > 0) throw new Error(`${what}: ${bad}/${theta.length} θ differ in bits; first [${first}] GPU ${theta[first]}, host ${expected(first)}`);
}

describe('Network Lasso ADMM kernels', () => {
  const gpu = useGpu();

  // θ's float32 error: s = ‖a − b‖² has relative error ≤ d·u, r ≤ (d/2 + 1)·u, c/r ≤ (d/2 + 3)·u,
  // and c/r ≤ ½ where θ > ½; z moves by |θ error|·|a − b| (≤ 4 here) plus a few roundings of |a|.
  const thetaTol = (d: number) => ({ atol: 2 * (d / 2 + 3) * U, rtol: 0 });
  const zTol = (d: number) => ({ atol: 2 * (4 * (d / 2 + 3) + 4) * U, rtol: 0 });

  const cases = [
    { e: 1, d: 1 },
    { e: 7, d: 3 },
    { e: 257, d: 10 },
    { e: 1031, d: 51 },
    { e: 100_003, d: 2 },
  ];
  it.each(cases)('batched z-update matches float64 and its θ matches the host float32 mirror bit for bit (E=$e, d=$d)', async ({ e, d }) => {
    const g = gpu();
    const p = problem(Math.max(2, Math.ceil(e / 3)), e, d, 10 + d);
    // λ so that ‖a − b‖ ≈ 2λw/ρ is common: a mix of consensus (θ = ½) and θ ∈ (½, 1).
    const [lambda, rho] = [0.3 * Math.sqrt(d), 1.3];
    const { z, theta } = await runZUpdate(g, p, lambda, rho);
    const want = ref.zUpdate(p.x, p.u, p.edges, p.weights, d, lambda, rho);
    expectAllClose(theta, want.theta, thetaTol(d), 'θ');
    expectAllClose(z, want.z, zTol(d), 'z');
    const lor = admmLambdaOverRho({ lambda, rho });
    expectThetaBits(theta, (k) => admmThetaF32(admmSquaredDistanceF32(...edgeEnds(p, k)), lor, p.weights[k]), 'θ vs admmThetaF32');
    if (e > 100) {
      const half = Array.from(theta).filter((t) => t === 0.5).length;
      expect(half).toBeGreaterThan(0);
      expect(half).toBeLessThan(e);
    }
  });

  it('θ is bit-exact over wide magnitudes (integer sqrt and division), including θ strictly inside (½, 1)', async () => {
    const g = gpu();
    const [nodes, e, d] = [2000, 60_000, 3];
    const r = rng(77);
    const scale = () => 2 ** Math.floor(-40 + 80 * r());
    const x = Float32Array.from({ length: nodes * d }, () => (r() - 0.5) * scale());
    const u = Float32Array.from({ length: 2 * e * d }, () => (r() - 0.5) * scale() * 1e-3);
    const edges = randomEdges(nodes, e, 78);
    const p: Problem = { nodes, d, x, u, edges, weights: new Float32Array(e) };
    const [lambda, rho] = [0.7, 2.5];
    // Half the edges get weights that put θ in (½, 1); the others span 2^±30.
    for (let k = 0; k < e; k++) {
      const dist = Math.sqrt(admmSquaredDistanceF32(...edgeEnds(p, k)));
      p.weights[k] = k % 2 === 0 ? ((rho / lambda) * dist * 0.5 * r()) : 2 ** (-30 + 60 * r());
    }
    const { theta } = await runZUpdate(g, p, lambda, rho);
    const lor = admmLambdaOverRho({ lambda, rho });
    expectThetaBits(theta, (k) => admmThetaF32(admmSquaredDistanceF32(...edgeEnds(p, k)), lor, p.weights[k]), 'θ');
    const inside = Array.from(theta).filter((t) => t > 0.5 && t < 1).length;
    expect(inside).toBeGreaterThan(e / 3);
  });

  it('the integer sqrt and division behind θ are correctly rounded (random float32 bit patterns)', async () => {
    const g = gpu();
    const n = 200_000;
    const r = rng(90);
    // Positive finite float32s of every exponent, subnormals included.
    const positive = () => {
      const f = new Float32Array(new Uint32Array([Math.floor(r() * 0x7f800000)]).buffer)[0];
      return f === 0 ? 1 : f;
    };
    const a = Float32Array.from({ length: n }, positive);
    const b = Float32Array.from({ length: n }, positive);
    // Ties and near-ties of the division: b = a·(1 ± tiny), and exact squares for sqrt.
    for (let i = 0; i < 1000; i++) {
      b[i] = Math.fround(a[i] * (1 + (i - 500) * 2 ** -23));
      a[1000 + i] = Math.fround(Math.fround(1 + i * 2 ** -12) ** 2);
    }
    const specials = [0, Infinity, NaN];
    a.set(specials, n - 3);
    const [ba, bb, bout] = [g.upload(a), g.upload(b), g.createBuffer(2 * n * 4)];
    const step = g.beginStep();
    step.dispatch(admmKernels.roundingCheck, { copies: n, d: 1, x_off: 0, in_off: 0, owners_off: 0, out_off: 0 }, [ba, bb, bout], [Math.ceil(n / 256), 1]);
    step.submit();
    const out = await g.readF32(bout);
    let bad = 0;
    let report = '';
    for (let i = 0; i < n; i++) {
      const sq = Math.fround(Math.sqrt(a[i]));
      let q = Math.fround(a[i] / b[i]);
      if (q !== 0 && Math.abs(q) < 2 ** -126) q = 0; // the kernel flushes a subnormal quotient (θ is 1 either way)
      if (!Object.is(out[2 * i], sq) || !Object.is(out[2 * i + 1], q)) {
        if (bad++ === 0) report = `a=${a[i]} b=${b[i]}: sqrt ${out[2 * i]} vs ${sq}, div ${out[2 * i + 1]} vs ${q}`;
      }
    }
    expect(bad, report).toBe(0);
  });

  it('both ends of an edge get the same θ from the exchanged messages (decentralized form)', async () => {
    const g = gpu();
    const p = problem(300, 2001, 7, 30);
    const e = p.weights.length;
    const d = p.d;
    const penalty = { lambda: 0.5, rho: 1 };
    const [bx, bu, be] = [g.upload(p.x), g.upload(p.u), g.upload(p.edges)];
    // Every directed copy's message m_c = x_owner(c) + u_c; the batched edge table is the owner table.
    const bm = g.createBuffer(2 * e * d * 4);
    let step = g.beginStep();
    admmEdgeMessages(step, { x: bx, u: bu, owners: be, messages: bm, dim: d });
    step.submit();
    const messages = await g.readF32(bm);
    expectAllClose(messages, ref.edgeMessages(p.x, p.u, p.edges, d), { atol: U, rtol: U }, 'messages');
    // Worker A holds copies (i → j), worker B copies (j → i); each receives the other's message.
    const rowsOf = (parity: number) => {
      const out = new Float32Array(e * d);
      for (let k = 0; k < e; k++) out.set(messages.subarray((2 * k + parity) * d, (2 * k + parity + 1) * d), k * d);
      return out;
    };
    const [mA, mB] = [rowsOf(0), rowsOf(1)];
    const bw = g.upload(p.weights);
    const [bA, bB, bzA, bzB, btA, btB] = [g.upload(mA), g.upload(mB), g.createBuffer(e * d * 4), g.createBuffer(e * d * 4), g.createBuffer(e * 4), g.createBuffer(e * 4)];
    const [bzBatch, btBatch] = [g.createBuffer(2 * e * d * 4), g.createBuffer(e * 4)];
    step = g.beginStep();
    admmZUpdateFromMessages(step, { own: bA, received: bB, weights: bw, z: bzA, theta: btA, dim: d }, penalty);
    admmZUpdateFromMessages(step, { own: bB, received: bA, weights: bw, z: bzB, theta: btB, dim: d }, penalty);
    admmZUpdate(step, { x: bx, u: bu, z: bzBatch, theta: btBatch, edges: be, weights: bw, dim: d }, penalty);
    step.submit();
    const [thetaA, thetaB, thetaBatch] = await Promise.all([btA, btB, btBatch].map((b) => g.readF32(b)));
    expectThetaBits(thetaA, (k) => thetaB[k], 'θ at i vs θ at j');
    expectThetaBits(thetaA, (k) => thetaBatch[k], 'decentralized θ vs batched θ');
    const want = ref.zUpdateFromMessages(mA, mB, p.weights, d, penalty.lambda, penalty.rho);
    expectAllClose(await g.readF32(bzA), want.z, zTol(d), 'z_ij');
    const zBatch = await g.readF32(bzBatch);
    const zB = await g.readF32(bzB);
    // z_ji from worker B equals the batched kernel's copy 2e + 1 up to rounding.
    expectAllClose(zB, rowsOfArray(zBatch, e, d, 1), { atol: 4 * U, rtol: 4 * U }, 'z_ji');
  });

  it('θ = ½ exactly on consensus (a = b, or λ large) with z_ij = z_ji bit for bit; θ → 1 as λ → 0', async () => {
    const g = gpu();
    const d = 5;
    const p = problem(50, 301, d, 40);
    // a = b exactly: every node equal and all duals zero.
    const same: Problem = { ...p, x: Float32Array.from(p.x, (_, i) => p.x[i % d]), u: new Float32Array(p.u.length) };
    for (const [prob, lambda] of [
      [same, 0.1],
      [same, 0],
      [p, 1e6],
    ] as const) {
      const { z, theta } = await runZUpdate(g, prob, lambda, 1);
      expect(Array.from(theta).every((t) => t === 0.5)).toBe(true);
      for (let k = 0; k < theta.length; k++) {
        for (let t = 0; t < d; t++) expect(z[2 * k * d + t]).toBe(z[(2 * k + 1) * d + t]);
      }
    }
    const tiny = await runZUpdate(g, p, 1e-12, 1);
    expect(Math.min(...tiny.theta)).toBeGreaterThan(1 - 1e-6);
    const zero = await runZUpdate(g, p, 0, 1);
    expect(Array.from(zero.theta).every((t) => t === 1)).toBe(true);
    // θ = 1: z_ij = a and z_ji = b exactly.
    for (let k = 0; k < 301; k++) {
      const [a, b] = edgeEnds(p, k);
      expect(Array.from(zero.z.subarray(2 * k * d, (2 * k + 1) * d))).toEqual(Array.from(a));
      expect(Array.from(zero.z.subarray((2 * k + 1) * d, (2 * k + 2) * d))).toEqual(Array.from(b));
    }
  });

  it.each([
    { e: 1, d: 1 },
    { e: 613, d: 11 },
    { e: 50_021, d: 10 },
  ])('u-update over all directed copies matches float64 (E=$e, d=$d)', async ({ e, d }) => {
    const g = gpu();
    const p = problem(Math.max(2, e >> 2), e, d, 50);
    const z = uniform(2 * e * d, 51);
    const [bx, bz, be, bu] = [g.upload(p.x), g.upload(z), g.upload(p.edges), g.upload(p.u)];
    const step = g.beginStep();
    admmUUpdate(step, { x: bx, z: bz, owners: be, u: bu, dim: d });
    step.submit();
    // Two roundings of values ≤ 2.2 in magnitude.
    expectAllClose(await g.readF32(bu), ref.uUpdate(p.x, z, p.u, p.edges, d), { atol: 2 * 2.2 * U, rtol: 0 }, 'u');
  });

  it('works on spans of larger buffers (offsets for every operand)', async () => {
    const g = gpu();
    const [nodes, e, d] = [20, 33, 4];
    const p = problem(nodes, e, d, 60);
    const pad = (a: ArrayLike<number>, off: number, Ctor: Float32ArrayConstructor | Uint32ArrayConstructor) => {
      const out = new Ctor(off + a.length + 5);
      out.set(Array.from(a), off);
      return out;
    };
    const [xo, uo, eo, wo, zo, to] = [3, 7, 11, 2, 9, 5];
    const bx = g.upload(pad(p.x, xo, Float32Array));
    const bu = g.upload(pad(p.u, uo, Float32Array));
    const be = g.upload(pad(p.edges, eo, Uint32Array));
    const bw = g.upload(pad(p.weights, wo, Float32Array));
    const bz = g.createBuffer((zo + 2 * e * d + 5) * 4);
    const bt = g.createBuffer((to + e + 5) * 4);
    const penalty = { lambda: 0.4, rho: 1 };
    const step = g.beginStep();
    admmZUpdate(
      step,
      {
        x: span(bx, xo, nodes * d),
        u: span(bu, uo, 2 * e * d),
        z: span(bz, zo, 2 * e * d),
        theta: span(bt, to, e),
        edges: span(be, eo, 2 * e),
        weights: span(bw, wo, e),
        dim: d,
      },
      penalty,
    );
    step.submit();
    const want = ref.zUpdate(p.x, p.u, p.edges, p.weights, d, penalty.lambda, penalty.rho);
    expectAllClose(await g.readF32(bz, zo, 2 * e * d), want.z, zTol(d), 'z');
    expectAllClose(await g.readF32(bt, to, e), want.theta, thetaTol(d), 'θ');
  });

  it('admmThetaF32 follows the formula and its guards', () => {
    expect(admmThetaF32(0, 1, 1)).toBe(0.5);
    expect(admmThetaF32(4, 0.5, 1)).toBe(0.75); // 1 − 0.5/2
    expect(admmThetaF32(4, 10, 1)).toBe(0.5);
    expect(admmThetaF32(Infinity, 1, 1)).toBe(1);
    expect(Number.isNaN(admmThetaF32(NaN, 1, 1))).toBe(true);
    expect(admmSquaredDistanceF32([1, 2, 3], [1, 0, 0])).toBe(13);
    expect(admmLambdaOverRho({ lambda: 1, rho: 3 })).toBe(Math.fround(1 / 3));
    expect(() => admmLambdaOverRho({ lambda: 1, rho: 0 })).toThrow(/ρ/);
  });

  it('rejects inconsistent lengths and aliasing', () => {
    const g = gpu();
    const step = g.beginStep();
    const [x, u, z, t, e, w] = [g.createBuffer(4 * 12), g.createBuffer(4 * 24), g.createBuffer(4 * 24), g.createBuffer(4 * 4), g.createBuffer(4 * 8), g.createBuffer(4 * 4)];
    expect(() => admmZUpdate(step, { x, u, z, theta: t, edges: e, weights: w, dim: 4 }, { lambda: 1, rho: 1 })).toThrow(/u has 24 elements, expected 32/);
    expect(() => admmZUpdate(step, { x, u, z, theta: t, edges: e, weights: w, dim: 5 }, { lambda: 1, rho: 1 })).toThrow(/expected/);
    expect(() => admmUUpdate(step, { x, z: span(u, 0, 12), owners: span(e, 0, 4), u: span(u, 12, 12), dim: 3 })).toThrow(/buffer/);
    expect(() => admmUUpdate(step, { x, z, owners: e, u, dim: 0 })).toThrow(/dim/);
    step.submit();
  });

  it('a steady-state ADMM iteration creates no GPU buffers', async () => {
    const g = gpu();
    const p = problem(100, 400, 6, 70);
    const e = p.weights.length;
    const [bx, bu, be, bw] = [g.upload(p.x), g.upload(p.u), g.upload(p.edges), g.upload(p.weights)];
    const [bz, bt, bm] = [g.createBuffer(2 * e * p.d * 4), g.createBuffer(e * 4), g.createBuffer(2 * e * p.d * 4)];
    const run = async () => {
      const step = g.beginStep();
      admmEdgeMessages(step, { x: bx, u: bu, owners: be, messages: bm, dim: p.d });
      admmZUpdate(step, { x: bx, u: bu, z: bz, theta: bt, edges: be, weights: bw, dim: p.d }, { lambda: 0.2, rho: 1 });
      admmUUpdate(step, { x: bx, z: bz, owners: be, u: bu, dim: p.d });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});

/** Rows of parity `parity` (0: copies 2e, 1: copies 2e + 1) of a [2E × d] array, as [E × d]. */
function rowsOfArray(a: Float32Array, e: number, d: number, parity: number): Float32Array {
  const out = new Float32Array(e * d);
  for (let k = 0; k < e; k++) out.set(a.subarray((2 * k + parity) * d, (2 * k + parity + 1) * d), k * d);
  return out;
}
