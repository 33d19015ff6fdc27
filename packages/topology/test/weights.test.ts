import { describe, expect, it } from 'vitest';
import {
  applyMixing,
  checkMixing,
  complete,
  denseMatrix,
  erdosRenyi,
  exponential,
  exponentialWeights,
  graphFromEdges,
  isDoublyStochastic,
  kernelWeights,
  metropolisHastings,
  mixingFromDense,
  mixingFromEntries,
  randomRegular,
  ring,
  torus,
  type MixingWeights,
} from '@gossamer/topology';
import { expectAllClose, normal } from '../../../test/support/numeric.js';

function expectSymmetricDoublyStochastic(m: MixingWeights): void {
  const c = checkMixing(m);
  expect(c.rowSumError).toBeLessThan(1e-14);
  expect(c.colSumError).toBeLessThan(1e-14);
  expect(c.asymmetry).toBe(0);
  expect(c.minEntry).toBeGreaterThanOrEqual(0);
  expect(m.symmetric).toBe(true);
  expect(isDoublyStochastic(m)).toBe(true);
  // send lists mirror recv lists for symmetric W
  m.nodes.forEach((node) => expect(node.send).toEqual(node.recv));
}

describe('Metropolis–Hastings weights', () => {
  it('ring: 1/3 everywhere', () => {
    const m = metropolisHastings(ring(16));
    expectSymmetricDoublyStochastic(m);
    for (const node of m.nodes) {
      expect(node.self).toBeCloseTo(1 / 3, 15);
      expect(node.recv.map((e) => e.w)).toEqual([1 / 3, 1 / 3]);
    }
    expect(m.nodes[0].recv.map((e) => e.peer)).toEqual([1, 15]);
    expect(Array.from(kernelWeights(m.nodes[0]))).toEqual([m.nodes[0].self, 1 / 3, 1 / 3]);
  });

  it('4×4 torus: 1/5 everywhere', () => {
    const m = metropolisHastings(torus(4, 4));
    expectSymmetricDoublyStochastic(m);
    for (const node of m.nodes) {
      expect(node.self).toBeCloseTo(1 / 5, 15);
      expect(node.recv).toHaveLength(4);
      for (const e of node.recv) expect(e.w).toBe(1 / 5);
    }
  });

  it('irregular graphs: W_ij = 1/(1 + max(d_i, d_j)), symmetric, doubly stochastic', () => {
    // A star plus a tail: degrees 4, 1, 1, 1, 2, 1.
    const g = graphFromEdges([
      [0, 1],
      [0, 2],
      [0, 3],
      [0, 4],
      [4, 5],
    ]);
    const m = metropolisHastings(g);
    expectSymmetricDoublyStochastic(m);
    const W = denseMatrix(m);
    expect(W[0][1]).toBe(1 / 5);
    expect(W[4][5]).toBe(1 / 3);
    expect(W[0][0]).toBeCloseTo(1 - 4 / 5, 15);
    expect(W[5][5]).toBeCloseTo(2 / 3, 15);
    expect(W[4][4]).toBeCloseTo(1 - 1 / 5 - 1 / 3, 15);
    for (const h of [erdosRenyi(50, 0.1, { seed: 1 }), randomRegular(30, 5, { seed: 2 }), complete(7), exponential(20)]) {
      expectSymmetricDoublyStochastic(metropolisHastings(h));
    }
  });

  it('mixing preserves the network mean (float64 reference of the mixing kernel)', () => {
    const g = erdosRenyi(40, 0.15, { seed: 3 });
    const m = metropolisHastings(g);
    const x = Array.from({ length: g.n }, (_, i) => normal(8, 100 + i));
    const y = applyMixing(m, x);
    const mean = (v: ArrayLike<number>[]): number[] =>
      Array.from({ length: 8 }, (_, t) => v.reduce((s, r) => s + r[t], 0) / v.length);
    expectAllClose(mean(y), mean(x), { atol: 1e-12, rtol: 0 }, 'mixed mean');
    // y_i is exactly the documented formula.
    const node = m.nodes[5];
    const expect5 = Array.from({ length: 8 }, (_, t) => node.self * x[5][t] + node.recv.reduce((s, e) => s + e.w * x[e.peer][t], 0));
    expectAllClose(y[5], expect5, { atol: 1e-15, rtol: 0 }, 'y_5');
  });
});

describe('exponential-graph weights (Ying et al.)', () => {
  it('directed: 1/(τ+1) on self and i + 2^k; doubly stochastic, not symmetric', () => {
    const m = exponentialWeights(16, { directed: true });
    const c = checkMixing(m);
    expect(c.rowSumError).toBeLessThan(1e-15);
    expect(c.colSumError).toBeLessThan(1e-15);
    expect(m.symmetric).toBe(false);
    expect(m.nodes[0].self).toBe(1 / 5);
    expect(m.nodes[0].recv).toEqual([1, 2, 4, 8].map((peer) => ({ peer, w: 1 / 5 })));
    expect(m.nodes[0].send).toEqual([8, 12, 14, 15].map((peer) => ({ peer, w: 1 / 5 })));
  });

  it('symmetric: (W + Wᵀ)/2 on the undirected exponential graph', () => {
    const m = exponentialWeights(16);
    expectSymmetricDoublyStochastic(m);
    const W = denseMatrix(m);
    expect(W[0][0]).toBe(1 / 5);
    expect(W[0][1]).toBe(1 / 10);
    expect(W[0][15]).toBe(1 / 10);
    expect(W[0][8]).toBe(1 / 5); // +8 and −8 coincide
    // Support = the exponential graph.
    const g = exponential(16);
    m.nodes.forEach((node, i) => expect(node.recv.map((e) => e.peer)).toEqual(g.neighbors[i]));
    expectSymmetricDoublyStochastic(exponentialWeights(12));
  });
});

describe('generic constructors', () => {
  it('mixingFromEntries sums repeated entries; mixingFromDense round-trips', () => {
    const m = mixingFromEntries('t', 3, [
      { i: 0, j: 0, w: 0.5 },
      { i: 0, j: 1, w: 0.25 },
      { i: 0, j: 1, w: 0.25 },
      { i: 1, j: 1, w: 1 },
      { i: 2, j: 2, w: 1 },
    ]);
    expect(m.nodes[0].recv).toEqual([{ peer: 1, w: 0.5 }]);
    expect(m.nodes[1].send).toEqual([{ peer: 0, w: 0.5 }]);
    const c = checkMixing(m);
    expect(c.rowSumError).toBe(0);
    expect(c.colSumError).toBeCloseTo(0.5, 15);
    expect(isDoublyStochastic(m)).toBe(false);
    const back = mixingFromDense('t2', denseMatrix(m));
    expect(denseMatrix(back)).toEqual(denseMatrix(m));
    expect(() => mixingFromEntries('bad', 2, [{ i: 0, j: 2, w: 1 }])).toThrow(/out of range/);
  });
});
