import { describe, expect, it } from 'vitest';
import {
  bfsDistances,
  complete,
  connectedComponents,
  createRng,
  diameter,
  diameterBounds,
  eccentricity,
  erdosRenyi,
  exponential,
  exponentialOffsets,
  graphFromEdges,
  isConnected,
  mixSeed,
  randomRegular,
  ring,
  torus,
  TopologyError,
  type Graph,
} from '@gossamer/topology';
import { rng } from '../../../test/support/numeric.js';

/** Structural invariants every graph must satisfy. */
function checkInvariants(g: Graph): void {
  let degSum = 0;
  for (let i = 0; i < g.n; i++) {
    const nb = g.neighbors[i];
    expect(g.degree[i]).toBe(nb.length);
    degSum += nb.length;
    for (let k = 0; k < nb.length; k++) {
      expect(nb[k]).not.toBe(i);
      if (k > 0) expect(nb[k]).toBeGreaterThan(nb[k - 1]);
      const e = g.edges[g.neighborEdge[i][k]];
      expect([e.u, e.v]).toEqual([Math.min(i, nb[k]), Math.max(i, nb[k])]);
      expect(g.neighborWeights[i][k]).toBe(e.w);
      expect(g.neighbors[nb[k]]).toContain(i);
    }
  }
  expect(degSum).toBe(2 * g.edges.length);
  for (let k = 1; k < g.edges.length; k++) {
    const a = g.edges[k - 1];
    const b = g.edges[k];
    expect(a.u < b.u || (a.u === b.u && a.v < b.v)).toBe(true);
  }
}

const edgeKey = (g: Graph): string => g.edges.map((e) => `${e.u}-${e.v}`).join(',');

describe('rng', () => {
  it('createRng(s) reproduces the test-suite mulberry32 stream', () => {
    for (const seed of [0, 1, 42, 0xdeadbeef]) {
      const a = createRng(seed);
      const b = rng(seed);
      for (let k = 0; k < 100; k++) expect(a.float()).toBe(b());
    }
  });

  it('int(n) is in range and roughly uniform; mixSeed separates rounds', () => {
    const r = createRng(7);
    const counts = new Array(10).fill(0);
    for (let k = 0; k < 20000; k++) counts[r.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    const seeds = new Set<number>();
    for (let round = 0; round < 1000; round++) seeds.add(mixSeed(123, round));
    expect(seeds.size).toBe(1000);
    expect(mixSeed(1, 2)).toBe(mixSeed(1, 2));
    expect(mixSeed(2 ** 40 + 1)).not.toBe(mixSeed(1));
    expect(() => createRng(0.5)).toThrow(/safe integer/);
  });
});

describe('deterministic builders', () => {
  it('ring', () => {
    const g = ring(16);
    checkInvariants(g);
    expect(g.edges.length).toBe(16);
    expect(new Set(g.degree)).toEqual(new Set([2]));
    expect(isConnected(g)).toBe(true);
    expect(diameter(g)).toBe(8);
    expect(diameter(ring(15))).toBe(7);
    expect(ring(2).edges.length).toBe(1);
    expect(ring(1).edges.length).toBe(0);
    expect(isConnected(ring(1))).toBe(true);
    expect(() => ring(0)).toThrow(TopologyError);
  });

  it('2-D torus', () => {
    const g = torus(4, 4);
    checkInvariants(g);
    expect(g.n).toBe(16);
    expect(g.edges.length).toBe(32);
    expect(new Set(g.degree)).toEqual(new Set([4]));
    expect(diameter(g)).toBe(4);
    const r = torus(3, 5);
    checkInvariants(r);
    expect(r.edges.length).toBe(30);
    expect(diameter(r)).toBe(1 + 2);
    // A side of 2: the wrap-around edge coincides with the direct one (merged): degree 3.
    const t2 = torus(2, 4);
    checkInvariants(t2);
    expect(new Set(t2.degree)).toEqual(new Set([3]));
    expect(t2.edges.length).toBe(12);
  });

  it('static exponential graph: offsets ±2^k, deduplicated', () => {
    expect(exponentialOffsets(16)).toEqual([1, 2, 4, 8]);
    expect(exponentialOffsets(17)).toEqual([1, 2, 4, 8, 16]);
    expect(exponentialOffsets(1)).toEqual([]);
    for (const n of [16, 32, 64]) {
      const g = exponential(n);
      checkInvariants(g);
      const tau = Math.log2(n);
      // ±2^k for k < τ−1 give 2 neighbours each; +n/2 = −n/2 gives one.
      expect(new Set(g.degree)).toEqual(new Set([2 * tau - 1]));
      expect(g.edges.length).toBe((n * (2 * tau - 1)) / 2);
      expect(diameter(g)).toBeLessThanOrEqual(Math.ceil(tau / 2) + 1);
    }
    expect(exponential(16).neighbors[0]).toEqual([1, 2, 4, 8, 12, 14, 15]);
    const odd = exponential(12); // 8 ≡ −4 (mod 12): merged
    checkInvariants(odd);
    expect(odd.neighbors[0]).toEqual([1, 2, 4, 8, 10, 11]);
  });

  it('complete graph', () => {
    const g = complete(9);
    checkInvariants(g);
    expect(g.edges.length).toBe(36);
    expect(new Set(g.degree)).toEqual(new Set([8]));
    expect(diameter(g)).toBe(1);
    expect(diameter(complete(1))).toBe(0);
  });
});

describe('random builders', () => {
  it('random d-regular: degrees, simple, connected, deterministic by seed', () => {
    for (const [n, d] of [
      [16, 3],
      [16, 4],
      [50, 6],
      [200, 10],
      [12, 2],
      [10, 9],
      [10, 7],
    ] as const) {
      const g = randomRegular(n, d, { seed: 5 });
      checkInvariants(g);
      expect(new Set(g.degree)).toEqual(new Set([d]));
      expect(g.edges.length).toBe((n * d) / 2);
      expect(isConnected(g)).toBe(true);
      expect(edgeKey(randomRegular(n, d, { seed: 5 }))).toBe(edgeKey(g));
    }
    expect(edgeKey(randomRegular(40, 4, { seed: 1 }))).not.toBe(edgeKey(randomRegular(40, 4, { seed: 2 })));
    const loose = randomRegular(30, 1, { seed: 3, connected: false });
    expect(new Set(loose.degree)).toEqual(new Set([1]));
    expect(() => randomRegular(15, 3, { seed: 1 })).toThrow(/n·d must be even/);
    expect(() => randomRegular(5, 5, { seed: 1 })).toThrow(/d < n/);
    expect(() => randomRegular(30, 1, { seed: 1 })).toThrow(/cannot be connected/);
  });

  it('Erdős–Rényi: edge density, connectivity by resampling, deterministic by seed', () => {
    const g = erdosRenyi(200, 0.1, { seed: 9 });
    checkInvariants(g);
    const expected = 0.1 * ((200 * 199) / 2);
    expect(Math.abs(g.edges.length - expected)).toBeLessThan(4 * Math.sqrt(expected));
    expect(isConnected(g)).toBe(true);
    expect(edgeKey(erdosRenyi(200, 0.1, { seed: 9 }))).toBe(edgeKey(g));
    expect(edgeKey(erdosRenyi(200, 0.1, { seed: 10 }))).not.toBe(edgeKey(g));
    // Near the connectivity threshold: resampling still yields a connected graph.
    const sparse = erdosRenyi(60, 0.07, { seed: 3 });
    expect(isConnected(sparse)).toBe(true);
    const raw = erdosRenyi(60, 0.01, { seed: 3, connected: false });
    expect(isConnected(raw)).toBe(false);
    expect(() => erdosRenyi(60, 0.001, { seed: 3, maxAttempts: 5 })).toThrow(/no connected G\(60, 0.001\)/);
    expect(erdosRenyi(5, 1, { seed: 0 }).edges.length).toBe(10);
    expect(() => erdosRenyi(5, 1.5, { seed: 0 })).toThrow(/p must be in \[0, 1\]/);
  });
});

describe('connectivity and distances', () => {
  it('components of a disconnected graph', () => {
    const g = graphFromEdges(
      [
        [0, 1],
        [1, 2],
        [3, 4],
      ],
      { n: 7 },
    );
    const c = connectedComponents(g);
    expect(c.count).toBe(4);
    expect(Array.from(c.label)).toEqual([0, 0, 0, 1, 1, 2, 3]);
    expect(c.sizes).toEqual([3, 2, 1, 1]);
    expect(isConnected(g)).toBe(false);
    expect(diameter(g)).toBe(Infinity);
    expect(eccentricity(g, 0)).toBe(Infinity);
    expect(Array.from(bfsDistances(g, 0))).toEqual([0, 1, 2, -1, -1, -1, -1]);
    expect(diameterBounds(g)).toEqual({ lower: Infinity, upper: Infinity });
  });

  it('diameter bounds bracket the exact diameter', () => {
    const r = createRng(11);
    for (const g of [ring(31), torus(5, 7), exponential(40), erdosRenyi(80, 0.06, { seed: 4 }), randomRegular(100, 3, { seed: 8 })]) {
      const d = diameter(g);
      const b = diameterBounds(g);
      expect(b.lower).toBeLessThanOrEqual(d);
      expect(b.upper).toBeGreaterThanOrEqual(d);
      const s = r.int(g.n);
      expect(eccentricity(g, s)).toBeLessThanOrEqual(d);
    }
    // A path: the double sweep finds the exact diameter.
    const path = graphFromEdges(Array.from({ length: 49 }, (_, i) => [i, i + 1] as [number, number]));
    expect(diameterBounds(path).lower).toBe(49);
    expect(diameter(path)).toBe(49);
  });
});

describe('user-given edge lists', () => {
  it('normalizes, sorts and keeps weights', () => {
    const g = graphFromEdges([
      [3, 1, 2.5],
      { u: 0, v: 1 },
      [2, 0],
      { u: 3, v: 2, w: 0.5 },
    ]);
    checkInvariants(g);
    expect(g.n).toBe(4);
    expect(g.edges).toEqual([
      { u: 0, v: 1, w: 1 },
      { u: 0, v: 2, w: 1 },
      { u: 1, v: 3, w: 2.5 },
      { u: 2, v: 3, w: 0.5 },
    ]);
    expect(graphFromEdges([[0, 1]], { n: 5 }).n).toBe(5);
  });

  it('rejects bad ids, self loops and bad weights with the edge position', () => {
    expect(() => graphFromEdges([[0, 1], [1, 5]], { n: 4 })).toThrow('edge #1: node id j = 5 is out of range [0, 3] (n = 4)');
    expect(() => graphFromEdges([[0, -1]])).toThrow('edge #0: node id j must be a non-negative integer, got -1');
    expect(() => graphFromEdges([[0, 1.5]])).toThrow(/non-negative integer, got 1.5/);
    expect(() => graphFromEdges([[0, 1], [2, 2]])).toThrow('edge #1: self loop (2, 2) is not allowed');
    expect(() => graphFromEdges([[0, 1, 0]])).toThrow('edge #0: weight must be a finite number > 0, got 0');
    expect(() => graphFromEdges([[0, 1, NaN]])).toThrow(/weight must be a finite number > 0/);
    expect(() => graphFromEdges([[0, 1, 2, 3] as unknown as [number, number]])).toThrow(/array of length 4/);
    expect(() => graphFromEdges([])).toThrow(/no nodes/);
  });

  it("duplicates: rejected by default, merged with 'merge' when weights agree", () => {
    const dup: [number, number, number][] = [
      [0, 1, 2],
      [1, 2, 1],
      [1, 0, 2],
    ];
    expect(() => graphFromEdges(dup)).toThrow("edge #2: duplicate edge (0, 1), first given at edge #0 (pass duplicates: 'merge'");
    const g = graphFromEdges(dup, { duplicates: 'merge' });
    expect(g.edges.length).toBe(2);
    expect(g.edges[0]).toEqual({ u: 0, v: 1, w: 2 });
    expect(() =>
      graphFromEdges(
        [
          [0, 1, 2],
          [1, 0, 3],
        ],
        { duplicates: 'merge' },
      ),
    ).toThrow('edge #1: duplicate edge (0, 1) with weight 3, but edge #0 gives weight 2; merging needs equal weights');
  });
});

describe('random inputs (property checks)', () => {
  it('graphFromEdges keeps exactly the distinct pairs of a random list', () => {
    const r = rng(2024);
    for (let trial = 0; trial < 20; trial++) {
      const n = 2 + Math.floor(r() * 30);
      const pairs = new Map<string, [number, number]>();
      const list: [number, number][] = [];
      for (let k = 0; k < 3 * n; k++) {
        const a = Math.floor(r() * n);
        const b = Math.floor(r() * n);
        if (a === b) continue;
        list.push([a, b]);
        pairs.set(`${Math.min(a, b)}-${Math.max(a, b)}`, [a, b]);
      }
      const g = graphFromEdges(list, { n, duplicates: 'merge' });
      checkInvariants(g);
      expect(g.edges.length).toBe(pairs.size);
    }
  });
});
