import { describe, expect, it } from 'vitest';
import {
  applyMixing,
  checkMixing,
  denseMatrix,
  isPowerOfTwo,
  multiplyDense,
  onePeerExponential,
  onePeerHypercube,
  onePeerOffset,
  pushSum,
  randomMatching,
  randomPairwise,
  ring,
  torus,
  type MixingSchedule,
  type MixingWeights,
} from '@gossamer/topology';
import { expectAllClose, normal } from '../../../test/support/numeric.js';

/** Product W(k0+len−1)···W(k0) (the map applied by len consecutive steps). */
function product(s: MixingSchedule, k0: number, len: number): Float64Array[] {
  let acc = denseMatrix(s.at(k0));
  for (let k = k0 + 1; k < k0 + len; k++) acc = multiplyDense(denseMatrix(s.at(k)), acc);
  return acc;
}

/** Per-node views agree with the full matrix, and send/recv lists are consistent with each other. */
function checkNodeViews(s: MixingSchedule, steps: number[]): void {
  for (const k of steps) {
    const m = s.at(k);
    for (let i = 0; i < s.n; i++) {
      const v = s.node(k, i);
      expect(v).toEqual(m.nodes[i]);
      for (const { peer, w } of v.recv) expect(m.nodes[peer].send).toContainEqual({ peer: i, w });
    }
  }
}

/** Simulates workers exchanging messages: each sends x_i to its `send` peers, mixes what it receives. */
function simulateExchange(m: MixingWeights, x: Float64Array[]): Float64Array[] {
  const inbox = new Map<number, Map<number, Float64Array>>();
  m.nodes.forEach((node, i) => {
    for (const { peer } of node.send) {
      if (!inbox.has(peer)) inbox.set(peer, new Map());
      inbox.get(peer)!.set(i, x[i]);
    }
  });
  return m.nodes.map((node, i) => {
    const y = x[i].map((v) => node.self * v);
    for (const { peer, w } of node.recv) {
      const msg = inbox.get(i)?.get(peer);
      if (!msg) throw new Error(`node ${i} expected a message from ${peer}`);
      for (let t = 0; t < y.length; t++) y[t] += w * msg[t];
    }
    return y;
  });
}

describe('one-peer exponential graph', () => {
  it('step k: node i receives from i + 2^(k mod τ) and sends to i − 2^(k mod τ), weights ½', () => {
    const s = onePeerExponential(16);
    expect(s.period).toBe(4);
    expect([0, 1, 2, 3, 4, 5, 7, 8].map((k) => onePeerOffset(16, k))).toEqual([1, 2, 4, 8, 1, 2, 8, 1]);
    const node = s.node(1, 3);
    expect(node).toEqual({ self: 0.5, recv: [{ peer: 5, w: 0.5 }], send: [{ peer: 1, w: 0.5 }] });
    // Offset n/2: a symmetric pairing.
    expect(s.node(3, 3)).toEqual({ self: 0.5, recv: [{ peer: 11, w: 0.5 }], send: [{ peer: 11, w: 0.5 }] });
    const w = s.at(2);
    const c = checkMixing(w);
    expect(c.rowSumError).toBe(0);
    expect(c.colSumError).toBe(0);
    expect(w.symmetric).toBe(false);
    checkNodeViews(s, [0, 1, 2, 3, 6]);
  });

  it('for n a power of two, any τ consecutive steps multiply to exactly 11ᵀ/n (bit-exact in float64)', () => {
    for (const n of [2, 4, 8, 16, 32, 64]) {
      const s = onePeerExponential(n);
      expect(s.exactAveraging).toBe(true);
      const tau = Math.log2(n);
      for (const k0 of [0, 1, tau - 1, 5 * tau + 2, 1000]) {
        const p = product(s, k0, tau);
        for (const row of p) for (const x of row) expect(x).toBe(1 / n);
      }
      // One step fewer is not yet the average (n ≥ 4).
      if (n >= 4) expect(product(s, 0, tau - 1).some((row) => row.some((x) => x !== 1 / n))).toBe(true);
    }
  });

  it('τ rounds of message passing give every worker exactly the average of the vectors', () => {
    const n = 16;
    const s = onePeerExponential(n);
    // Dyadic inputs (integers) keep every intermediate exact.
    let x: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from([i, 3 * i * i, -7 * i + 5]));
    const mean = [0, 1, 2].map((t) => x.reduce((acc, v) => acc + v[t], 0) / n);
    for (let k = 0; k < 4; k++) x = simulateExchange(s.at(k), x);
    for (const v of x) expect(Array.from(v)).toEqual(mean);
  });

  it('other n: period ⌈log₂ n⌉, exact averaging not claimed', () => {
    const s = onePeerExponential(12);
    expect(s.period).toBe(4);
    expect(s.exactAveraging).toBe(false);
    expect(product(s, 0, 4).some((row) => row.some((x) => Math.abs(x - 1 / 12) > 1e-3))).toBe(true);
    expect(onePeerExponential(1).at(0).nodes[0]).toEqual({ self: 1, recv: [], send: [] });
  });
});

describe('one-peer hypercube (symmetric variant)', () => {
  it('symmetric pairing i XOR 2^(k mod τ); τ steps multiply to exactly 11ᵀ/n', () => {
    const s = onePeerHypercube(32);
    const w = s.at(2);
    expect(w.symmetric).toBe(true);
    expect(s.node(2, 5)).toEqual({ self: 0.5, recv: [{ peer: 1, w: 0.5 }], send: [{ peer: 1, w: 0.5 }] });
    for (const k0 of [0, 3, 17]) for (const row of product(s, k0, 5)) for (const x of row) expect(x).toBe(1 / 32);
    checkNodeViews(s, [0, 4]);
    expect(() => onePeerHypercube(12)).toThrow(/power of two/);
    expect(isPowerOfTwo(64)).toBe(true);
    expect(isPowerOfTwo(48)).toBe(false);
  });
});

describe('symmetric random pairwise gossip', () => {
  it('matchings are symmetric and identical on every worker for the same (seed, round)', () => {
    const n = 16;
    for (let round = 0; round < 50; round++) {
      const reference = randomMatching(n, { r: 0.5, seed: 77, round });
      for (let i = 0; i < n; i++) {
        const p = reference[i];
        if (p >= 0) expect(reference[p]).toBe(i);
        expect(p).not.toBe(i);
      }
      // "Each worker" recomputes the matching on its own (fresh schedule objects): same pairs.
      for (let worker = 0; worker < 4; worker++) {
        const mine = randomPairwise(n, { r: 0.5, seed: 77 }).matching(round);
        expect(Array.from(mine)).toEqual(Array.from(reference));
      }
    }
    const a = Array.from(randomMatching(n, { r: 0.5, seed: 77, round: 1 }));
    const b = Array.from(randomMatching(n, { r: 0.5, seed: 77, round: 2 }));
    const c = Array.from(randomMatching(n, { r: 0.5, seed: 78, round: 1 }));
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('each node communicates with probability r (constant(r) schedule)', () => {
    const n = 16;
    const rounds = 3000;
    for (const r of [0.2, 0.7]) {
      let paired = 0;
      for (let round = 0; round < rounds; round++) for (const p of randomMatching(n, { r, seed: 5, round })) if (p >= 0) paired++;
      const rate = paired / (n * rounds);
      expect(Math.abs(rate - r)).toBeLessThan(0.02);
    }
    expect(Array.from(randomMatching(8, { r: 0, seed: 1, round: 0 }))).toEqual(new Array(8).fill(-1));
    expect(Array.from(randomMatching(8, { r: 1, seed: 1, round: 0 })).every((p) => p >= 0)).toBe(true);
    expect(Array.from(randomMatching(7, { r: 1, seed: 1, round: 0 })).filter((p) => p < 0)).toHaveLength(1);
    expect(() => randomMatching(8, { r: 2, seed: 1, round: 0 })).toThrow(/r must be in \[0, 1\]/);
  });

  it('both peers replace their vectors by the pair average: the mean is preserved, consensus follows', () => {
    const n = 16;
    const s = randomPairwise(n, { r: 0.6, seed: 9 });
    let x: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from(normal(6, 500 + i)));
    const mean0 = [0, 1, 2, 3, 4, 5].map((t) => x.reduce((acc, v) => acc + v[t], 0) / n);
    for (let round = 0; round < 200; round++) {
      const w = s.at(round);
      expect(w.symmetric).toBe(true);
      const p = s.matching(round);
      const next = simulateExchange(w, x);
      for (let i = 0; i < n; i++) {
        if (p[i] >= 0) expect(Array.from(next[i])).toEqual(Array.from(next[p[i]]));
        else expect(Array.from(next[i])).toEqual(Array.from(x[i]));
      }
      x = next;
    }
    const mean = [0, 1, 2, 3, 4, 5].map((t) => x.reduce((acc, v) => acc + v[t], 0) / n);
    expectAllClose(mean, mean0, { atol: 1e-13, rtol: 0 }, 'mean after 200 rounds');
    for (const v of x) expectAllClose(v, mean0, { atol: 1e-6, rtol: 0 }, 'consensus');
    checkNodeViews(s, [0, 1, 2]);
  });

  it('restricted to a graph: pairs are edges of the graph', () => {
    const g = torus(4, 4);
    const s = randomPairwise(16, { r: 1, seed: 3, graph: g });
    for (let round = 0; round < 20; round++) {
      const p = s.matching(round);
      let count = 0;
      for (let i = 0; i < 16; i++) {
        if (p[i] < 0) continue;
        count++;
        expect(g.neighbors[i]).toContain(p[i]);
      }
      expect(count).toBeGreaterThanOrEqual(8); // a maximal matching of a 4-regular graph on 16 nodes covers ≥ 8
    }
    expect(() => randomMatching(8, { r: 1, seed: 1, round: 0, graph: ring(9) })).toThrow(/graph has 9 nodes/);
  });
});

describe('push-sum (SGP) one-out-peer schedule', () => {
  it('column-stochastic: keep ½, send ½ to one out-peer; send weights scale the message', () => {
    const s = pushSum(10, { peer: 'random', seed: 4 });
    for (let k = 0; k < 20; k++) {
      const m = s.at(k);
      const c = checkMixing(m);
      expect(c.colSumError).toBe(0);
      const out = s.outPeers(k);
      m.nodes.forEach((node, i) => {
        expect(node.self).toBe(0.5);
        expect(node.send).toEqual([{ peer: out[i], w: 0.5 }]);
        expect(out[i]).not.toBe(i);
      });
    }
    // Some step has a node with two in-peers (so rows do not sum to 1): column-stochastic only.
    expect([0, 1, 2, 3, 4, 5].some((k) => checkMixing(s.at(k)).rowSumError > 0)).toBe(true);
    checkNodeViews(s, [0, 1]);
    expect(Array.from(pushSum(10, { peer: 'random', seed: 4 }).outPeers(7))).toEqual(Array.from(s.outPeers(7)));
    expect(() => pushSum(10, { peer: 'random' })).toThrow(/needs a seed/);
  });

  it('de-biased estimates x_i / w_i converge to the true average; Σx and Σw are preserved', () => {
    const n = 12;
    const s = pushSum(n, { peer: 'random', seed: 21 });
    let x: Float64Array[] = Array.from({ length: n }, (_, i) => Float64Array.from(normal(4, 900 + i)));
    let w: Float64Array[] = Array.from({ length: n }, () => Float64Array.of(1));
    const mean = [0, 1, 2, 3].map((t) => x.reduce((acc, v) => acc + v[t], 0) / n);
    for (let k = 0; k < 120; k++) {
      const p = s.at(k);
      x = applyMixing(p, x);
      w = applyMixing(p, w);
    }
    const wsum = w.reduce((acc, v) => acc + v[0], 0);
    expect(wsum).toBeCloseTo(n, 12);
    const xsum = [0, 1, 2, 3].map((t) => x.reduce((acc, v) => acc + v[t], 0) / n);
    expectAllClose(xsum, mean, { atol: 1e-12, rtol: 0 }, 'Σx preserved');
    for (let i = 0; i < n; i++) {
      expectAllClose(Array.from(x[i], (v) => v / w[i][0]), mean, { atol: 1e-8, rtol: 0 }, `z_${i}`);
    }
  });

  it('exponential out-peer (i + 2^(k mod τ)): doubly stochastic, weights stay 1, exact average after τ steps', () => {
    const n = 32;
    const s = pushSum(n);
    expect(s.period).toBe(5);
    expect(s.outPeers(2)[3]).toBe(7);
    for (const row of product(s, 1, 5)) for (const v of row) expect(v).toBe(1 / n);
    const c = checkMixing(s.at(0));
    expect(c.rowSumError).toBe(0);
    expect(c.colSumError).toBe(0);
  });
});
