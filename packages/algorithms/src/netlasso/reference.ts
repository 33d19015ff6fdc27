// Centralized float64 solvers on the CPU, for tests and baselines: the same ADMM as the GPU workers
// (batched over the whole graph, exact x-updates, global stopping rule) run to a tight tolerance, the
// purely local fits (λ = 0) and the single global model (λ ≥ λ_crit).
import { netlassoReference, reference } from '@gossamer/kernels';
import { residualsFromSums, type GlobalResiduals } from './residuals.js';
import { netlassoObjective, newtonLossOf, nodeLossValue, validateProblem, type NetlassoProblem } from './problem.js';

const nl = netlassoReference;

export { residualsFromSums, type GlobalResiduals };

export interface ReferenceSolveOptions {
  /** ADMM penalty (default ρ0 + √λ with ρ0 = 1). */
  rho?: number;
  epsAbs?: number;
  epsRel?: number;
  maxIterations?: number;
  /** Warm start (e.g. the previous λ's solution); ρ must be the same or u is rescaled by the caller. */
  warmStart?: ReferenceState;
}

export interface ReferenceState {
  /** [N × d] */
  x: Float64Array;
  /** [2E × d]: copy 2e is held by edges[e].u, copy 2e + 1 by edges[e].v. */
  z: Float64Array;
  u: Float64Array;
}

export interface ReferenceSolution extends ReferenceState {
  lambda: number;
  rho: number;
  iterations: number;
  converged: boolean;
  objective: number;
  /** θ per edge at the last z-update (½: consensus). */
  theta: Float64Array;
}

/** The batched copy layout of a whole graph: owners, (i, j) table, weights and the node → copies CSR. */
export function batchedCopies(p: NetlassoProblem): { owners: Int32Array; pairs: Int32Array; weights: Float64Array; start: Int32Array; list: Int32Array } {
  const g = p.graph;
  const e = g.edges.length;
  const owners = new Int32Array(2 * e);
  const weights = new Float64Array(e);
  g.edges.forEach((edge, k) => {
    owners[2 * k] = edge.u;
    owners[2 * k + 1] = edge.v;
    weights[k] = edge.w;
  });
  const start = new Int32Array(g.n + 1);
  const list = new Int32Array(2 * e);
  let q = 0;
  for (let i = 0; i < g.n; i++) {
    start[i] = q;
    g.neighborEdge[i].forEach((k) => (list[q++] = g.edges[k].u === i ? 2 * k : 2 * k + 1));
  }
  start[g.n] = q;
  return { owners, pairs: owners, weights, start, list };
}

/**
 * Network Lasso by ADMM in float64 (ALGORITHMS.md §4, batched): exact x-updates (closed form, direct
 * ridge solve, Newton to 1e-12), z/u-updates of every edge, global residuals and thresholds
 * ε_pri = √(2|E|d) ε_abs + ε_rel max(‖Ax‖, ‖z‖), ε_dual = √(Nd) ε_abs + ε_rel ‖ρAᵀu‖.
 * Defaults are tight (ε_abs = ε_rel = 1e-9, 200 000 iterations): the reference optimum of the tests.
 */
export function solveNetlassoReference(p: NetlassoProblem, lambda: number, options: ReferenceSolveOptions = {}): ReferenceSolution {
  validateProblem(p);
  const n = p.graph.n;
  const d = p.dim;
  const e = p.graph.edges.length;
  const rho = options.rho ?? 1 + Math.sqrt(lambda);
  const epsAbs = options.epsAbs ?? 1e-9;
  const epsRel = options.epsRel ?? 1e-9;
  const maxIterations = options.maxIterations ?? 200_000;
  const layout = batchedCopies(p);
  const copies = { start: layout.start, list: layout.list };
  let x: Float64Array = options.warmStart ? Float64Array.from(options.warmStart.x) : new Float64Array(n * d);
  const z = options.warmStart ? Float64Array.from(options.warmStart.z) : new Float64Array(2 * e * d);
  const u = options.warmStart ? Float64Array.from(options.warmStart.u) : new Float64Array(2 * e * d);
  const zOld = new Float64Array(2 * e * d);
  const theta = new Float64Array(e);
  const a = new Float64Array(d);
  const b = new Float64Array(d);
  const newton = newtonLossOf(p.loss);
  let iterations = 0;
  let converged = false;
  for (let k = 0; k < maxIterations; k++) {
    if (p.loss.kind === 'squared') x = nl.xUpdateSquared(p.anchors!, z, u, copies, n, d, rho);
    else if (p.loss.kind === 'ridge') x = nl.xUpdateRidge(p.train!, p.loss.mu, z, u, copies, n, d, rho);
    else x = nl.xUpdateNewton(newton!, p.train!, x, z, u, copies, n, d, rho, 50, 1e-12);
    zOld.set(z);
    // z- and u-updates of every edge in place (the float64 counterparts of the admm.wgsl kernels).
    for (let q = 0; q < e; q++) {
      const [i, j] = [layout.pairs[2 * q], layout.pairs[2 * q + 1]];
      const [ca, cb] = [2 * q * d, (2 * q + 1) * d];
      let dist2 = 0;
      for (let t = 0; t < d; t++) {
        a[t] = x[i * d + t] + u[ca + t];
        b[t] = x[j * d + t] + u[cb + t];
        dist2 += (a[t] - b[t]) ** 2;
      }
      const th = reference.admm.theta(Math.sqrt(dist2), lambda, rho, layout.weights[q]);
      theta[q] = th;
      for (let t = 0; t < d; t++) {
        z[ca + t] = th * a[t] + (1 - th) * b[t];
        z[cb + t] = (1 - th) * a[t] + th * b[t];
        u[ca + t] += x[i * d + t] - z[ca + t];
        u[cb + t] += x[j * d + t] - z[cb + t];
      }
    }
    iterations = k + 1;
    const g = globalResiduals(nl.nodeResiduals(x, z, zOld, u, copies, n, d), copies.start, n, d, e, rho, epsAbs, epsRel);
    if (g.primal <= g.epsPrimal && g.dual <= g.epsDual) {
      converged = true;
      break;
    }
  }
  return { lambda, rho, x, z, u, theta, iterations, converged, objective: netlassoObjective(p, x, lambda).objective };
}

/**
 * Global residuals and thresholds (ALGORITHMS.md §4) from the per-node statistics of node_residuals,
 * summed over nodes: r = ‖x − z‖ over all copies, s = ρ‖Aᵀ(z − z_old)‖, ‖Ax‖² = Σ_i deg_i‖x_i‖².
 */
export function globalResiduals(
  stats: ArrayLike<number>,
  start: ArrayLike<number>,
  nodes: number,
  d: number,
  edges: number,
  rho: number,
  epsAbs: number,
  epsRel: number,
): GlobalResiduals {
  const sums = [0, 0, 0, 0, 0];
  for (let i = 0; i < nodes; i++) {
    const deg = start[i + 1] - start[i];
    sums[0] += stats[5 * i];
    sums[1] += stats[5 * i + 1];
    sums[2] += deg * stats[5 * i + 2];
    sums[3] += stats[5 * i + 3];
    sums[4] += stats[5 * i + 4];
  }
  return residualsFromSums(sums, nodes, d, edges, rho, epsAbs, epsRel);
}

/** Residuals from the summed statistics [Σ r_i², Σ ‖Σ(z − z_old)‖², Σ deg_i‖x_i‖², Σ ‖z_i‖², Σ ‖Σ u‖²]. */

type Evaluate = (x: Float64Array) => { value: number; gradient: Float64Array; hessian: Float64Array };

/** Damped Newton (backtracking, with a tiny Levenberg shift for flat directions) to ‖∇‖ ≤ tol. */
function minimizeNewton(evaluate: Evaluate, d: number, tol = 1e-11, maxSteps = 200): Float64Array {
  const x = new Float64Array(d);
  for (let it = 0; it < maxSteps; it++) {
    const { value, gradient, hessian } = evaluate(x);
    const gnorm = Math.hypot(...gradient);
    if (gnorm <= tol) break;
    for (let k = 0; k < d; k++) hessian[k * d + k] += 1e-12 * (1 + Math.abs(hessian[k * d + k]));
    const delta = nl.choleskySolve(hessian, gradient, d);
    let t = 1;
    for (let ls = 0; ls < 60; ls++) {
      const trial = x.map((v, k) => v - t * delta[k]);
      if (evaluate(trial).value <= value + 1e-15 * Math.abs(value)) break;
      t *= 0.5;
    }
    for (let k = 0; k < d; k++) x[k] -= t * delta[k];
  }
  return x;
}

/** ∇ and ∇² of f_i for every loss (squared and ridge in closed form). */
function nodeDerivatives(p: NetlassoProblem, i: number, x: Float64Array): { value: number; gradient: Float64Array; hessian: Float64Array } {
  const d = p.dim;
  const loss = p.loss;
  if (loss.kind === 'squared' || loss.kind === 'ridge') {
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    if (loss.kind === 'squared') {
      for (let k = 0; k < d; k++) {
        gradient[k] = x[k] - p.anchors![i * d + k];
        hessian[k * d + k] = 1;
      }
    } else {
      const { gram, atb } = nl.ridgeNormalEquations(p.train!, i, d, loss.mu);
      for (let r = 0; r < d; r++) {
        gradient[r] = -atb[r];
        for (let c = 0; c < d; c++) gradient[r] += gram[r * d + c] * x[c];
      }
      hessian.set(gram);
    }
    return { value: nodeLossValue(p, i, x), gradient, hessian };
  }
  return nl.newtonLossAt(newtonLossOf(loss)!, p.train!, i, x, d);
}

/** λ = 0: each node's own minimizer argmin f_i, [N × d]. */
export function localFits(p: NetlassoProblem): Float64Array {
  validateProblem(p);
  const d = p.dim;
  const out = new Float64Array(p.graph.n * d);
  for (let i = 0; i < p.graph.n; i++) out.set(minimizeNewton((x) => nodeDerivatives(p, i, x), d), i * d);
  return out;
}

/** The single global model argmin Σ_i f_i(x) (every node's x at λ ≥ λ_crit), length d. */
export function globalFit(p: NetlassoProblem): Float64Array {
  validateProblem(p);
  const d = p.dim;
  return minimizeNewton((x) => {
    const total = { value: 0, gradient: new Float64Array(d), hessian: new Float64Array(d * d) };
    for (let i = 0; i < p.graph.n; i++) {
      const r = nodeDerivatives(p, i, x);
      total.value += r.value;
      r.gradient.forEach((v, k) => (total.gradient[k] += v));
      r.hessian.forEach((v, k) => (total.hessian[k] += v));
    }
    return total;
  }, d);
}

/** A per-node model array [N × d] with every row equal to `model`. */
export function broadcastModel(model: ArrayLike<number>, nodes: number): Float64Array {
  const d = model.length;
  const out = new Float64Array(nodes * d);
  for (let i = 0; i < nodes; i++) for (let k = 0; k < d; k++) out[i * d + k] = model[k];
  return out;
}
