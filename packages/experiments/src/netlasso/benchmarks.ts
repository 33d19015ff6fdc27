// The Network Lasso KDD-style clustered benchmarks of ALGORITHMS.md §4 (quadratic and logistic), run
// in-process on one GPU worker or several over the caller's transports, returning data (no printing).
// Moved here from @gossamer/algorithms: experiments, not library.
import type { Gpu } from '@gossamer/gpu';
import {
  broadcastModel,
  clusteredQuadraticProblem,
  clusteredSamplesProblem,
  globalFit,
  lambdaPath,
  localFits,
  runNetlassoWorkers,
  solveNetlasso,
  solveNetlassoReference,
  testMetric,
  type NetlassoLambdaReport,
  type NetlassoOptions,
  type NetlassoProblem,
} from '@gossamer/algorithms';
import type { Transport } from '@gossamer/transport';

/** Where to run: one GPU worker, or several over the caller's transports (one per worker). */
export interface ReproduceTarget {
  gpu: Gpu;
  transports?: readonly Transport[];
}

export async function solvePath(t: ReproduceTarget, p: NetlassoProblem, lambdas: readonly number[], options: NetlassoOptions): Promise<NetlassoLambdaReport[]> {
  if (!t.transports || t.transports.length <= 1) return solveNetlasso(t.gpu, p, lambdas, options);
  const results = await runNetlassoWorkers({ gpu: t.gpu, problem: p, transports: t.transports, lambdas, options });
  return results[0].reports;
}

export interface PathPoint {
  lambda: number;
  rho: number;
  iterations: number;
  seconds: number;
  objective: number;
  metric: number | null;
  clusters: number;
  ari: number | null;
  consensusFraction: number;
}

export function pathPoint(r: NetlassoLambdaReport): PathPoint {
  return {
    lambda: r.lambda,
    rho: r.rho,
    iterations: r.iterations,
    seconds: r.seconds,
    objective: r.objective,
    metric: r.metric,
    clusters: r.clusters,
    ari: r.ari,
    consensusFraction: r.consensusFraction,
  };
}

export interface ConvergenceRow {
  epsAbs: number;
  epsRel: number;
  stopping: 'global' | 'decentralized';
  iterations: number;
  relativeGap: number;
  msPerIteration: number;
}

export interface KddQuadraticOptions {
  nodes?: number;
  groups?: number;
  pIn?: number;
  pOut?: number;
  dim?: number;
  seed?: number;
  /** λ of the convergence table (default 0.2, solved with ρ = 1 from a cold start as in the reference). */
  convergenceLambda?: number;
  /** λ path (default 0 then 0.05·1.25^k up to ≈ 1.2). */
  lambdas?: readonly number[];
}

export interface KddQuadraticResult {
  nodes: number;
  edges: number;
  groups: number;
  dim: number;
  convergence: ConvergenceRow[];
  path: PathPoint[];
  /** Parameter MSE vs the ground truth c_k. */
  localMse: number;
  globalMse: number;
  /** Group means of the anchors (knowing the groups). */
  oracleMse: number;
  bestLambda: number;
  bestMse: number;
  /** First λ of the path with ARI = 1 (null if none). */
  exactRecoveryLambda: number | null;
  /** First λ with every edge in consensus. */
  fullConsensusLambda: number | null;
}

/**
 * The oracle model of a clustered quadratic problem: each node gets the mean anchor of its
 * ground-truth group (what Network Lasso could at best recover).
 */
export function oracleGroupMeans(p: NetlassoProblem, groups: number): Float64Array {
  const n = p.graph.n;
  const d = p.dim;
  const sums = new Float64Array(groups * d);
  const counts = new Float64Array(groups);
  for (let i = 0; i < n; i++) {
    counts[p.groups![i]]++;
    for (let k = 0; k < d; k++) sums[p.groups![i] * d + k] += p.anchors![i * d + k];
  }
  const oracle = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) oracle[i * d + k] = sums[p.groups![i] * d + k] / counts[p.groups![i]];
  return oracle;
}

/**
 * The quadratic KDD-style benchmark of ALGORITHMS.md §4 (N = 1000 in 20 groups, 0.5/0.01, d = 10,
 * a_i = c_k + N(0, I)): iterations and objective gap at λ = 0.2 for two tolerances, and the λ path
 * with parameter MSE and cluster recovery against local, global and oracle models.
 */
export async function reproduceNetlassoQuadratic(target: ReproduceTarget, o: KddQuadraticOptions = {}): Promise<KddQuadraticResult> {
  const p = clusteredQuadraticProblem({ nodes: o.nodes ?? 1000, groups: o.groups ?? 20, pIn: o.pIn ?? 0.5, pOut: o.pOut ?? 0.01, dim: o.dim ?? 10, seed: o.seed ?? 1 });
  const n = p.graph.n;
  const d = p.dim;
  const mse = (x: ArrayLike<number>): number => testMetric(p, x);
  const lambda0 = o.convergenceLambda ?? 0.2;
  const optimum = solveNetlassoReference(p, lambda0, { rho: 1, epsAbs: 1e-10, epsRel: 1e-10 }).objective;
  const convergence: ConvergenceRow[] = [];
  for (const [epsAbs, epsRel] of [
    [1e-2, 1e-3],
    [1e-4, 1e-4],
  ]) {
    for (const stopping of ['global', 'decentralized'] as const) {
      const [r] = await solvePath(target, p, [lambda0], { rho: 1, epsAbs, epsRel, stopping });
      convergence.push({ epsAbs, epsRel, stopping, iterations: r.iterations, relativeGap: (r.objective - optimum) / optimum, msPerIteration: (1000 * r.seconds) / r.iterations });
    }
  }
  const lambdas = o.lambdas ?? lambdaPath({ start: 0.05, factor: 1.25, count: 16 });
  const reports = await solvePath(target, p, lambdas, { epsAbs: 1e-3, epsRel: 1e-3 });
  const path = reports.map(pathPoint);
  const best = path.filter((q) => q.lambda > 0).reduce((a, b) => (b.metric! < a.metric! ? b : a));
  return {
    nodes: n,
    edges: p.graph.edges.length,
    groups: o.groups ?? 20,
    dim: d,
    convergence,
    path,
    localMse: mse(localFits(p)),
    globalMse: mse(broadcastModel(globalFit(p), n)),
    oracleMse: mse(oracleGroupMeans(p, o.groups ?? 20)),
    bestLambda: best.lambda,
    bestMse: best.metric!,
    exactRecoveryLambda: path.find((q) => q.ari === 1)?.lambda ?? null,
    fullConsensusLambda: path.find((q) => q.consensusFraction === 1)?.lambda ?? null,
  };
}

export interface KddLogisticOptions {
  nodes?: number;
  groups?: number;
  pIn?: number;
  pOut?: number;
  dim?: number;
  trainPerNode?: number;
  testPerNode?: number;
  mu?: number;
  seed?: number;
  lambdas?: readonly number[];
}

export interface KddLogisticResult {
  nodes: number;
  edges: number;
  localAccuracy: number;
  globalAccuracy: number;
  path: PathPoint[];
  bestLambda: number;
  bestAccuracy: number;
}

/** The logistic benchmark (N = 200 in 5 groups, 0.3/0.01, d = 11, 25 train / 50 test per node): test accuracy along λ. */
export async function reproduceNetlassoLogistic(target: ReproduceTarget, o: KddLogisticOptions = {}): Promise<KddLogisticResult> {
  const p = clusteredSamplesProblem({
    nodes: o.nodes ?? 200,
    groups: o.groups ?? 5,
    pIn: o.pIn ?? 0.3,
    pOut: o.pOut ?? 0.01,
    dim: o.dim ?? 11,
    seed: o.seed ?? 1,
    trainPerNode: o.trainPerNode ?? 25,
    testPerNode: o.testPerNode ?? 50,
    loss: { kind: 'logistic', mu: o.mu ?? 0.1 },
  });
  const lambdas = o.lambdas ?? lambdaPath({ start: 0.1, factor: 2, count: 7, includeZero: false });
  const path = (await solvePath(target, p, lambdas, { epsAbs: 1e-3, epsRel: 1e-3 })).map(pathPoint);
  const best = path.reduce((a, b) => (b.metric! > a.metric! ? b : a));
  return {
    nodes: p.graph.n,
    edges: p.graph.edges.length,
    localAccuracy: testMetric(p, localFits(p)),
    globalAccuracy: testMetric(p, broadcastModel(globalFit(p), p.graph.n)),
    path,
    bestLambda: best.lambda,
    bestAccuracy: best.metric!,
  };
}
