// Network Lasso by decentralized ADMM on one worker (ALGORITHMS.md §4). The worker hosts a part of the
// graph; per iteration it runs, on the GPU, the batched x-update of all its nodes and the messages
// m_ij = x_i + u_ij (one submit), exchanges the cut-edge messages with each neighbouring worker (one
// tensor per neighbour, waiting only for its neighbours), then the z-update of all its copies, the
// u-update and the per-node residual statistics (one submit). Stopping is decentralized: local
// residual tests, streak counters piggybacked on the messages, a diameter bound and a flooded halt.
// The same code runs alone (no transport), in-process (simulation) and over NATS.
import type { Gpu, StepEncoder } from '@gossamer/gpu';
import {
  admmEdgeMessages,
  admmUUpdate,
  admmZUpdateFromMessages,
  gatherRows,
  netlassoNodeResiduals,
  netlassoRidgeFactors,
  netlassoXUpdateNewton,
  netlassoXUpdateRidge,
  netlassoXUpdateSquared,
  scale,
  span,
  uploadNetlassoTable,
  type NetlassoSampleBuffer,
  type NetlassoTable,
  type NewtonOptions,
} from '@gossamer/kernels';
import { bfsDistances, connectedComponents, type Graph } from '@gossamer/topology';
import type { Transport } from '@gossamer/transport';
import { workerLayout, type WorkerLayout } from './layout.js';
import { adjustedRandIndex, consensusClusters, testMetricName, testMetricPartial } from './metrics.js';
import { newtonLossOf, nodeLossValue, validateProblem, type NetlassoProblem, type NodeSampleSet } from './problem.js';
import { residualsFromSums, type GlobalResiduals } from './reference.js';

/** Transfer-key tensor ids ('NL' + kind); the λ index is added, the round is the iteration. */
export const NETLASSO_TENSOR = { messages: 0x4e4c0000, residuals: 0x4e4d0000, report: 0x4e4e0000 } as const;

export interface ResidualBalancing {
  /** Rebalance when one residual exceeds the other by this factor (default 10). */
  mu?: number;
  /** Multiply or divide ρ by this (default 2). */
  tau?: number;
  /** Only during the first this many iterations of each λ (default 50): bounded, so ADMM converges. */
  iterations?: number;
}

export interface NetlassoOptions {
  /** Default 1e-4. */
  epsAbs?: number;
  /** Default 1e-3. */
  epsRel?: number;
  /** ρ = ρ0 + √λ per λ (default ρ0 = 1). */
  rho0?: number;
  /** A fixed ρ for every λ instead of ρ0 + √λ (e.g. the reference runs' ρ = 1). */
  rho?: number;
  /** Iteration cap per λ (default 10 000). */
  maxIterations?: number;
  /**
   * 'decentralized' (default): local tests, piggybacked streak counters and a flooded halt, no
   * collective per iteration. 'global': the global test of ALGORITHMS.md §4 on all-reduced residuals
   * every iteration (a barrier; for comparison with centralized ADMM).
   */
  stopping?: 'decentralized' | 'global';
  /** Diameter bound D of the stopping rule (default: computed from the graph, see stoppingDiameter). */
  diameterBound?: number;
  /** Residual balancing (ρ ×τ if r > μs, ÷τ if s > μr, u rescaled by ρ_old/ρ_new); off by default. */
  residualBalancing?: boolean | ResidualBalancing;
  /** Newton x-updates: default one warm-started step; { steps, tol } for exact solves. */
  newton?: NewtonOptions;
  /** Record the global residuals of every iteration (all-reduced when there are several workers). */
  history?: boolean;
  /** Receive timeout for neighbours' messages, ms (default: the transport's). */
  receiveTimeoutMs?: number;
}

export interface NetlassoWorkerConfig {
  gpu: Gpu;
  problem: NetlassoProblem;
  /** Node → worker part (e.g. partitionGraph(...).assignment); all zeros for a single worker. */
  assignment: ArrayLike<number>;
  part: number;
  /** Required with more than one part. */
  transport?: Transport;
  /** Transport id of each part's worker (default: transport.members(), sorted). */
  workers?: readonly string[];
  /** The λ path, solved in order with warm starts (see lambdaPath). */
  lambdas: readonly number[];
  options?: NetlassoOptions;
  /** Called after each λ with its report (metrics, not printing). */
  onReport?: (report: NetlassoLambdaReport) => void;
}

export interface ResidualRecord extends GlobalResiduals {
  iteration: number;
  rho: number;
}

/** Everything reported for one λ; identical on every worker. */
export interface NetlassoLambdaReport {
  lambdaIndex: number;
  lambda: number;
  /** ρ at the end of this λ. */
  rho: number;
  /** ADMM iterations run for this λ. */
  iterations: number;
  /** Whether the stopping rule halted it (false: the iteration cap). */
  converged: boolean;
  /** Decentralized rule: first iteration (0-based) at which some node's counter reached D + 1. */
  haltDetectedAt: number | null;
  diameterBound: number;
  objective: number;
  /** Σ f_i(x_i). */
  loss: number;
  /** λ Σ w ‖x_j − x_k‖. */
  penalty: number;
  /** Global residuals of the last iteration. */
  residuals: GlobalResiduals;
  consensusEdges: number;
  consensusFraction: number;
  /** Connected components of the consensus edges (θ = ½ at the last z-update). */
  clusters: number;
  clusterLabels: Int32Array;
  /** Adjusted Rand index of the clusters vs the problem's groups (null without ground truth). */
  ari: number | null;
  metricName: string;
  metric: number | null;
  /** [N × d] every node's x (gathered for the report). */
  x: Float32Array;
  history?: ResidualRecord[];
  rhoChanges: number;
  seconds: number;
  /** Time spent waiting for neighbours' messages. */
  waitSeconds: number;
}

export interface NetlassoWorkerResult {
  reports: NetlassoLambdaReport[];
  layout: WorkerLayout;
}

/** λ = 0 (optional), then start·factor^k for k = 0 .. count − 1. */
export function lambdaPath(o: { start: number; factor: number; count: number; includeZero?: boolean }): number[] {
  const out = o.includeZero === false ? [] : [0];
  for (let k = 0; k < o.count; k++) out.push(o.start * o.factor ** k);
  return out;
}

/**
 * The diameter bound D of the stopping rule: the exact hop diameter (largest over components) for
 * graphs up to 2 000 nodes, else twice a double-sweep eccentricity per component (a valid upper bound).
 */
export function stoppingDiameter(g: Graph): number {
  const comps = connectedComponents(g);
  let best = 0;
  if (g.n <= 2000) {
    for (let s = 0; s < g.n; s++) {
      const dist = bfsDistances(g, s);
      for (let i = 0; i < g.n; i++) best = Math.max(best, dist[i]);
    }
    return best;
  }
  const seen = new Set<number>();
  for (let s = 0; s < g.n; s++) {
    if (seen.has(comps.label[s])) continue;
    seen.add(comps.label[s]);
    let far = s;
    let ecc = 0;
    for (let sweep = 0; sweep < 2; sweep++) {
      const dist = bfsDistances(g, far);
      ecc = 0;
      for (let i = 0; i < g.n; i++) {
        if (dist[i] > ecc) {
          ecc = dist[i];
          far = i;
        }
      }
    }
    best = Math.max(best, 2 * ecc);
  }
  return best;
}

interface Buffers {
  x: GPUBuffer;
  z: GPUBuffer;
  zOld: GPUBuffer;
  u: GPUBuffer;
  messages: GPUBuffer;
  received: GPUBuffer;
  theta: GPUBuffer;
  weights: GPUBuffer;
  owners: GPUBuffer;
  partner: GPUBuffer;
  stats: GPUBuffer;
  data: GPUBuffer;
  table: NetlassoTable;
}

/** Runs the λ path on one worker. Every worker of a run calls this with the same problem, assignment, λs and options. */
export async function runNetlassoWorker(config: NetlassoWorkerConfig): Promise<NetlassoWorkerResult> {
  const { gpu, problem, part } = config;
  validateProblem(problem);
  const o = config.options ?? {};
  const d = problem.dim;
  const graph = problem.graph;
  const parts = Math.max(...Array.from(config.assignment)) + 1;
  const transport = config.transport;
  if (parts > 1 && !transport) throw new Error(`runNetlassoWorker: ${parts} parts need a transport`);
  const workers = config.workers ?? (transport ? [...transport.members()].sort() : ['local']);
  if (parts > 1 && workers.length < parts) throw new Error(`runNetlassoWorker: ${parts} parts but only ${workers.length} workers`);
  const layout = workerLayout(graph, config.assignment, part);
  const nl = layout.nodes.length;
  const C = layout.copies;
  const R = layout.cutRows;
  const epsAbs = o.epsAbs ?? 1e-4;
  const epsRel = o.epsRel ?? 1e-3;
  const maxIterations = o.maxIterations ?? 10_000;
  const D = o.diameterBound ?? stoppingDiameter(graph);
  const stopping = o.stopping ?? 'decentralized';
  const balancing = o.residualBalancing ? { mu: 10, tau: 2, iterations: 50, ...(o.residualBalancing === true ? {} : o.residualBalancing) } : undefined;
  const group = workers.slice(0, parts);
  const multi = parts > 1;

  const buffers = createBuffers(gpu, problem, layout);
  const degree = Array.from({ length: nl }, (_, i) => layout.copyStart[i + 1] - layout.copyStart[i]);
  const newton = newtonLossOf(problem.loss);
  const samples: NetlassoSampleBuffer | undefined = newton
    ? { buffer: buffers.data, featuresOffset: 0, labelsOffset: layout.nodes.reduce((s, g) => s + problem.train!.start[g + 1] - problem.train!.start[g], 0) * problem.train!.featureDim, featureDim: problem.train!.featureDim }
    : undefined;
  const own = span(buffers.messages, 0, C * d);
  const node = { nodes: nl, dim: d, x: span(buffers.x, 0, nl * d), z: span(buffers.z, 0, C * d), u: span(buffers.u, 0, C * d), table: buffers.table };

  const xUpdate = (step: StepEncoder, rho: number): void => {
    const args = { ...node, rho };
    if (problem.loss.kind === 'squared') netlassoXUpdateSquared(step, { ...args, anchors: span(buffers.data, 0, nl * d) });
    else if (problem.loss.kind === 'ridge') netlassoXUpdateRidge(step, { ...args, factors: span(buffers.data, 0, nl * (d * d + 2 * d)) });
    else netlassoXUpdateNewton(step, { ...args, samples: samples!, loss: newton!, newton: o.newton });
  };

  const allReduceSum = async (tensor: number, round: number, data: Float32Array): Promise<Float32Array> =>
    multi ? transport!.allReduce({ tensor, round }, data, { op: 'sum', group }) : data;

  const reports: NetlassoLambdaReport[] = [];
  let rho = 0;
  try {
    for (let li = 0; li < config.lambdas.length; li++) {
      const lambda = config.lambdas[li];
      const started = performance.now();
      let waitMs = 0;
      const newRho = o.rho ?? (o.rho0 ?? 1) + Math.sqrt(lambda);
      // Warm start from the previous λ; u is the scaled dual y/ρ, so it follows ρ.
      let uScale = rho > 0 ? rho / newRho : 1;
      rho = newRho;
      let rhoChanges = 0;
      const streak = new Int32Array(nl);
      let counter = new Float64Array(nl);
      let haltAt = new Float64Array(nl).fill(Infinity);
      const remoteCounter = new Float64Array(R);
      const remoteHalt = new Float64Array(R).fill(Infinity);
      let detectedAt: number | null = null;
      let converged = false;
      let iterations = 0;
      const history: ResidualRecord[] = [];
      for (let k = 0; k < maxIterations; k++) {
        iterations = k + 1;
        // 1. x-update of every hosted node, then the messages m_ij = x_i + u_ij of every copy.
        const stepA = gpu.beginStep('netlasso-x');
        if (uScale !== 1) scale(stepA, node.u, uScale);
        uScale = 1;
        xUpdate(stepA, rho);
        admmEdgeMessages(stepA, { x: node.x, u: node.u, owners: span(buffers.owners, 0, C), messages: own, dim: d });
        const outgoing = R > 0 ? stepA.readback(buffers.messages, 0, R * d * 4) : undefined;
        stepA.submit();
        // 2. Exchange the cut-edge messages (with last iteration's counters) with each neighbour.
        if (outgoing) {
          const rows = new Float32Array(await outgoing);
          const key = { tensor: NETLASSO_TENSOR.messages + li, round: k };
          const waitStart = performance.now();
          const sends = layout.neighbours.map((nb) => {
            const payload = new Float32Array(nb.rows * (d + 2));
            payload.set(rows.subarray(nb.first * d, (nb.first + nb.rows) * d));
            for (let r = 0; r < nb.rows; r++) {
              const owner = layout.owners[nb.first + r];
              payload[nb.rows * d + r] = counter[owner];
              // "No halt planned" travels as −1: transports carry finite values only.
              payload[nb.rows * (d + 1) + r] = Number.isFinite(haltAt[owner]) ? haltAt[owner] : -1;
            }
            return transport!.send(workers[nb.part], key, payload);
          });
          const receives = layout.neighbours.map(async (nb) => {
            const m = await transport!.receive(workers[nb.part], key, { timeoutMs: o.receiveTimeoutMs });
            if (m.length !== nb.rows * (d + 2)) throw new Error(`Network Lasso: worker ${workers[nb.part]} sent ${m.length} floats, expected ${nb.rows * (d + 2)}`);
            gpu.write(buffers.messages, (C + nb.first) * d * 4, m.subarray(0, nb.rows * d));
            for (let r = 0; r < nb.rows; r++) {
              remoteCounter[nb.first + r] = m[nb.rows * d + r];
              const halt = m[nb.rows * (d + 1) + r];
              remoteHalt[nb.first + r] = halt < 0 ? Infinity : halt;
            }
          });
          await Promise.all([...receives, ...sends]);
          waitMs += performance.now() - waitStart;
        }
        // 3. z-update of every copy from (own message, partner's message), u-update, residual statistics.
        const stepB = gpu.beginStep('netlasso-zu');
        gatherRows(stepB, {
          source: { buffer: buffers.messages, offset: 0, length: (C + R) * d },
          indices: { buffer: buffers.partner, offset: 0, count: C },
          destination: { buffer: buffers.received, offset: 0, length: C * d },
          rowLength: d,
        });
        if (C > 0) stepB.copy(buffers.z, 0, buffers.zOld, 0, C * d * 4);
        admmZUpdateFromMessages(
          stepB,
          { own, received: span(buffers.received, 0, C * d), weights: span(buffers.weights, 0, C), z: node.z, theta: span(buffers.theta, 0, C), dim: d },
          { lambda, rho },
        );
        admmUUpdate(stepB, { x: node.x, z: node.z, owners: span(buffers.owners, 0, C), u: node.u, dim: d });
        netlassoNodeResiduals(stepB, { ...node, rho, zOld: span(buffers.zOld, 0, C * d), stats: span(buffers.stats, 0, 5 * nl) });
        const statsRead = stepB.readback(buffers.stats, 0, 5 * nl * 4);
        stepB.submit();
        const stats = new Float32Array(await statsRead);

        // 4. Stopping. Local tests (ALGORITHMS.md §4) per node, then the counters
        //    c_i(k) = min(streak_i(k), 1 + min_j c_j(k−1)) and the flooded halt iteration.
        const nextCounter = new Float64Array(nl);
        const nextHalt = new Float64Array(nl);
        let allHalted = nl > 0;
        for (let i = 0; i < nl; i++) {
          const deg = degree[i];
          const r = Math.sqrt(stats[5 * i]);
          const s = rho * Math.sqrt(stats[5 * i + 1]);
          const epsPri = Math.sqrt(d * deg) * epsAbs + epsRel * Math.max(Math.sqrt(deg * stats[5 * i + 2]), Math.sqrt(stats[5 * i + 3]));
          const epsDual = Math.sqrt(d) * epsAbs + epsRel * rho * Math.sqrt(stats[5 * i + 4]);
          streak[i] = r <= epsPri && s <= epsDual ? streak[i] + 1 : 0;
          let neighbourCounter = Infinity;
          let halt = haltAt[i];
          for (const ref of layout.nodeNeighbours[i]) {
            neighbourCounter = Math.min(neighbourCounter, ref >= 0 ? counter[ref] : remoteCounter[-1 - ref]);
            halt = Math.min(halt, ref >= 0 ? haltAt[ref] : remoteHalt[-1 - ref]);
          }
          nextCounter[i] = Math.min(streak[i], 1 + neighbourCounter);
          if (nextCounter[i] >= D + 1) {
            // Every node within D hops (all of its component) was converged at k − D.
            if (detectedAt === null) detectedAt = k;
            halt = Math.min(halt, k + D);
          }
          nextHalt[i] = halt;
          if (!(halt <= k)) allHalted = false;
        }
        counter = nextCounter;
        haltAt = nextHalt;

        const balanceNow = balancing !== undefined && k < balancing.iterations;
        let global: GlobalResiduals | undefined;
        if (stopping === 'global' || o.history || balanceNow) {
          const local = [0, 0, 0, 0, 0];
          for (let i = 0; i < nl; i++) {
            local[0] += stats[5 * i];
            local[1] += stats[5 * i + 1];
            local[2] += degree[i] * stats[5 * i + 2];
            local[3] += stats[5 * i + 3];
            local[4] += stats[5 * i + 4];
          }
          const sums = await allReduceSum(NETLASSO_TENSOR.residuals + li, k, Float32Array.from(local));
          global = residualsFromSums(sums, graph.n, d, graph.edges.length, rho, epsAbs, epsRel);
          if (o.history) history.push({ iteration: k, rho, ...global });
        }
        if (stopping === 'global' ? global!.primal <= global!.epsPrimal && global!.dual <= global!.epsDual : allHalted) {
          converged = true;
          break;
        }
        if (balanceNow && global) {
          const { mu, tau } = balancing!;
          if (global.primal > mu * global.dual) {
            rho *= tau;
            uScale = 1 / tau;
            rhoChanges++;
          } else if (global.dual > mu * global.primal) {
            rho /= tau;
            uScale = tau;
            rhoChanges++;
          }
        }
      }
      const report = await assembleReport({
        config,
        layout,
        buffers,
        lambdaIndex: li,
        lambda,
        rho,
        iterations,
        converged,
        detectedAt,
        diameterBound: D,
        allReduceSum,
        epsAbs,
        epsRel,
      });
      report.history = o.history ? history : undefined;
      report.rhoChanges = rhoChanges;
      report.seconds = (performance.now() - started) / 1000;
      report.waitSeconds = waitMs / 1000;
      reports.push(report);
      config.onReport?.(report);
    }
  } finally {
    await gpu.sync().catch(() => undefined);
    for (const b of [buffers.x, buffers.z, buffers.zOld, buffers.u, buffers.messages, buffers.received, buffers.theta, buffers.weights, buffers.owners, buffers.partner, buffers.stats, buffers.data, buffers.table.buffer]) b.destroy();
  }
  return { reports, layout };
}

function localSamples(s: NodeSampleSet, nodes: Int32Array): { features: Float32Array; labels: Float32Array; start: Uint32Array } {
  const start = new Uint32Array(nodes.length + 1);
  nodes.forEach((g, i) => (start[i + 1] = start[i] + s.start[g + 1] - s.start[g]));
  const features = new Float32Array(start[nodes.length] * s.featureDim);
  const labels = new Float32Array(start[nodes.length]);
  nodes.forEach((g, i) => {
    features.set(s.features.subarray(s.start[g] * s.featureDim, s.start[g + 1] * s.featureDim), start[i] * s.featureDim);
    labels.set(s.labels.subarray(s.start[g], s.start[g + 1]), start[i]);
  });
  return { features, labels, start };
}

function createBuffers(gpu: Gpu, p: NetlassoProblem, l: WorkerLayout): Buffers {
  const d = p.dim;
  const nl = l.nodes.length;
  const C = l.copies;
  const R = l.cutRows;
  const f32 = (count: number, label: string): GPUBuffer => gpu.createBuffer(Math.max(count, 1) * 4, undefined, label);
  let data: Float32Array;
  let sampleStart: Uint32Array | undefined;
  if (p.loss.kind === 'squared') {
    data = new Float32Array(nl * d);
    l.nodes.forEach((g, i) => data.set(p.anchors!.subarray(g * d, (g + 1) * d), i * d));
  } else {
    const local = localSamples(p.train!, l.nodes);
    if (p.loss.kind === 'ridge') {
      const localSet = { features: local.features, labels: local.labels, start: local.start, featureDim: p.train!.featureDim };
      data = netlassoRidgeFactors(localSet, nl, d, p.loss.mu);
    } else {
      data = new Float32Array(local.features.length + local.labels.length);
      data.set(local.features);
      data.set(local.labels, local.features.length);
      sampleStart = local.start;
    }
  }
  const upload = (values: Float32Array | Uint32Array, label: string): GPUBuffer => (values.length > 0 ? gpu.upload(values, label) : f32(1, label));
  return {
    x: f32(nl * d, 'netlasso-x'),
    z: f32(C * d, 'netlasso-z'),
    zOld: f32(C * d, 'netlasso-z-old'),
    u: f32(C * d, 'netlasso-u'),
    messages: f32((C + R) * d, 'netlasso-messages'),
    received: f32(C * d, 'netlasso-received'),
    theta: f32(C, 'netlasso-theta'),
    weights: upload(l.weights, 'netlasso-weights'),
    owners: upload(l.owners, 'netlasso-owners'),
    partner: upload(l.partner, 'netlasso-partner'),
    stats: f32(5 * nl, 'netlasso-stats'),
    data: upload(data, 'netlasso-data'),
    table: uploadNetlassoTable(gpu, l.copyStart, l.copyList, sampleStart),
  };
}

interface ReportInput {
  config: NetlassoWorkerConfig;
  layout: WorkerLayout;
  buffers: Buffers;
  lambdaIndex: number;
  lambda: number;
  rho: number;
  iterations: number;
  converged: boolean;
  detectedAt: number | null;
  diameterBound: number;
  allReduceSum: (tensor: number, round: number, data: Float32Array) => Promise<Float32Array>;
  epsAbs: number;
  epsRel: number;
}

/**
 * The per-λ report, identical on every worker: one all-reduce (sum) of [every node's x (zeros for
 * other workers' nodes) | consensus flag per edge (written by the worker of the edge's lower end) |
 * Σ f_i | test-metric sum and count | residual sums]. Per λ, not per iteration.
 */
async function assembleReport(a: ReportInput): Promise<NetlassoLambdaReport> {
  const { config, layout, buffers } = a;
  const p = config.problem;
  const gpu = config.gpu;
  const d = p.dim;
  const n = p.graph.n;
  const e = p.graph.edges.length;
  const nl = layout.nodes.length;
  const step = gpu.beginStep('netlasso-report');
  const xRead = step.readback(buffers.x, 0, Math.max(nl * d, 1) * 4);
  const thetaRead = step.readback(buffers.theta, 0, Math.max(layout.copies, 1) * 4);
  const statsRead = step.readback(buffers.stats, 0, Math.max(5 * nl, 1) * 4);
  step.submit();
  const [x, theta, stats] = [new Float32Array(await xRead), new Float32Array(await thetaRead), new Float32Array(await statsRead)];
  const offsets = { consensus: n * d, loss: n * d + e, metric: n * d + e + 1, sums: n * d + e + 3 };
  const buf = new Float32Array(n * d + e + 8);
  layout.nodes.forEach((g, i) => buf.set(x.subarray(i * d, (i + 1) * d), g * d));
  for (let c = 0; c < layout.copies; c++) {
    const k = layout.copyEdge[c];
    if (p.graph.edges[k].u === layout.nodes[layout.owners[c]] && theta[c] === 0.5) buf[offsets.consensus + k] = 1;
  }
  let loss = 0;
  layout.nodes.forEach((g, i) => (loss += nodeLossValue(p, g, x.subarray(i * d, (i + 1) * d))));
  buf[offsets.loss] = loss;
  const metric = testMetricPartial(p, layout.nodes, (g, k) => x[layout.localOf[g] * d + k]);
  buf[offsets.metric] = metric.sum;
  buf[offsets.metric + 1] = metric.count;
  for (let i = 0; i < nl; i++) {
    const deg = layout.copyStart[i + 1] - layout.copyStart[i];
    buf[offsets.sums] += stats[5 * i];
    buf[offsets.sums + 1] += stats[5 * i + 1];
    buf[offsets.sums + 2] += deg * stats[5 * i + 2];
    buf[offsets.sums + 3] += stats[5 * i + 3];
    buf[offsets.sums + 4] += stats[5 * i + 4];
  }
  const all = await a.allReduceSum(NETLASSO_TENSOR.report, a.lambdaIndex, buf);
  const xAll = all.slice(0, n * d);
  const consensus = all.subarray(offsets.consensus, offsets.consensus + e);
  let penalty = 0;
  for (const edge of p.graph.edges) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (xAll[edge.u * d + k] - xAll[edge.v * d + k]) ** 2;
    penalty += edge.w * Math.sqrt(s);
  }
  const consensusEdges = consensus.reduce((s, v) => s + (v > 0 ? 1 : 0), 0);
  const clusters = consensusClusters(p.graph, Array.from(consensus, (v) => v > 0));
  const metricCount = all[offsets.metric + 1];
  return {
    lambdaIndex: a.lambdaIndex,
    lambda: a.lambda,
    rho: a.rho,
    iterations: a.iterations,
    converged: a.converged,
    haltDetectedAt: a.detectedAt,
    diameterBound: a.diameterBound,
    objective: all[offsets.loss] + a.lambda * penalty,
    loss: all[offsets.loss],
    penalty: a.lambda * penalty,
    residuals: residualsFromSums(all.subarray(offsets.sums, offsets.sums + 5), n, d, e, a.rho, a.epsAbs, a.epsRel),
    consensusEdges,
    consensusFraction: e > 0 ? consensusEdges / e : 1,
    clusters: clusters.count,
    clusterLabels: clusters.labels,
    ari: p.groups ? adjustedRandIndex(clusters.labels, p.groups) : null,
    metricName: testMetricName(p),
    metric: metricCount > 0 ? all[offsets.metric] / metricCount : null,
    x: xAll,
    rhoChanges: 0,
    seconds: 0,
    waitSeconds: 0,
  };
}
