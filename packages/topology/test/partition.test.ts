import { describe, expect, it } from 'vitest';
import { evaluatePartition, graphFromEdges, partitionGraph, ring, torus, type Graph, type Partition } from '@gossamer/topology';
import { rng } from '../../../test/support/numeric.js';

/**
 * k groups of `size` nodes: intra-group edge probability pIn, inter pOut; node ids shuffled so the
 * groups are not contiguous id ranges. Returns the graph, the group of each node and the number of
 * inter-group edges.
 */
function clustered(k: number, size: number, pIn: number, pOut: number, seed: number): { g: Graph; group: number[]; inter: number } {
  const r = rng(seed);
  const n = k * size;
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const group = new Array<number>(n);
  for (let c = 0; c < n; c++) group[perm[c]] = Math.floor(c / size);
  const edges: [number, number][] = [];
  let inter = 0;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const same = group[a] === group[b];
      if (r() < (same ? pIn : pOut)) {
        edges.push([a, b]);
        if (!same) inter++;
      }
    }
  }
  return { g: graphFromEdges(edges, { n }), group, inter };
}

function randomBalancedAssignment(n: number, parts: number, seed: number): number[] {
  const r = rng(seed);
  const a = Array.from({ length: n }, (_, i) => i % parts);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

function expectBalanced(p: Partition, n: number): void {
  expect(p.sizes.reduce((s, x) => s + x, 0)).toBe(n);
  expect(Math.max(...p.sizes) - Math.min(...p.sizes)).toBeLessThanOrEqual(1);
  p.members.forEach((m, q) => {
    expect(m.length).toBe(p.sizes[q]);
    for (const v of m) expect(p.assignment[v]).toBe(q);
  });
}

describe('graph partitioning', () => {
  it('4 dense clusters with sparse links, W = 4: cut ≈ the inter-cluster edges, far below a random partition', () => {
    const { g, group, inter } = clustered(4, 30, 0.4, 0.01, 12);
    const p = partitionGraph(g, 4);
    expectBalanced(p, g.n);
    const random = evaluatePartition(g, randomBalancedAssignment(g.n, 4, 1), 4);
    expect(p.cutEdges).toBeLessThanOrEqual(inter);
    expect(p.cutEdges).toBeLessThan(0.1 * random.cutEdges);
    // The parts are exactly the clusters.
    for (const m of p.members) expect(new Set(m.map((v) => group[v])).size).toBe(1);
  });

  it('Network Lasso benchmark graph (1000 nodes, 20 groups, 0.5 / 0.01): recovers the groups with W = 20; W = 8 stays balanced', () => {
    const { g, inter } = clustered(20, 50, 0.5, 0.01, 7);
    expect(Math.abs(g.edges.length - 16993)).toBeLessThan(400); // ALGORITHMS.md §4 reports 16,993
    const p20 = partitionGraph(g, 20);
    expectBalanced(p20, g.n);
    expect(p20.cutEdges).toBeLessThanOrEqual(inter);
    const p8 = partitionGraph(g, 8);
    expectBalanced(p8, g.n);
    const random8 = evaluatePartition(g, randomBalancedAssignment(g.n, 8, 2), 8);
    // 20 groups into 8 parts of 125: 4 groups must be split (≈ 25·25·0.5 edges each) and most of
    // the ≈ 4,750 inter-group edges are cut whatever the partition: ≈ 5,400 is about the best possible,
    // a random partition cuts ≈ 15,000.
    expect(p8.cutEdges).toBeLessThan(0.4 * random8.cutEdges);
    expect(p8.cutEdges).toBeLessThan(inter + 4 * 25 * 25 * 0.5 + 300);
  });

  it('ring and torus: compact regions', () => {
    const pr = partitionGraph(ring(100), 5);
    expectBalanced(pr, 100);
    expect(pr.cutEdges).toBe(5);
    const pt = partitionGraph(torus(8, 8), 4);
    expectBalanced(pt, 64);
    expect(pt.cutEdges).toBe(32); // optimal: four 4×4 blocks (or four 2×8 strips)
    expect(partitionGraph(torus(16, 16), 8).cutEdges).toBe(96); // optimal: eight 8×4 blocks
  });

  it('odd sizes, disconnected graphs, W = 1 and W = N', () => {
    const { g } = clustered(3, 35, 0.3, 0.02, 3);
    const sub = graphFromEdges(
      g.edges.filter((e) => e.u < 103 && e.v < 103).map((e) => [e.u, e.v] as [number, number]),
      { n: 103 },
    );
    expectBalanced(partitionGraph(sub, 4), 103);
    const islands = graphFromEdges(
      [
        [0, 1],
        [1, 2],
        [3, 4],
        [5, 6],
        [6, 7],
      ],
      { n: 9 },
    );
    const pi = partitionGraph(islands, 3);
    expectBalanced(pi, 9);
    expect(partitionGraph(islands, 1).cutEdges).toBe(0);
    const single = partitionGraph(ring(6), 6);
    expect(single.sizes).toEqual([1, 1, 1, 1, 1, 1]);
    expect(single.cutEdges).toBe(6);
    expect(() => partitionGraph(ring(6), 7)).toThrow(/parts empty/);
    expect(() => partitionGraph(ring(6), 0)).toThrow(/positive integer/);
  });

  it('imbalance tolerance allows uneven parts within bounds, never worse cut', () => {
    const { g } = clustered(3, 40, 0.3, 0.02, 5); // 3 clusters of 40 into 4 parts
    const strict = partitionGraph(g, 4);
    const loose = partitionGraph(g, 4, { imbalance: 0.35 });
    for (const s of loose.sizes) {
      expect(s).toBeGreaterThanOrEqual(Math.ceil(0.65 * 30));
      expect(s).toBeLessThanOrEqual(Math.floor(1.35 * 30));
    }
    expect(loose.cutEdges).toBeLessThanOrEqual(strict.cutEdges);
  });

  it('is deterministic and reports cut edges consistently', () => {
    const { g } = clustered(5, 20, 0.3, 0.03, 8);
    const a = partitionGraph(g, 5);
    const b = partitionGraph(g, 5);
    expect(Array.from(a.assignment)).toEqual(Array.from(b.assignment));
    const again = evaluatePartition(g, a.assignment);
    expect(again.cutEdges).toBe(a.cutEdges);
    expect(a.cut.length).toBe(a.cutEdges);
    for (const k of a.cut) expect(a.assignment[g.edges[k].u]).not.toBe(a.assignment[g.edges[k].v]);
    expect(a.cutWeight).toBe(a.cutEdges); // unit weights
    expect(() => evaluatePartition(g, [0, 1])).toThrow(/assignment has length 2/);
  });
});
