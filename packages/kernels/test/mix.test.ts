import { describe, expect, it } from 'vitest';
import { mixingWeights, mixNeighbours, pushSumDebias, pushSumLength, reference, span } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, rng, uniform } from '../../../test/support/numeric.js';

// x, r ∈ [−1, 1) and weights summing to 1: every partial sum is ≤ 1 in magnitude, and the kernel
// rounds once per term (fma), so |error| ≤ (K + 1)·2^-24; allow twice that.
const tolFor = (k: number) => ({ atol: 2 * (k + 1) * 2 ** -24, rtol: 0 });

/** K positive weights plus a self weight, summing to 1 (float32). */
function randomWeights(k: number, seed: number): Float32Array {
  const r = rng(seed);
  const raw = Array.from({ length: k + 1 }, () => 0.2 + r());
  const sum = raw.reduce((a, b) => a + b, 0);
  return mixingWeights(raw[0] / sum, raw.slice(1).map((v) => v / sum));
}

/** A connected undirected graph on r nodes (a ring plus chords) with Metropolis–Hastings weights. */
function metropolisGraph(r: number, seed: number): { neighbours: number[][]; weights: Float32Array[] } {
  const adj = Array.from({ length: r }, () => new Set<number>());
  const link = (a: number, b: number) => {
    if (a !== b) {
      adj[a].add(b);
      adj[b].add(a);
    }
  };
  for (let i = 0; i < r; i++) link(i, (i + 1) % r);
  const rand = rng(seed);
  for (let c = 0; c < r; c++) link(Math.floor(rand() * r), Math.floor(rand() * r));
  const neighbours = adj.map((s) => [...s].sort((a, b) => a - b));
  // w_ij = 1/(1 + max(deg_i, deg_j)) is symmetric, so W is doubly stochastic up to the float32
  // rounding of the self weights.
  const weights = neighbours.map((ns, i) => {
    const w = ns.map((j) => Math.fround(1 / (1 + Math.max(ns.length, neighbours[j].length))));
    return mixingWeights(1 - w.reduce((a, b) => a + b, 0), w);
  });
  return { neighbours, weights };
}

describe('gossip mixing kernels', () => {
  const gpu = useGpu();

  const cases = [1, 2, 7, 64].flatMap((k) => [1, 257, 4099].map((n) => ({ k, n })));
  it.each(cases)('mixNeighbours matches the float64 reference for K=$k, n=$n (in place and into out)', async ({ k, n }) => {
    const g = gpu();
    const x = uniform(n, 1);
    const received = uniform(k * n, 2);
    const w = randomWeights(k, 3 + k);
    const [bx, bx2, br, bw, bout] = [g.upload(x), g.upload(x), g.upload(received), g.upload(w), g.createBuffer(n * 4)];
    const step = g.beginStep();
    mixNeighbours(step, { x: bx, received: br, count: k, weights: bw });
    mixNeighbours(step, { x: bx2, received: br, count: k, weights: bw, out: bout });
    step.submit();
    const want = reference.mix.mixNeighbours(x, received, k, w);
    expectAllClose(await g.readF32(bx), want, tolFor(k), 'in place');
    expectAllClose(await g.readF32(bout), want, tolFor(k), 'into out');
    expectAllClose(await g.readF32(bx2), x, { atol: 0, rtol: 0 }, 'x untouched by the out-of-place mix');
  });

  it('mixes 1,000,003 floats from 7 neighbours in one dispatch', async () => {
    const g = gpu();
    const [n, k] = [1_000_003, 7];
    const x = uniform(n, 4);
    const received = uniform(k * n, 5);
    const w = randomWeights(k, 6);
    const [bx, br, bw] = [g.upload(x), g.upload(received), g.upload(w)];
    const step = g.beginStep();
    mixNeighbours(step, { x: bx, received: br, count: k, weights: bw });
    step.submit();
    expect(step.dispatches).toBe(1);
    expectAllClose(await g.readF32(bx), reference.mix.mixNeighbours(x, received, k, w), tolFor(k), 'large');
  });

  it('respects spans: x segment, padded staging rows (stride > n), weight offset, spare staging rows', async () => {
    const g = gpu();
    const [n, k, stride, rOff, wOff, xOff] = [301, 5, 320, 17, 3, 50];
    const flat = uniform(1000, 7);
    const staging = uniform(rOff + 8 * stride, 8); // room for 8 vectors, 5 arrived
    const w = randomWeights(k, 9);
    const wBuf = new Float32Array(wOff + k + 1 + 4);
    wBuf.set(w, wOff);
    const [bx, br, bw] = [g.upload(flat), g.upload(staging), g.upload(wBuf)];
    const step = g.beginStep();
    mixNeighbours(step, { x: span(bx, xOff, n), received: span(br, rOff), count: k, stride, weights: span(bw, wOff, k + 1) });
    step.submit();
    const want = Float64Array.from(flat);
    want.set(reference.mix.mixNeighbours(flat.subarray(xOff, xOff + n), staging.subarray(rOff), k, w, stride), xOff);
    expectAllClose(await g.readF32(bx), want, tolFor(k), 'segment');
  });

  it('preserves the mean over replicas with doubly-stochastic (Metropolis–Hastings) weights and converges to it', async () => {
    const g = gpu();
    const [replicas, n, rounds] = [12, 129, 60];
    const { neighbours, weights } = metropolisGraph(replicas, 10);
    const init = Array.from({ length: replicas }, (_, i) => uniform(n, 100 + i, -1 + i / 6, 1 + i / 6));
    const sumOf = (vs: ArrayLike<number>[]) => Float64Array.from({ length: n }, (_, t) => vs.reduce((a, v) => a + v[t], 0));
    const initialSum = sumOf(init);
    let cur = init.map((v) => g.upload(v));
    let next = init.map(() => g.createBuffer(n * 4));
    const staging = neighbours.map((ns) => g.createBuffer(ns.length * n * 4));
    const wbufs = weights.map((w) => g.upload(w));
    // Per replica and round: (deg + 1) roundings of partial sums ≤ 3 in magnitude, plus W's column
    // sums off 1 by the float32 rounding of the self weights (≤ 2^-24 each); twice that, over replicas.
    const maxDeg = Math.max(...neighbours.map((ns) => ns.length));
    const tolAfter = (round: number) => ({ atol: 2 * replicas * (maxDeg + 2) * 3 * 2 ** -24 * round, rtol: 0 });
    for (let round = 1; round <= rounds; round++) {
      const step = g.beginStep();
      // What the network does: neighbours' vectors land stacked in each replica's staging buffer.
      neighbours.forEach((ns, i) => ns.forEach((j, slot) => step.copy(cur[j], 0, staging[i], slot * n * 4, n * 4)));
      neighbours.forEach((ns, i) => mixNeighbours(step, { x: cur[i], received: staging[i], count: ns.length, weights: wbufs[i], out: next[i] }));
      step.submit();
      [cur, next] = [next, cur];
      if (round === 1 || round === rounds) {
        const got = await Promise.all(cur.map((b) => g.readF32(b)));
        expectAllClose(sumOf(got), initialSum, tolAfter(round), `Σ over replicas after round ${round}`);
        if (round === rounds) {
          const mean = initialSum.map((s) => s / replicas);
          for (const v of got) expectAllClose(v, mean, { atol: 1e-4, rtol: 0 }, 'consensus');
        }
      }
    }
  });

  it('push-sum: x and its weight mixed alike (column-stochastic), sums preserved, debiased values reach the mean', async () => {
    const g = gpu();
    const [replicas, n, rounds] = [8, 17, 80];
    // Directed graph: i → i+1 and i → i+3 (strongly connected, not symmetric). Sender i keeps and
    // sends share p_i = 1/(outdeg + 1): columns of P sum to 1, so Σ x and Σ w are preserved.
    const out = Array.from({ length: replicas }, (_, i) => [(i + 1) % replicas, (i + 3) % replicas]);
    const share = Math.fround(1 / 3);
    const incoming = Array.from({ length: replicas }, (_, j) => out.flatMap((ts, i) => (ts.includes(j) ? [i] : [])));
    const m = pushSumLength(n);
    const init = Array.from({ length: replicas }, (_, i) => {
      const s = new Float32Array(m);
      s.set(uniform(n, 200 + i, i - 4, i - 2));
      s[n] = 1;
      return s;
    });
    const mean = Float64Array.from({ length: n }, (_, t) => init.reduce((a, v) => a + v[t], 0) / replicas);
    let cur = init.map((v) => g.upload(v));
    let next = init.map(() => g.createBuffer(m * 4));
    const staging = incoming.map((ins) => g.createBuffer(ins.length * m * 4));
    const wbufs = incoming.map((ins) => g.upload(mixingWeights(share, ins.map(() => share))));
    for (let round = 0; round < rounds; round++) {
      const step = g.beginStep();
      incoming.forEach((ins, j) => ins.forEach((i, slot) => step.copy(cur[i], 0, staging[j], slot * m * 4, m * 4)));
      incoming.forEach((ins, j) => mixNeighbours(step, { x: cur[j], received: staging[j], count: ins.length, weights: wbufs[j], out: next[j] }));
      step.submit();
      [cur, next] = [next, cur];
    }
    const states = await Promise.all(cur.map((b) => g.readF32(b)));
    // 1/3 is not exact in float32: columns sum to 3·fround(1/3) = 1 − 2^-25·…, a relative drift of
    // ~1e-8 per round.
    const weightSum = states.reduce((a, s) => a + s[n], 0);
    expect(Math.abs(weightSum - replicas)).toBeLessThan(1e-4);
    const debiased = cur.map(() => g.createBuffer(n * 4));
    const step = g.beginStep();
    cur.forEach((b, i) => pushSumDebias(step, b, debiased[i]));
    step.submit();
    for (let i = 0; i < replicas; i++) {
      const z = await g.readF32(debiased[i]);
      expectAllClose(z, reference.mix.pushSumDebias(states[i]), { atol: 1e-6, rtol: 1e-6 }, 'debias kernel');
      expectAllClose(z, mean, { atol: 1e-4, rtol: 1e-5 }, `replica ${i} reaches the mean`);
    }
  });

  it('rejects short staging, missing weights, bad strides and aliasing', () => {
    const g = gpu();
    const [x, r, w] = [g.createBuffer(40), g.createBuffer(40 * 3), g.createBuffer(16)];
    const step = g.beginStep();
    expect(() => mixNeighbours(step, { x, received: r, count: 4, weights: w })).toThrow(/received span/);
    expect(() => mixNeighbours(step, { x, received: r, count: 3, weights: span(w, 0, 3) })).toThrow(/weights/);
    expect(() => mixNeighbours(step, { x, received: r, count: 2, stride: 5, weights: w })).toThrow(/stride/);
    expect(() => mixNeighbours(step, { x: span(r, 0, 10), received: span(r, 10, 20), count: 2, weights: w })).toThrow(/buffer/);
    expect(() => pushSumDebias(step, x, span(g.createBuffer(40), 0, 10))).toThrow(/out of 9/);
    step.submit();
  });

  it('a steady-state mixing step creates no GPU buffers', async () => {
    const g = gpu();
    const [n, k] = [5000, 9];
    const [bx, br, bw, bout] = [g.upload(uniform(n, 11)), g.upload(uniform(k * n, 12)), g.upload(randomWeights(k, 13)), g.createBuffer(n * 4)];
    const run = async () => {
      const step = g.beginStep();
      mixNeighbours(step, { x: bx, received: br, count: k, weights: bw, out: bout });
      mixNeighbours(step, { x: bx, received: br, count: k, weights: bw });
      step.submit();
      await g.sync();
    };
    await expectSteadyStateAllocatesNothing(g, run);
  });
});
