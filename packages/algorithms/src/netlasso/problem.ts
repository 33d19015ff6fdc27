// The Network Lasso problem (SnapVX-like): a graph whose nodes each hold local data and a convex loss
// f_i over their own x_i ∈ R^d, and weighted edges; minimize Σ_i f_i(x_i) + λ Σ_(j,k) w_jk ‖x_j − x_k‖₂.
import { netlassoReference, type NewtonLoss } from '@gossamer/kernels';
import type { Graph } from '@gossamer/topology';

/**
 * Local losses (all convex; the x-update of each is in shaders/netlasso.wgsl):
 * - `squared`: f_i = ½‖x − a_i‖² (a_i = the node's anchor row), closed form;
 * - `ridge`: f_i = ‖A_i x − b_i‖² + μ‖x‖² (rows = the node's training samples), cached factorization;
 * - `logistic`, `squaredHinge`, `smoothedHinge`: f_i = (μ/2)‖x‖² + C Σ_s ℓ(y_s a_sᵀx) with
 *   ℓ = log(1 + e^−m), max(0, 1 − m)², or the Huberized hinge of width h; Newton steps;
 * - `ocsvm`: primal linear one-class SVM, x = (w, r) with d = features + 1,
 *   f_i = ½‖w‖² − r + (1/(ν n_i)) Σ_s H_h(r − wᵀφ_s) (H_h = hinge smoothed over width h); Newton steps.
 */
export type NetlassoLoss =
  | { readonly kind: 'squared' }
  | { readonly kind: 'ridge'; readonly mu: number }
  | { readonly kind: 'logistic'; readonly mu: number; readonly scale?: number }
  | { readonly kind: 'squaredHinge'; readonly mu: number; readonly scale?: number }
  | { readonly kind: 'smoothedHinge'; readonly mu: number; readonly scale?: number; readonly smoothing?: number }
  | { readonly kind: 'ocsvm'; readonly nu: number; readonly smoothing?: number };

export type NetlassoLossKind = NetlassoLoss['kind'];

/** Samples of every node: node i owns samples start[i] .. start[i + 1]. */
export interface NodeSampleSet {
  readonly featureDim: number;
  /** [N + 1] offsets. */
  readonly start: Int32Array;
  /** [S × featureDim], row-major. */
  readonly features: Float32Array;
  /** [S]: ±1 class labels (margin losses), regression targets (ridge), unused for the one-class SVM (0/1 anomaly flags allowed). */
  readonly labels: Float32Array;
}

export interface NetlassoProblem {
  readonly name: string;
  readonly graph: Graph;
  /** d: the length of each node's variable x_i. */
  readonly dim: number;
  readonly loss: NetlassoLoss;
  /** Squared loss: a_i, [N × d]. */
  readonly anchors?: Float32Array;
  /** Training samples (every loss but `squared`). */
  readonly train?: NodeSampleSet;
  /** Held-out samples for the test metric. */
  readonly test?: NodeSampleSet;
  /** Ground-truth cluster of each node (for ARI). */
  readonly groups?: Int32Array;
  /** Ground-truth parameters, [N × d] (for parameter MSE). */
  readonly truth?: Float64Array;
  /** Node coordinates, [N × 2] (k-NN and road graphs). */
  readonly coordinates?: Float64Array;
}

/** Throws a clear error if the problem's arrays do not fit its graph, dim and loss. */
export function validateProblem(p: NetlassoProblem): void {
  const n = p.graph.n;
  const d = p.dim;
  const fail = (m: string): never => {
    throw new Error(`Network Lasso problem ${p.name}: ${m}`);
  };
  if (!Number.isInteger(d) || d < 1) fail(`dim must be a positive integer, got ${d}`);
  if (p.loss.kind === 'squared') {
    if (!p.anchors || p.anchors.length !== n * d) fail(`squared loss needs anchors of ${n} × ${d} floats`);
  } else {
    if (!p.train) fail(`${p.loss.kind} loss needs training samples`);
    checkSamples(p.train!, n, 'train', fail);
    const want = p.loss.kind === 'ocsvm' ? d - 1 : d;
    if (p.train!.featureDim !== want) fail(`${p.loss.kind} with dim ${d} needs ${want} features per sample, got ${p.train!.featureDim}`);
  }
  if (p.test) checkSamples(p.test, n, 'test', fail);
  if (p.groups && p.groups.length !== n) fail(`groups has ${p.groups.length} entries, expected ${n}`);
  if (p.truth && p.truth.length !== n * d) fail(`truth has ${p.truth.length} entries, expected ${n} × ${d}`);
  const l = p.loss;
  if ((l.kind === 'ridge' || l.kind === 'logistic' || l.kind === 'squaredHinge' || l.kind === 'smoothedHinge') && !(l.mu >= 0)) fail('μ must be ≥ 0');
  if (l.kind === 'ocsvm' && !(l.nu > 0 && l.nu <= 1)) fail(`ν must be in (0, 1], got ${l.nu}`);
}

function checkSamples(s: NodeSampleSet, n: number, what: string, fail: (m: string) => never): void {
  if (s.start.length !== n + 1 || s.start[0] !== 0) fail(`${what}.start must have N + 1 = ${n + 1} offsets starting at 0`);
  for (let i = 0; i < n; i++) if (s.start[i + 1] < s.start[i]) fail(`${what}.start is not non-decreasing at node ${i}`);
  const total = s.start[n];
  if (s.labels.length !== total) fail(`${what}.labels has ${s.labels.length} entries, expected ${total}`);
  if (s.features.length !== total * s.featureDim) fail(`${what}.features has ${s.features.length} floats, expected ${total} × ${s.featureDim}`);
}

/** The Newton-kernel description of a Newton-solved loss (undefined for squared and ridge). */
export function newtonLossOf(loss: NetlassoLoss): NewtonLoss | undefined {
  switch (loss.kind) {
    case 'squared':
    case 'ridge':
      return undefined;
    case 'logistic':
    case 'squaredHinge':
      return { kind: loss.kind, mu: loss.mu, scale: loss.scale ?? 1, smoothing: 0 };
    case 'smoothedHinge':
      return { kind: loss.kind, mu: loss.mu, scale: loss.scale ?? 1, smoothing: loss.smoothing ?? 0.5 };
    case 'ocsvm':
      return { kind: 'ocsvm', mu: 0, scale: 1 / loss.nu, smoothing: loss.smoothing ?? 0.1 };
  }
}

/** f_i(x_i) of one node in float64 (x: the node's d values). */
export function nodeLossValue(p: NetlassoProblem, node: number, x: ArrayLike<number>): number {
  const d = p.dim;
  const loss = p.loss;
  if (loss.kind === 'squared') {
    let s = 0;
    for (let k = 0; k < d; k++) s += (x[k] - p.anchors![node * d + k]) ** 2;
    return 0.5 * s;
  }
  const t = p.train!;
  if (loss.kind === 'ridge') {
    let s = 0;
    for (let q = t.start[node]; q < t.start[node + 1]; q++) {
      let r = -t.labels[q];
      for (let k = 0; k < d; k++) r += t.features[q * d + k] * x[k];
      s += r * r;
    }
    for (let k = 0; k < d; k++) s += loss.mu * x[k] * x[k];
    return s;
  }
  return netlassoReference.newtonLossAt(newtonLossOf(loss)!, t, node, x, d).value;
}

/** The Network Lasso objective in float64, split into Σ f_i and λ Σ w ‖x_j − x_k‖. */
export function netlassoObjective(p: NetlassoProblem, x: ArrayLike<number>, lambda: number): { objective: number; loss: number; penalty: number } {
  const d = p.dim;
  let loss = 0;
  for (let i = 0; i < p.graph.n; i++) loss += nodeLossValue(p, i, Array.from({ length: d }, (_, k) => x[i * d + k]));
  let penalty = 0;
  for (const e of p.graph.edges) {
    let s = 0;
    for (let k = 0; k < d; k++) s += (x[e.u * d + k] - x[e.v * d + k]) ** 2;
    penalty += e.w * Math.sqrt(s);
  }
  return { objective: loss + lambda * penalty, loss, penalty: lambda * penalty };
}
