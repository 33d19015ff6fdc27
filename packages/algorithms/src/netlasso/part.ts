// One worker's share of a Network Lasso graph on the GPU: its layout, its buffers (x, z, u, the
// messages, the tables the kernels read), a warm start from a known x, and the per-λ report (one
// all-reduce makes it identical on every worker). Built once per membership view: when a view change
// re-partitions the graph over the survivors, each of them builds its new part from the spec.
import type { Gpu } from '@gossamer/gpu';
import { netlassoRidgeFactors, span, uploadNetlassoTable, type F32Span, type NetlassoSampleBuffer, type NetlassoTable } from '@gossamer/kernels';
import type { NetlassoLambdaReport } from './engine.js';
import { workerLayout, type WorkerLayout } from './layout.js';
import { adjustedRandIndex, consensusClusters, testMetricName, testMetricPartial } from './metrics.js';
import { newtonLossOf, nodeLossValue, type NetlassoProblem, type NodeSampleSet } from './problem.js';
import { residualsFromSums } from './residuals.js';

/**
 * Transfer-key tensor ids ('NL' + kind); the λ index is added, the round is the iteration (resume,
 * agree and join: the round is the view epoch).
 */
export const NETLASSO_TENSOR = { messages: 0x4e4c0000, residuals: 0x4e4d0000, report: 0x4e4e0000, resume: 0x4e500000, join: 0x4e510000, agree: 0x4e520000 } as const;

export interface Buffers {
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

/** What one worker holds of the graph, on the GPU. */
export interface GraphPart {
  readonly layout: WorkerLayout;
  readonly buffers: Buffers;
  /** Hosted nodes. */
  readonly nl: number;
  /** Directed copies held. */
  readonly C: number;
  /** Cut copies (their partners' messages come from other workers). */
  readonly R: number;
  /** Copies per hosted node. */
  readonly degree: readonly number[];
  /** Newton-solved losses: where the node samples live in `buffers.data`. */
  readonly samples: NetlassoSampleBuffer | undefined;
  /** This worker's own messages (rows 0 .. C − 1 of `buffers.messages`). */
  readonly own: F32Span;
  readonly node: { nodes: number; dim: number; x: F32Span; z: F32Span; u: F32Span; table: NetlassoTable };
}

/** Builds worker `part`'s share of the graph for a node → part assignment (x = z = u = 0). */
export function createGraphPart(gpu: Gpu, problem: NetlassoProblem, assignment: ArrayLike<number>, part: number): GraphPart {
  const d = problem.dim;
  const layout = workerLayout(problem.graph, assignment, part);
  const nl = layout.nodes.length;
  const C = layout.copies;
  const buffers = createBuffers(gpu, problem, layout);
  const newton = newtonLossOf(problem.loss);
  const train = problem.train;
  const samples: NetlassoSampleBuffer | undefined =
    newton && train
      ? { buffer: buffers.data, featuresOffset: 0, labelsOffset: layout.nodes.reduce((s, g) => s + train.start[g + 1] - train.start[g], 0) * train.featureDim, featureDim: train.featureDim }
      : undefined;
  return {
    layout,
    buffers,
    nl,
    C,
    R: layout.cutRows,
    degree: Array.from({ length: nl }, (_, i) => layout.copyStart[i + 1] - layout.copyStart[i]),
    samples,
    own: span(buffers.messages, 0, C * d),
    node: { nodes: nl, dim: d, x: span(buffers.x, 0, nl * d), z: span(buffers.z, 0, C * d), u: span(buffers.u, 0, C * d), table: buffers.table },
  };
}

export function destroyGraphPart(part: GraphPart): void {
  const b = part.buffers;
  for (const buffer of [b.x, b.z, b.zOld, b.u, b.messages, b.received, b.theta, b.weights, b.owners, b.partner, b.stats, b.data, b.table.buffer]) buffer.destroy();
}

/**
 * Starts the part from a known solution `x` [N × d] (every node's, e.g. the last λ's report): x_i
 * from it, every copy z_ij = x_i, u_ij = 0. ADMM converges from any start, so this is where a λ
 * interrupted by a view change starts again.
 */
export function warmStartGraphPart(gpu: Gpu, part: GraphPart, x: Float32Array, dim: number): void {
  const { layout, nl, C } = part;
  const local = new Float32Array(Math.max(nl * dim, 1));
  layout.nodes.forEach((g, i) => local.set(x.subarray(g * dim, (g + 1) * dim), i * dim));
  const z = new Float32Array(Math.max(C * dim, 1));
  for (let c = 0; c < C; c++) z.set(local.subarray(layout.owners[c] * dim, (layout.owners[c] + 1) * dim), c * dim);
  gpu.write(part.buffers.x, 0, local);
  gpu.write(part.buffers.z, 0, z);
  gpu.write(part.buffers.u, 0, new Float32Array(z.length));
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

export interface ReportInput {
  gpu: Gpu;
  problem: NetlassoProblem;
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
export async function assembleReport(a: ReportInput): Promise<NetlassoLambdaReport> {
  const { gpu, layout, buffers } = a;
  const p = a.problem;
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
