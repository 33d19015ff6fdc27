// Per-λ quality measures of a Network Lasso solution: clusters (connected components of consensus
// edges), agreement with ground truth (adjusted Rand index), and the loss's test metric.
import type { Graph } from '@gossamer/topology';
import type { NetlassoProblem } from './problem.js';

/** Components of the graph restricted to the edges flagged in `consensus` (one flag per graph edge). */
export function consensusClusters(graph: Graph, consensus: ArrayLike<number | boolean>): { count: number; labels: Int32Array } {
  const parent = Int32Array.from({ length: graph.n }, (_, i) => i);
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
    return a;
  };
  graph.edges.forEach((e, k) => {
    if (!consensus[k]) return;
    const [a, b] = [find(e.u), find(e.v)];
    if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
  });
  // Number the clusters by their smallest member.
  const labels = new Int32Array(graph.n);
  const ids = new Map<number, number>();
  for (let i = 0; i < graph.n; i++) {
    const r = find(i);
    let id = ids.get(r);
    if (id === undefined) {
      id = ids.size;
      ids.set(r, id);
    }
    labels[i] = id;
  }
  return { count: ids.size, labels };
}

/** Adjusted Rand index of two labelings (1 = identical partitions up to renaming; ≈ 0 = chance). */
export function adjustedRandIndex(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new Error(`adjustedRandIndex: ${n} vs ${b.length} labels`);
  const pairs = (m: number): number => (m * (m - 1)) / 2;
  const table = new Map<string, number>();
  const rows = new Map<number, number>();
  const cols = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    table.set(key, (table.get(key) ?? 0) + 1);
    rows.set(a[i], (rows.get(a[i]) ?? 0) + 1);
    cols.set(b[i], (cols.get(b[i]) ?? 0) + 1);
  }
  let index = 0;
  for (const m of table.values()) index += pairs(m);
  let sumRows = 0;
  for (const m of rows.values()) sumRows += pairs(m);
  let sumCols = 0;
  for (const m of cols.values()) sumCols += pairs(m);
  const expected = (sumRows * sumCols) / Math.max(pairs(n), 1);
  const max = (sumRows + sumCols) / 2;
  if (max === expected) return 1; // both partitions trivial (all singletons or one block)
  return (index - expected) / (max - expected);
}

/** Name of the test metric of a problem ('' when it has none). */
export function testMetricName(p: NetlassoProblem): string {
  switch (p.loss.kind) {
    case 'squared':
      return p.truth ? 'parameter MSE' : '';
    case 'ridge':
      return p.test ? 'test MSE' : p.truth ? 'parameter MSE' : '';
    case 'ocsvm':
      return '';
    default:
      return p.test ? 'test accuracy' : '';
  }
}

/**
 * The test metric's sum and count over the given nodes (so that workers can add partial sums):
 * parameter MSE = Σ‖x_i − truth_i‖² / (N d); test MSE over test samples; test accuracy = share of
 * test samples with sign(a_sᵀx_i) = y_s.
 */
export function testMetricPartial(p: NetlassoProblem, nodes: Iterable<number>, x: (node: number, k: number) => number): { sum: number; count: number } {
  const name = testMetricName(p);
  const d = p.dim;
  let sum = 0;
  let count = 0;
  for (const i of nodes) {
    if (name === 'parameter MSE') {
      for (let k = 0; k < d; k++) sum += (x(i, k) - p.truth![i * d + k]) ** 2;
      count += d;
    } else if (name === 'test MSE' || name === 'test accuracy') {
      const t = p.test!;
      for (let s = t.start[i]; s < t.start[i + 1]; s++) {
        let m = 0;
        for (let k = 0; k < d; k++) m += t.features[s * t.featureDim + k] * x(i, k);
        sum += name === 'test MSE' ? (m - t.labels[s]) ** 2 : (m >= 0 ? 1 : -1) === Math.sign(t.labels[s]) ? 1 : 0;
        count++;
      }
    }
  }
  return { sum, count };
}

/** The test metric of a full solution x [N × d] (NaN when the problem has none). */
export function testMetric(p: NetlassoProblem, x: ArrayLike<number>): number {
  const { sum, count } = testMetricPartial(p, Array.from({ length: p.graph.n }, (_, i) => i), (i, k) => x[i * p.dim + k]);
  return count > 0 ? sum / count : NaN;
}
