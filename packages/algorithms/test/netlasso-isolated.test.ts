// A node without neighbours has no consensus term: its x-update is min f_i alone. Under the one-class
// SVM, or a margin loss with μ = 0, ∇²f_i can be singular there (no sample in a curved part of the
// loss), and an undamped Newton step divides by ~0. Isolated nodes are solved by damped Newton with
// backtracking to their own optimum; the run stays finite and reaches the float64 optimum.
import { describe, expect, it } from 'vitest';
import { clusteredSamplesProblem, solveNetlasso, solveNetlassoReference, type NetlassoLoss, type NetlassoOptions, type NetlassoProblem } from '@gossamer/algorithms';
import { graphFromEdges } from '@gossamer/topology';
import { useGpu } from '../../../test/support/gpu.js';

const gpu = useGpu();
// Exact x-updates: with one warm-started Newton step per iteration, ADMM on this one-class SVM
// problem cycles whether or not a node is isolated (the piecewise-quadratic hinge).
const tight: NetlassoOptions = { epsAbs: 1e-5, epsRel: 1e-5, newton: { steps: 30, tol: 1e-7 } };

/** The problem with every edge of node 0 taken out. */
function withIsolatedNode(p: NetlassoProblem): NetlassoProblem {
  const edges = p.graph.edges.filter((e) => e.u !== 0 && e.v !== 0).map((e) => ({ u: e.u, v: e.v, w: e.w }));
  return { ...p, graph: graphFromEdges(edges, { n: p.graph.n }) };
}

describe('Network Lasso: an isolated node', () => {
  const losses: NetlassoLoss[] = [
    { kind: 'ocsvm', nu: 0.2, smoothing: 0.2 },
    { kind: 'squaredHinge', mu: 0, scale: 0.75 },
  ];
  for (const loss of losses) {
    it(`${loss.kind}${'mu' in loss ? ` (μ = ${loss.mu})` : ''}: every x stays finite and the objective is within 1e-4 of the float64 optimum`, async () => {
      const base = clusteredSamplesProblem({ nodes: 12, groups: 2, pIn: 0.6, pOut: 0.1, dim: 3, seed: 5, trainPerNode: 10, testPerNode: 10, loss });
      const p = withIsolatedNode(base);
      expect(p.graph.degree[0]).toBe(0);
      const [r] = await solveNetlasso(gpu(), p, [0.5], tight);
      expect(Array.from(r.x).every(Number.isFinite)).toBe(true);
      expect(r.converged).toBe(true);
      const ref = solveNetlassoReference(p, 0.5);
      expect(Math.abs(r.objective - ref.objective) / Math.abs(ref.objective)).toBeLessThan(1e-4);
    });
  }
});
