// `gossamer reproduce netlasso`: Network Lasso by decentralized ADMM (ALGORITHMS.md §4).
// (a) The KDD-style clustered benchmark (N = 1000 in 20 groups, d = 10, quadratic loss): the λ path and
//     the convergence runs are solved by real `netlasso-worker` processes over an embedded
//     nats-server; the centralized float64 optimum (objective gap), local-only, single-global and
//     oracle models are computed here. (b) The traffic incident demo (one-class SVMs per road region
//     fused by Network Lasso) against centralized, local-only and federated averaging, in-process.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  broadcastModel,
  globalFit,
  lambdaPath,
  localFits,
  netlassoObjective,
  netlassoProblemFromSpec,
  solveNetlassoReference,
  testMetric,
  type ClusteredProblemOptions,
  type NetlassoProblem,
  type ReferenceSolution,
} from '@gossamer/algorithms';
import { decodeFloat32, markdownTable, percent, runNetlassoProcesses, writePlot } from '@gossamer/cli';
import { Gpu } from '@gossamer/gpu';
import { barChart, facetLines } from '@gossamer/plot';
import { startNatsServer } from '@gossamer/transport';
import { oracleGroupMeans, type ConvergenceRow, type KddQuadraticResult } from './benchmarks.js';
import { reproduceTrafficIncidents, type TrafficDemoOptions, type TrafficDemoResult } from './traffic.js';

export interface NetlassoKddConfig {
  problem: ClusteredProblemOptions;
  /** Worker processes. */
  workers: number;
  lambdas: number[];
  /** ε_abs, ε_rel of the λ path (ρ = 1 + √λ, warm starts). */
  pathTolerance: [number, number];
  /** The convergence runs: λ, fixed ρ = 1, from a cold start, per (ε_abs, ε_rel). */
  convergenceLambda: number;
  convergenceTolerances: [number, number][];
}

/** Sizes: full = ALGORITHMS.md §4's benchmark; quick = 200 nodes in 10 groups and a shorter path. */
export function netlassoKddConfig(quick: boolean): NetlassoKddConfig {
  return {
    problem: { nodes: quick ? 200 : 1000, groups: quick ? 10 : 20, pIn: 0.5, pOut: 0.01, dim: 10, seed: 1, noise: 1 },
    workers: 4,
    lambdas: quick ? lambdaPath({ start: 0.1, factor: 1.4, count: 10 }) : lambdaPath({ start: 0.05, factor: 1.25, count: 16 }),
    pathTolerance: [1e-3, 1e-3],
    convergenceLambda: 0.2,
    convergenceTolerances: quick
      ? [[1e-2, 1e-3]]
      : [
          [1e-2, 1e-3],
          [1e-4, 1e-4],
        ],
  };
}

/**
 * ε_abs = ε_rel of the float64 reference ADMM. Its tail is slow (λ = 0.2, ρ = 1, N = 1000: 1 471
 * iterations at 1e-7, 7 429 at 1e-8, 17 532 at 1e-9), and at 1e-7 the objective is already within
 * 2.6e-9 (relative) of the 1e-9 solution (measured): enough for the gaps reported (≥ 1e-8).
 */
export const REFERENCE_EPS = 1e-7;

/**
 * The library's convergence row as measured over worker processes. Always the decentralized rule, so
 * `stopping` is left out (results.json stays as it was); the halt and wait columns are added.
 */
export interface ProcessConvergenceRow extends Omit<ConvergenceRow, 'stopping'> {
  haltDetectedAt: number | null;
  diameterBound: number;
  /** Share of the run's time spent waiting for neighbours' messages (w0). */
  waitShare: number;
}

export interface PathRow {
  lambda: number;
  rho: number;
  iterations: number;
  seconds: number;
  /** Σ f_i(x_i) + λ Σ w‖x_j − x_k‖ in float64 of the workers' x. */
  objective: number;
  /** The centralized float64 ADMM optimum (ε = REFERENCE_EPS, warm-started along the path); 0 at λ = 0. */
  optimum: number;
  /** (F − F*) / F* (null at λ = 0, where F* = 0: see absoluteGap). */
  relativeGap: number | null;
  absoluteGap: number;
  /** Parameter MSE vs the ground-truth group centres. */
  mse: number;
  clusters: number;
  ari: number | null;
  consensusFraction: number;
}

/** The library's KDD result, run over worker processes: richer convergence and path rows. */
export interface KddResult extends Omit<KddQuadraticResult, 'convergence' | 'path'> {
  workers: number;
  cutEdges: number;
  convergence: ProcessConvergenceRow[];
  path: PathRow[];
  workersAgree: boolean;
  processSeconds: number;
  referenceSeconds: number;
}

/** The float64 optimum along the path: warm-started ADMM, u rescaled when ρ changes. */
function referencePath(p: NetlassoProblem, lambdas: readonly number[], eps: number): number[] {
  let previous: ReferenceSolution | undefined;
  return lambdas.map((lambda) => {
    if (lambda === 0) return 0; // x_i = a_i: every f_i at its minimum 0, no penalty
    const rho = 1 + Math.sqrt(lambda);
    const warmStart = previous ? { x: previous.x, z: previous.z, u: previous.u.map((v) => (v * previous!.rho) / rho) } : undefined;
    const solution = solveNetlassoReference(p, lambda, { rho, epsAbs: eps, epsRel: eps, warmStart });
    if (!solution.converged) throw new Error(`reference ADMM did not converge at λ = ${lambda}`);
    previous = solution;
    return solution.objective;
  });
}

async function runKdd(outDir: string, config: NetlassoKddConfig, url: string, adapter: string | undefined): Promise<KddResult> {
  const spec = { generator: 'clustered-quadratic' as const, ...config.problem };
  const specFile = join(outDir, 'kdd-problem.json');
  writeFileSync(specFile, `${JSON.stringify(spec, null, 2)}\n`);
  const p = netlassoProblemFromSpec(spec, () => '');
  const n = p.graph.n;
  console.log(
    `(a) KDD-style clustered benchmark: ${n} nodes in ${config.problem.groups} groups (p_in ${config.problem.pIn}, p_out ${config.problem.pOut}), ` +
      `${p.graph.edges.length} edges, d = ${p.dim}, f_i = ½‖x − a_i‖², a_i = c_k + N(0, I)`,
  );
  let processSeconds = 0;
  let agree = true;
  const convergence: ProcessConvergenceRow[] = [];
  const lambda0 = config.convergenceLambda;
  let t = performance.now();
  const optimum0 = solveNetlassoReference(p, lambda0, { rho: 1, epsAbs: REFERENCE_EPS, epsRel: REFERENCE_EPS });
  let referenceSeconds = (performance.now() - t) / 1000;
  for (const [epsAbs, epsRel] of config.convergenceTolerances) {
    const run = await runNetlassoProcesses({
      url,
      specFile,
      workers: config.workers,
      args: ['--lambdas', String(lambda0), '--rho', '1', '--eps-abs', String(epsAbs), '--eps-rel', String(epsRel)],
      dir: join(outDir, `kdd-convergence-${epsAbs}-${epsRel}`),
      label: `λ = ${lambda0}, ρ = 1, ε = ${epsAbs}/${epsRel}`,
      adapter,
    });
    processSeconds += run.seconds;
    agree &&= run.workersAgree;
    const r = run.outputs[0].reports[0];
    const objective = netlassoObjective(p, decodeFloat32(r.x), lambda0).objective;
    convergence.push({
      epsAbs,
      epsRel,
      iterations: r.iterations,
      haltDetectedAt: r.haltDetectedAt,
      diameterBound: r.diameterBound,
      relativeGap: (objective - optimum0.objective) / optimum0.objective,
      msPerIteration: (1000 * r.seconds) / r.iterations,
      waitShare: r.waitSeconds / r.seconds,
    });
  }
  const [epsAbs, epsRel] = config.pathTolerance;
  const run = await runNetlassoProcesses({
    url,
    specFile,
    workers: config.workers,
    args: ['--lambdas', config.lambdas.join(','), '--eps-abs', String(epsAbs), '--eps-rel', String(epsRel)],
    dir: join(outDir, 'kdd-path'),
    label: `λ path (${config.lambdas.length} values), ε = ${epsAbs}/${epsRel}`,
    adapter,
  });
  processSeconds += run.seconds;
  agree &&= run.workersAgree;
  console.log(`  centralized float64 optimum along the path (CPU) ...`);
  t = performance.now();
  const optima = referencePath(p, config.lambdas, REFERENCE_EPS);
  referenceSeconds += (performance.now() - t) / 1000;
  const path: PathRow[] = run.outputs[0].reports.map((r, l) => {
    const x = decodeFloat32(r.x);
    const objective = netlassoObjective(p, x, r.lambda).objective;
    const optimum = optima[l];
    return {
      lambda: r.lambda,
      rho: r.rho,
      iterations: r.iterations,
      seconds: r.seconds,
      objective,
      optimum,
      relativeGap: optimum > 0 ? (objective - optimum) / optimum : null,
      absoluteGap: objective - optimum,
      mse: testMetric(p, x),
      clusters: r.clusters,
      ari: r.ari,
      consensusFraction: r.consensusFraction,
    };
  });
  const best = path.filter((q) => q.lambda > 0).reduce((a, b) => (b.mse < a.mse ? b : a));
  const cut = run.outputs.reduce((s, w) => s + w.layout.cutRows, 0) / 2;
  return {
    nodes: n,
    edges: p.graph.edges.length,
    groups: config.problem.groups,
    dim: p.dim,
    workers: config.workers,
    cutEdges: cut,
    convergence,
    path,
    localMse: testMetric(p, localFits(p)),
    globalMse: testMetric(p, broadcastModel(globalFit(p), n)),
    oracleMse: testMetric(p, oracleGroupMeans(p, config.problem.groups)),
    bestLambda: best.lambda,
    bestMse: best.mse,
    exactRecoveryLambda: path.find((q) => q.ari === 1)?.lambda ?? null,
    fullConsensusLambda: path.find((q) => q.consensusFraction === 1)?.lambda ?? null,
    workersAgree: agree,
    processSeconds,
    referenceSeconds,
  };
}

/** Traffic demo sizes: full = two more test days and one more validation day than the library's default. */
export function netlassoTrafficOptions(quick: boolean): TrafficDemoOptions {
  return quick ? { trainDays: 2, validationDays: 1, testDays: 2 } : { trainDays: 2, validationDays: 2, testDays: 4 };
}

// ---- tables ---------------------------------------------------------------------------------------

const table = (head: readonly string[], rows: readonly (readonly string[])[]): string => markdownTable(head, rows);

const exp = (v: number | null, digits = 1): string => (v === null || !Number.isFinite(v) ? '–' : v.toExponential(digits));
const fixed = (v: number | null, digits: number): string => (v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const pct = (v: number): string => percent(v, 1);

export function formatConvergenceTable(k: KddResult, lambda: number): string {
  return table(
    ['λ', 'ρ', 'ε_abs / ε_rel', 'stopping', 'iterations', 'halt detected (k*) + D', 'relative gap', 'ms / iteration', 'waiting'],
    k.convergence.map((c) => [
      String(lambda),
      '1',
      `${c.epsAbs} / ${c.epsRel}`,
      'decentralized',
      String(c.iterations),
      c.haltDetectedAt === null ? '–' : `${c.haltDetectedAt} + ${c.diameterBound}`,
      exp(c.relativeGap),
      c.msPerIteration.toFixed(0),
      pct(c.waitShare),
    ]),
  );
}

export function formatPathTable(k: KddResult): string {
  return table(
    ['λ', 'ρ', 'iterations', 'seconds', 'objective', 'relative gap', 'parameter MSE', 'clusters', 'ARI', 'consensus edges'],
    k.path.map((r) => [
      fixed(r.lambda, 4),
      fixed(r.rho, 3),
      String(r.iterations),
      r.seconds.toFixed(1),
      r.objective.toFixed(2),
      r.relativeGap === null ? `(abs ${exp(r.absoluteGap)})` : exp(r.relativeGap),
      r.mse.toFixed(4),
      String(r.clusters),
      fixed(r.ari, 3),
      pct(r.consensusFraction),
    ]),
  );
}

export function formatBaselineTable(k: KddResult): string {
  return table(
    ['model', 'parameter MSE'],
    [
      ['local only (λ = 0)', k.localMse.toFixed(4)],
      ['single global model', k.globalMse.toFixed(4)],
      [`network lasso, best λ = ${k.bestLambda.toFixed(4)}`, k.bestMse.toFixed(4)],
      ['oracle (group means, groups known)', k.oracleMse.toFixed(4)],
    ],
  );
}

export function formatTrafficTables(t: TrafficDemoResult): { methods: string; path: string } {
  return {
    methods: table(
      ['method', 'λ', 'detection rate', 'false-alarm rate', 'AUC'],
      t.methods.map((m) => [m.method, m.lambda === undefined ? '–' : fixed(m.lambda, 4), pct(m.detectionRate), pct(m.falseAlarmRate), fixed(m.auc, 4)]),
    ),
    path: table(
      ['λ', 'iterations', 'clusters', 'consensus edges', 'validation AUC', 'test AUC', 'detection', 'false alarms'],
      t.path.map((q) => [fixed(q.lambda, 4), String(q.iterations), String(q.clusters), pct(q.consensusFraction), fixed(q.validationAuc, 4), fixed(q.test.auc, 4), pct(q.test.detectionRate), pct(q.test.falseAlarmRate)]),
    ),
  };
}

// ---- the reproduction -----------------------------------------------------------------------------

export async function reproduceNetlasso(outDir: string, quick: boolean, adapter?: string): Promise<void> {
  const started = performance.now();
  mkdirSync(outDir, { recursive: true });
  const config = netlassoKddConfig(quick);
  const server = await startNatsServer();
  let kdd: KddResult;
  try {
    kdd = await runKdd(outDir, config, server.url, adapter);
  } finally {
    await server.close();
  }
  const convergenceTable = formatConvergenceTable(kdd, config.convergenceLambda);
  const pathTable = formatPathTable(kdd);
  const baselineTable = formatBaselineTable(kdd);
  const kddClaims = [
    `${kdd.workers} worker processes over nats-server (${kdd.cutEdges} of ${kdd.edges} edges cut); every worker reported the same x bits and iteration counts: ${kdd.workersAgree ? 'yes' : 'NO'}`,
    `best network lasso parameter MSE ${kdd.bestMse.toFixed(3)} at λ = ${kdd.bestLambda.toFixed(3)} vs local only ${kdd.localMse.toFixed(3)}, single global ${kdd.globalMse.toFixed(3)}, oracle ${kdd.oracleMse.toFixed(3)}`,
    `exact cluster recovery (ARI = 1): ${kdd.exactRecoveryLambda === null ? 'not reached on the path' : `from λ = ${kdd.exactRecoveryLambda.toFixed(3)}`}; full consensus: ${kdd.fullConsensusLambda === null ? 'not reached on the path' : `from λ = ${kdd.fullConsensusLambda.toFixed(3)}`}`,
    `largest relative objective gap along the path (λ > 0): ${exp(Math.max(...kdd.path.filter((r) => r.relativeGap !== null).map((r) => r.relativeGap!)))}`,
  ];
  console.log(`\n${convergenceTable}\n\n${pathTable}\n\n${baselineTable}\n\n${kddClaims.map((c) => `- ${c}`).join('\n')}`);

  const trafficOptions = netlassoTrafficOptions(quick);
  console.log(`\n(b) traffic incident detection: simulated road grid, one-class SVM per region fused by Network Lasso (one GPU worker, in-process) ...`);
  const gpu = await Gpu.create(adapter ? { adapter } : {});
  let traffic: TrafficDemoResult;
  const trafficStart = performance.now();
  try {
    traffic = await reproduceTrafficIncidents({ gpu }, trafficOptions);
  } finally {
    gpu.destroy();
  }
  const trafficSeconds = (performance.now() - trafficStart) / 1000;
  const trafficTables = formatTrafficTables(traffic);
  const trafficHeader = `${traffic.sensors} sensors in ${traffic.regions} regions (${traffic.regionEdges} region edges); ${traffic.testSamples} test samples, ${traffic.testIncidents} test incidents`;
  console.log(`${trafficHeader}\n\n${trafficTables.methods}\n\n${trafficTables.path}`);

  // Plots: the λ path (x on a log axis: λ = 0 is the local-only line), the convergence runs, and the traffic methods.
  const positive = kdd.path.filter((r) => r.lambda > 0);
  const lambdas = positive.map((r) => r.lambda);
  const flat = (name: string, v: number) => ({ name, points: [lambdas[0], lambdas[lambdas.length - 1]].map((x) => [x, v] as const), dashed: true });
  const pathSvg = await facetLines({
    title: `Network Lasso λ path: ${kdd.nodes} nodes, ${kdd.groups} groups, ${kdd.workers} worker processes`,
    x: { label: 'λ', scale: 'log' },
    columns: 2,
    panels: [
      {
        title: 'parameter MSE',
        y: { label: 'MSE vs truth', scale: 'log' },
        series: [
          { name: 'network lasso', points: positive.map((r) => [r.lambda, r.mse] as const) },
          flat('local only', kdd.localMse),
          flat('single global', kdd.globalMse),
          flat('oracle', kdd.oracleMse),
        ],
      },
      {
        title: 'cluster recovery',
        y: { label: 'ARI / consensus-edge fraction' },
        series: [
          { name: 'ARI', points: positive.map((r) => [r.lambda, r.ari ?? Number.NaN] as const) },
          { name: 'consensus-edge fraction', points: positive.map((r) => [r.lambda, r.consensusFraction] as const) },
        ],
      },
      { title: 'clusters', y: { label: 'clusters', scale: 'log' }, series: [{ name: 'clusters', points: positive.map((r) => [r.lambda, r.clusters] as const) }] },
      {
        title: 'iterations and objective gap',
        y: { label: 'value', scale: 'log' },
        series: [
          { name: 'iterations', points: positive.map((r) => [r.lambda, r.iterations] as const) },
          { name: 'relative gap × 1e6', points: positive.map((r) => [r.lambda, (r.relativeGap ?? Number.NaN) * 1e6] as const) },
        ],
      },
    ],
  });
  const trafficSvg = await barChart({
    title: `Traffic incident detection (${traffic.regions} regions, ${traffic.testIncidents} test incidents)`,
    x: { label: 'method' },
    y: { label: 'rate / AUC' },
    categories: traffic.methods.map((m) => (m.method === 'network lasso' ? `network lasso (λ = ${fixed(m.lambda ?? 0, 3)})` : m.method)),
    series: [
      { name: 'detection rate', values: traffic.methods.map((m) => m.detectionRate) },
      { name: 'false-alarm rate', values: traffic.methods.map((m) => m.falseAlarmRate) },
      { name: 'AUC', values: traffic.methods.map((m) => m.auc) },
    ],
    width: 560,
  });
  writePlot(join(outDir, 'netlasso-kdd-path'), pathSvg);
  writePlot(join(outDir, 'netlasso-traffic'), trafficSvg);
  const totalSeconds = (performance.now() - started) / 1000;
  const results = { quick, kddConfig: config, kdd, trafficOptions, traffic, trafficSeconds, totalSeconds, claims: kddClaims };
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = [
    `# Network Lasso reproduction${quick ? ' (--quick)' : ''}`,
    '',
    `## (a) KDD-style clustered benchmark`,
    '',
    `${kdd.nodes} nodes in ${kdd.groups} groups, ${kdd.edges} edges, d = ${kdd.dim}; ${kdd.workers} \`netlasso-worker\` processes over nats-server, ${kdd.cutEdges} cut edges. ` +
      `Relative gap: (F − F*)/F* with F* from the centralized float64 ADMM (ε = ${REFERENCE_EPS}). Process runs ${kdd.processSeconds.toFixed(0)} s, float64 reference ${kdd.referenceSeconds.toFixed(0)} s.`,
    '',
    `Convergence (λ = ${config.convergenceLambda}, ρ = 1, cold start):`,
    '',
    convergenceTable,
    '',
    `λ path (ρ = 1 + √λ, warm starts, ε = ${config.pathTolerance[0]}/${config.pathTolerance[1]}):`,
    '',
    pathTable,
    '',
    baselineTable,
    '',
    ...kddClaims.map((c) => `- ${c}`),
    '',
    `## (b) Traffic incident detection`,
    '',
    `${trafficHeader} (${trafficSeconds.toFixed(0)} s).`,
    '',
    trafficTables.methods,
    '',
    trafficTables.path,
    '',
    `Total ${totalSeconds.toFixed(0)} s.`,
    '',
  ].join('\n');
  writeFileSync(join(outDir, 'results.md'), md);
  console.log(`\ntotal ${totalSeconds.toFixed(0)} s; wrote ${outDir}/{netlasso-kdd-path.svg/.png, netlasso-traffic.svg/.png, results.json, results.md}`);
}
