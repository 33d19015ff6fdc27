// Network Lasso node kernels (shaders/netlasso.wgsl, ALGORITHMS.md §4): the batched x-updates of all
// nodes a worker hosts (squared loss in closed form, ridge with a cached factorization, Newton steps
// for logistic / squared hinge / smoothed hinge / one-class SVM) and the per-node residual statistics
// of the stopping rule. One dispatch covers every node; one invocation per node.
//
// Shared layout (see the WGSL header): X [N × d], Z/U [C × d], a u32 table holding the node → copies
// CSR (start [N + 1], list [C]) and, for Newton losses, the node → samples offsets [N + 1].
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { netlasso as source } from './generated/shaders.js';
import { symmetricEigen } from '@gossamer/topology';
import { NEWTON_LOSS_CODE, ridgeNormalEquations, type NewtonLoss, type NodeSamples } from './netlasso-host.js';
import { asSpan, grid1d, type F32Span } from './span.js';

export type { NewtonLoss, NewtonLossKind, NodeSamples, NodeCopies } from './netlasso-host.js';

type Target = GPUBuffer | F32Span;

/** Largest d the node kernels accept (their registers hold a d × d Hessian). */
export const NETLASSO_MAX_DIM = 32;

/** Workgroup size of the node kernels (one invocation per node, each with sizeable private arrays). */
const NODE_WG = 64;

const nodeParams = [
  ['nodes', 'u32'],
  ['d', 'u32'],
  ['x_off', 'u32'],
  ['z_off', 'u32'],
  ['u_off', 'u32'],
  ['start_off', 'u32'],
  ['list_off', 'u32'],
  ['data_off', 'u32'],
  ['labels_off', 'u32'],
  ['samples_off', 'u32'],
  ['feat_dim', 'u32'],
  ['max_steps', 'u32'],
  ['stats_off', 'u32'],
  ['rho', 'f32'],
  ['mu', 'f32'],
  ['scale', 'f32'],
  ['smoothing', 'f32'],
  ['tol', 'f32'],
] as const;

const xStorage = ['read', 'read', 'read', 'read', 'read_write'] as const;

export const netlassoKernels = {
  xSquared: defineKernel({ name: 'netlasso.x_update_squared', source, entryPoint: 'x_update_squared', params: nodeParams, storage: xStorage }),
  xRidge: defineKernel({ name: 'netlasso.x_update_ridge', source, entryPoint: 'x_update_ridge', params: nodeParams, storage: xStorage }),
  xNewton: defineKernel({ name: 'netlasso.x_update_newton', source, entryPoint: 'x_update_newton', params: nodeParams, storage: xStorage }),
  residuals: defineKernel({
    name: 'netlasso.node_residuals',
    source,
    entryPoint: 'node_residuals',
    params: nodeParams,
    storage: ['read', 'read', 'read', 'read', 'read_write', 'read_write'],
  }),
};

/** The u32 table of one worker: where the node → copies CSR (and node → samples offsets) start. */
export interface NetlassoTable {
  /** u32 buffer. */
  readonly buffer: GPUBuffer;
  /** Element offset of start[N + 1]: node i's copies are list[start[i] .. start[i + 1]). */
  readonly copyStartOffset: number;
  /** Element offset of list[C]: copy (row) indices, per node in its neighbours' global-id order. */
  readonly copyListOffset: number;
  /** Element offset of the node → samples offsets [N + 1] (Newton losses only). */
  readonly sampleStartOffset?: number;
}

export interface NetlassoNodeArgs {
  /** Number of nodes N (rows of x). */
  nodes: number;
  dim: number;
  /** [N × d] node variables, updated in place. */
  x: Target;
  /** [C × d] edge variables z_ij. */
  z: Target;
  /** [C × d] scaled duals u_ij. */
  u: Target;
  table: NetlassoTable;
  /** ADMM penalty ρ. */
  rho: number;
}

type Params = Record<(typeof nodeParams)[number][0], number>;

function baseParams(op: string, a: NetlassoNodeArgs): { params: Params; xs: F32Span; zs: F32Span; us: F32Span } {
  const d = a.dim;
  if (!Number.isInteger(d) || d < 1 || d > NETLASSO_MAX_DIM) throw new Error(`${op}: dim must be an integer in [1, ${NETLASSO_MAX_DIM}], got ${d}`);
  if (!Number.isInteger(a.nodes) || a.nodes < 0) throw new Error(`${op}: nodes must be a non-negative integer, got ${a.nodes}`);
  if (!(a.rho > 0 && Number.isFinite(a.rho))) throw new Error(`${op}: ρ must be finite and > 0, got ${a.rho}`);
  const [xs, zs, us] = [a.x, a.z, a.u].map((t) => asSpan(t));
  if (xs.length !== a.nodes * d) throw new Error(`${op}: x has ${xs.length} floats, expected ${a.nodes} × ${d}`);
  if (zs.length !== us.length || zs.length % d !== 0) throw new Error(`${op}: z and u must both be [C × ${d}] (got ${zs.length} and ${us.length} floats)`);
  const params: Params = {
    nodes: a.nodes,
    d,
    x_off: xs.offset,
    z_off: zs.offset,
    u_off: us.offset,
    start_off: a.table.copyStartOffset,
    list_off: a.table.copyListOffset,
    data_off: 0,
    labels_off: 0,
    samples_off: a.table.sampleStartOffset ?? 0,
    feat_dim: 0,
    max_steps: 0,
    stats_off: 0,
    rho: a.rho,
    mu: 0,
    scale: 0,
    smoothing: 0,
    tol: 0,
  };
  return { params, xs, zs, us };
}

/** Squared loss f_i = ½‖x − a_i‖²: x_i ← (a_i + ρ Σ_j (z_ij − u_ij)) / (1 + ρ deg_i) for every node. */
export function netlassoXUpdateSquared(step: StepEncoder, args: NetlassoNodeArgs & { anchors: Target }): void {
  const op = 'netlassoXUpdateSquared';
  const { params, xs, zs, us } = baseParams(op, args);
  const as = asSpan(args.anchors);
  if (as.length !== xs.length) throw new Error(`${op}: anchors have ${as.length} floats, expected ${xs.length}`);
  params.data_off = as.offset;
  checkWritableUnaliased(op, [xs], [zs, us, as]);
  step.dispatch(netlassoKernels.xSquared, params, [zs.buffer, us.buffer, args.table.buffer, as.buffer, xs.buffer], grid1d(args.nodes, NODE_WG), { WG: NODE_WG });
}

/** Floats per node of the ridge factor cache: Q (d × d), eig (d), rhs0 (d). */
export function ridgeFactorStride(d: number): number {
  return d * d + 2 * d;
}

/**
 * The ridge factor cache of every node (float64 on the host, once per problem): the eigendecomposition
 * 2AᵀA + 2μI = Q diag(eig) Qᵀ and rhs0 = 2Aᵀb, packed [N × (d² + 2d)] as float32. Unlike a Cholesky
 * factor of 2AᵀA + 2μI + ρ deg I, it stays valid when ρ changes (λ path, residual balancing).
 */
export function netlassoRidgeFactors(samples: NodeSamples, nodes: number, d: number, mu: number): Float32Array {
  const stride = ridgeFactorStride(d);
  const out = new Float32Array(nodes * stride);
  for (let i = 0; i < nodes; i++) {
    const { gram, atb } = ridgeNormalEquations(samples, i, d, mu);
    const { q, eig } = symmetricEigen(gram, d);
    out.set(q, i * stride);
    out.set(eig, i * stride + d * d);
    out.set(atb, i * stride + d * d + d);
  }
  return out;
}

/**
 * Ridge least squares f_i = ‖A_i x − b_i‖² + μ‖x‖²: x_i ← (2AᵀA + 2μI + ρ deg_i I)⁻¹ (2Aᵀb + ρ Σ_j (z_ij − u_ij))
 * through the cached factors of {@link netlassoRidgeFactors}.
 */
export function netlassoXUpdateRidge(step: StepEncoder, args: NetlassoNodeArgs & { factors: Target }): void {
  const op = 'netlassoXUpdateRidge';
  const { params, xs, zs, us } = baseParams(op, args);
  const fs = asSpan(args.factors);
  if (fs.length !== args.nodes * ridgeFactorStride(args.dim)) throw new Error(`${op}: factors have ${fs.length} floats, expected ${args.nodes} × ${ridgeFactorStride(args.dim)}`);
  params.data_off = fs.offset;
  checkWritableUnaliased(op, [xs], [zs, us, fs]);
  step.dispatch(netlassoKernels.xRidge, params, [zs.buffer, us.buffer, args.table.buffer, fs.buffer, xs.buffer], grid1d(args.nodes, NODE_WG), { WG: NODE_WG });
}

/** Training samples on the GPU: features [S × featureDim] and labels [S] in one f32 buffer. */
export interface NetlassoSampleBuffer {
  readonly buffer: GPUBuffer;
  readonly featuresOffset: number;
  readonly labelsOffset: number;
  readonly featureDim: number;
}

export interface NewtonOptions {
  /** Newton steps per x-update (default 1: the warm-started single step of ALGORITHMS.md §4). */
  steps?: number;
  /** With steps > 1: stop a node's steps once ‖δ‖ ≤ tol (1 + ‖x‖) (an "exact" solve). Default 0. */
  tol?: number;
}

/**
 * Newton x-update of every node (warm-started from the current x): `steps` Newton steps on
 * f_i(x) + (ρ/2) Σ_j ‖x − z_ij + u_ij‖² with a Cholesky solve of ∇²f_i + ρ deg_i I per node.
 */
export function netlassoXUpdateNewton(
  step: StepEncoder,
  args: NetlassoNodeArgs & { samples: NetlassoSampleBuffer; loss: NewtonLoss; newton?: NewtonOptions },
): void {
  const op = 'netlassoXUpdateNewton';
  const { params, xs, zs, us } = baseParams(op, args);
  const { loss, samples } = args;
  if (args.table.sampleStartOffset === undefined) throw new Error(`${op}: the table needs sampleStartOffset`);
  const wantFeatures = loss.kind === 'ocsvm' ? args.dim - 1 : args.dim;
  if (samples.featureDim !== wantFeatures) throw new Error(`${op}: ${loss.kind} with dim ${args.dim} needs ${wantFeatures} features per sample, got ${samples.featureDim}`);
  const steps = args.newton?.steps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${op}: Newton steps must be an integer ≥ 1, got ${steps}`);
  params.data_off = samples.featuresOffset;
  params.labels_off = samples.labelsOffset;
  params.feat_dim = samples.featureDim;
  params.max_steps = steps;
  params.mu = loss.mu;
  params.scale = loss.scale;
  params.smoothing = loss.smoothing;
  params.tol = args.newton?.tol ?? 0;
  checkWritableUnaliased(op, [xs], [zs, us]);
  if (samples.buffer === xs.buffer) throw new Error(`${op}: samples must not share x's buffer`);
  step.dispatch(netlassoKernels.xNewton, params, [zs.buffer, us.buffer, args.table.buffer, samples.buffer, xs.buffer], grid1d(args.nodes, NODE_WG), {
    WG: NODE_WG,
    LOSS: NEWTON_LOSS_CODE[loss.kind],
  });
}

/** Floats per node written by {@link netlassoNodeResiduals}. */
export const NETLASSO_RESIDUAL_STATS = 5;

/**
 * stats[5i ..] ← [Σ_j ‖x_i − z_ij‖², ‖Σ_j (z_ij − z_ij_old)‖², ‖x_i‖², Σ_j ‖z_ij‖², ‖Σ_j u_ij‖²] for every
 * node: what the local and global residual tests of ALGORITHMS.md §4 are built from (ρ applied on the host).
 */
export function netlassoNodeResiduals(step: StepEncoder, args: NetlassoNodeArgs & { zOld: Target; stats: Target }): void {
  const op = 'netlassoNodeResiduals';
  const { params, xs, zs, us } = baseParams(op, args);
  const [os, ss] = [asSpan(args.zOld), asSpan(args.stats)];
  if (os.length !== zs.length) throw new Error(`${op}: zOld has ${os.length} floats, expected ${zs.length}`);
  if (ss.length !== NETLASSO_RESIDUAL_STATS * args.nodes) throw new Error(`${op}: stats has ${ss.length} floats, expected 5 × ${args.nodes}`);
  if (os.offset !== zs.offset && os.buffer === zs.buffer) throw new Error(`${op}: zOld must be its own buffer`);
  params.data_off = os.offset;
  params.stats_off = ss.offset;
  checkWritableUnaliased(op, [xs, ss], [zs, us, os]);
  step.dispatch(netlassoKernels.residuals, params, [zs.buffer, us.buffer, args.table.buffer, os.buffer, xs.buffer, ss.buffer], grid1d(args.nodes, NODE_WG), {
    WG: NODE_WG,
  });
}

/** Uploads a u32 table [start | list | sampleStart?] and returns its offsets. */
export function uploadNetlassoTable(gpu: Gpu, copyStart: ArrayLike<number>, copyList: ArrayLike<number>, sampleStart?: ArrayLike<number>): NetlassoTable {
  const n = copyStart.length + copyList.length + (sampleStart?.length ?? 0);
  const words = new Uint32Array(Math.max(n, 1));
  words.set(Array.from(copyStart), 0);
  words.set(Array.from(copyList), copyStart.length);
  if (sampleStart) words.set(Array.from(sampleStart), copyStart.length + copyList.length);
  return {
    buffer: gpu.upload(words, 'netlasso-table'),
    copyStartOffset: 0,
    copyListOffset: copyStart.length,
    sampleStartOffset: sampleStart ? copyStart.length + copyList.length : undefined,
  };
}
