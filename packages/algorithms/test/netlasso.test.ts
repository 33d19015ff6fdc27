// Network Lasso by decentralized ADMM on the GPU (ALGORITHMS.md §4): optimum, limits, cluster
// recovery, decentralized = single worker, and the decentralized stopping rule. Problems are tiny
// (≤ 24 nodes, d ≤ 4) because SwiftShader runs WebGPU on the CPU.
import { afterAll, describe, expect, it } from 'vitest';
import {
  clusteredQuadraticProblem,
  clusteredSamplesProblem,
  globalFit,
  localFits,
  runNetlassoWorkers,
  solveNetlasso,
  solveNetlassoReference,
  testMetric,
  broadcastModel,
  type NetlassoLoss,
  type NetlassoOptions,
} from '@gossamer/algorithms';
import { createInProcessNetwork, type InProcessNetwork } from '@gossamer/transport';
import { partitionGraph } from '@gossamer/topology';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose } from '../../../test/support/numeric.js';

const gpu = useGpu();
const networks: InProcessNetwork[] = [];
afterAll(async () => {
  for (const n of networks) await n.close();
});

function network(workers: number): InProcessNetwork {
  const net = createInProcessNetwork(Array.from({ length: workers }, (_, p) => `w${p}`));
  networks.push(net);
  return net;
}

/** |F − F*| / |F*|. */
function relativeGap(objective: number, optimum: number): number {
  return Math.abs(objective - optimum) / Math.abs(optimum);
}

// 24 nodes in 3 groups, d = 3, a_i = c_k + 0.5 N(0, I).
const quadratic = clusteredQuadraticProblem({ nodes: 24, groups: 3, pIn: 0.5, pOut: 0.05, dim: 3, seed: 7, noise: 0.5 });
const tight: NetlassoOptions = { epsAbs: 1e-5, epsRel: 1e-5 };

describe('Network Lasso ADMM (squared loss)', () => {
  it('reaches the centralized float64 optimum along a warm-started λ path (relative gap ≤ 1e-4)', async () => {
    const lambdas = [0.1, 0.3, 1];
    const reports = await solveNetlasso(gpu(), quadratic, lambdas, tight);
    for (const r of reports) {
      const ref = solveNetlassoReference(quadratic, r.lambda);
      expect(ref.converged).toBe(true);
      expect(r.converged, `λ = ${r.lambda} converged`).toBe(true);
      expect(relativeGap(r.objective, ref.objective), `objective gap at λ = ${r.lambda}`).toBeLessThan(1e-4);
      expectAllClose(r.x, ref.x, { atol: 2e-3, rtol: 0 }, `x at λ = ${r.lambda}`);
      expect(r.rho).toBeCloseTo(1 + Math.sqrt(r.lambda), 12);
    }
    // Fusion grows with λ.
    expect(reports[0].clusters).toBeGreaterThan(reports[2].clusters);
  });

  it('λ = 0 gives the independent local fits; a large λ the single global model (full consensus)', async () => {
    const [zero, large] = await solveNetlasso(gpu(), quadratic, [0, 20], tight);
    expectAllClose(zero.x, localFits(quadratic), { atol: 1e-4, rtol: 0 }, 'x at λ = 0');
    expect(zero.consensusEdges).toBe(0);
    expect(zero.clusters).toBe(quadratic.graph.n);
    const global = globalFit(quadratic);
    expect(large.consensusFraction).toBe(1);
    expect(large.clusters).toBe(1);
    for (let i = 0; i < quadratic.graph.n; i++) {
      expectAllClose(large.x.subarray(i * 3, i * 3 + 3), global, { atol: 1e-3, rtol: 0 }, `x_${i} at λ = 20`);
    }
  });

  it('recovers the ground-truth clusters exactly (ARI = 1) at a suitable λ', async () => {
    const p = clusteredQuadraticProblem({ nodes: 18, groups: 3, pIn: 0.6, pOut: 0.05, dim: 2, seed: 1, noise: 0.3 });
    const reports = await solveNetlasso(gpu(), p, [0.1, 0.3, 0.7], tight);
    expect(reports[0].ari!).toBeLessThan(0.5);
    expect(reports[2].clusters).toBe(3);
    expect(reports[2].ari).toBe(1);
    // The fused models are the group means of the anchors (the oracle of a quadratic loss, shrunk by the cut edges).
    expect(reports[2].metric!).toBeLessThan(reports[0].metric!);
  });

  it('3 workers over the in-process transport give bit-identical x and iteration counts to one worker', async () => {
    const lambdas = [0.2, 1];
    const single = await solveNetlasso(gpu(), quadratic, lambdas, tight);
    const net = network(3);
    const partition = partitionGraph(quadratic.graph, 3);
    expect(partition.cutEdges).toBeGreaterThan(0);
    const results = await runNetlassoWorkers({ gpu: gpu(), problem: quadratic, transports: net.transports, lambdas, options: tight, assignment: partition.assignment });
    for (let l = 0; l < lambdas.length; l++) {
      for (const w of results) {
        const r = w.reports[l];
        expect(r.iterations, `worker ${w.layout.part} iterations at λ = ${lambdas[l]}`).toBe(single[l].iterations);
        expect(r.haltDetectedAt).toBe(single[l].haltDetectedAt);
        expect(Array.from(r.x)).toEqual(Array.from(single[l].x));
        expect(r.objective).toBeCloseTo(single[l].objective, 4);
        expect(Array.from(r.clusterLabels)).toEqual(Array.from(single[l].clusterLabels));
      }
    }
    // Only cut edges travel: each worker sent one message per neighbouring worker per iteration.
    const [w0] = results;
    const iterations = w0.reports.reduce((s, r) => s + r.iterations, 0);
    const stats = net.transport('w0').stats();
    expect(stats.messagesSent).toBeGreaterThanOrEqual(iterations * w0.layout.neighbours.length);
    expect(w0.layout.cutRows).toBe(partition.cut.filter((k) => partition.assignment[quadratic.graph.edges[k].u] === 0 || partition.assignment[quadratic.graph.edges[k].v] === 0).length);
  });

  it('the decentralized stopping rule halts only after the global criterion held (ε_rel loosened by √2)', async () => {
    const options: NetlassoOptions = { epsAbs: 1e-4, epsRel: 1e-3, history: true };
    const [r] = await solveNetlasso(gpu(), quadratic, [0.3], options);
    const D = r.diameterBound;
    expect(D).toBeGreaterThan(1);
    expect(r.converged).toBe(true);
    // Detection at k* (some counter reached D + 1), halt flooded to every node D iterations later.
    expect(r.haltDetectedAt).not.toBeNull();
    expect(r.iterations).toBe(r.haltDetectedAt! + D + 1);
    const history = r.history!;
    const holds = (k: number, slack: number): boolean => {
      const h = history[k];
      const epsPri = h.epsPrimal + (slack - 1) * (h.epsPrimal - Math.sqrt(2 * quadratic.graph.edges.length * 3) * 1e-4);
      return h.primal <= epsPri && h.dual <= h.epsDual;
    };
    // Every node was converged at k* − D, so the global test (primal with ε_rel·√2) held then.
    expect(holds(r.haltDetectedAt! - D, Math.SQRT2)).toBe(true);
    // ...and the halt never precedes the first iteration at which the global test holds.
    const firstGlobal = history.findIndex((_, k) => holds(k, Math.SQRT2));
    expect(firstGlobal).toBeGreaterThanOrEqual(0);
    expect(r.iterations - 1).toBeGreaterThanOrEqual(firstGlobal);
  });

  it('global stopping and bounded residual balancing (u rescaled) reach the same optimum', async () => {
    const ref = solveNetlassoReference(quadratic, 0.5);
    const [global] = await solveNetlasso(gpu(), quadratic, [0.5], { ...tight, stopping: 'global' });
    expect(relativeGap(global.objective, ref.objective)).toBeLessThan(1e-4);
    expect(global.residuals.primal).toBeLessThanOrEqual(global.residuals.epsPrimal);
    const [balanced] = await solveNetlasso(gpu(), quadratic, [0.5], { ...tight, rho0: 30, residualBalancing: { iterations: 40 } });
    expect(balanced.rhoChanges).toBeGreaterThan(0);
    expect(balanced.rho).toBeLessThan(30);
    expect(relativeGap(balanced.objective, ref.objective)).toBeLessThan(1e-4);
  });
});

describe('Network Lasso ADMM (Newton and ridge losses)', () => {
  const losses: { loss: NetlassoLoss; dim: number }[] = [
    { loss: { kind: 'ridge', mu: 0.1 }, dim: 3 },
    { loss: { kind: 'squaredHinge', mu: 0.5, scale: 0.75 }, dim: 3 },
    { loss: { kind: 'smoothedHinge', mu: 0.5, scale: 0.75, smoothing: 0.5 }, dim: 3 },
    { loss: { kind: 'ocsvm', nu: 0.2, smoothing: 0.2 }, dim: 3 },
  ];
  for (const { loss, dim } of losses) {
    it(`${loss.kind}: reaches the float64 optimum (relative gap ≤ 1e-4)`, async () => {
      const p = clusteredSamplesProblem({ nodes: 12, groups: 2, pIn: 0.6, pOut: 0.1, dim, seed: 5, trainPerNode: 10, testPerNode: 10, loss });
      const [r] = await solveNetlasso(gpu(), p, [0.5], tight);
      const ref = solveNetlassoReference(p, 0.5);
      expect(r.converged).toBe(true);
      expect(relativeGap(r.objective, ref.objective)).toBeLessThan(1e-4);
    });
  }

  it('logistic: 2 workers equal 1 worker, the optimum is reached, and fusion beats local and global models on test accuracy', async () => {
    const p = clusteredSamplesProblem({ nodes: 16, groups: 2, pIn: 0.6, pOut: 0.05, dim: 3, seed: 11, trainPerNode: 8, testPerNode: 40, loss: { kind: 'logistic', mu: 0.05 } });
    const [single] = await solveNetlasso(gpu(), p, [0.5], tight);
    const results = await runNetlassoWorkers({ gpu: gpu(), problem: p, transports: network(2).transports, lambdas: [0.5], options: tight });
    for (const w of results) {
      expect(w.reports[0].iterations).toBe(single.iterations);
      expect(Array.from(w.reports[0].x)).toEqual(Array.from(single.x));
    }
    const ref = solveNetlassoReference(p, 0.5);
    expect(relativeGap(single.objective, ref.objective)).toBeLessThan(1e-4);
    // Baselines from the float64 solvers: λ = 0 (local fits) and λ ≥ λ_crit (one global model).
    const local = testMetric(p, localFits(p));
    const global = testMetric(p, broadcastModel(globalFit(p), p.graph.n));
    expect(single.metric!).toBeGreaterThan(local);
    expect(single.metric!).toBeGreaterThan(global);
  });
});
