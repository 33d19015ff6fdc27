// Float64 references of shaders/netlasso.wgsl (Network Lasso node updates, ALGORITHMS.md §4), with the
// same layouts as src/netlasso.ts, plus the local losses themselves (value, gradient, Hessian), which
// the centralized float64 solver of @gossamer/algorithms reuses.
//
// The loss codes, layouts and ridge normal equations are production code (src/netlasso-host.ts), and
// the eigensolver is @gossamer/topology's: imported, not copied, so the reference checks the same ones.
import { NEWTON_LOSS_CODE, ridgeNormalEquations, type NewtonLoss, type NewtonLossKind, type NodeCopies, type NodeSamples } from '../netlasso-host.js';

export { NEWTON_LOSS_CODE, ridgeNormalEquations, type NewtonLoss, type NewtonLossKind, type NodeCopies, type NodeSamples };
export { symmetricEigen } from '@gossamer/topology';

type Vec = ArrayLike<number>;

/** The sample loss ℓ(m) and its first two derivatives. */
export function sampleLoss(kind: NewtonLossKind, m: number, h: number): [number, number, number] {
  switch (kind) {
    case 'logistic': {
      const e = Math.exp(-Math.abs(m));
      const value = m >= 0 ? Math.log1p(e) : -m + Math.log1p(e);
      const sigNeg = m >= 0 ? e / (1 + e) : 1 / (1 + e);
      return [value, -sigNeg, e / ((1 + e) * (1 + e))];
    }
    case 'squaredHinge':
      return m >= 1 ? [0, 0, 0] : [(1 - m) ** 2, -2 * (1 - m), 2];
    case 'smoothedHinge': {
      const t = 1 - m;
      if (t <= 0) return [0, 0, 0];
      if (t < h) return [(t * t) / (2 * h), -t / h, 1 / h];
      return [t - h / 2, -1, 0];
    }
    case 'ocsvm':
      if (m <= 0) return [0, 0, 0];
      if (m < h) return [(m * m) / (2 * h), m / h, 1 / h];
      return [m - h / 2, 1, 0];
  }
}

/** ã_s: the sample's direction, so that its loss term is ℓ(ã_sᵀx) (see the WGSL's sample_dir). */
function sampleDirection(loss: NewtonLoss, samples: NodeSamples, s: number, d: number, out: Float64Array): void {
  const p = samples.featureDim;
  if (loss.kind === 'ocsvm') {
    for (let k = 0; k < d - 1; k++) out[k] = -samples.features[s * p + k];
    out[d - 1] = 1;
  } else {
    const y = samples.labels[s];
    for (let k = 0; k < d; k++) out[k] = y * samples.features[s * p + k];
  }
}

/** f_i(x), ∇f_i(x) and ∇²f_i(x) (dense d × d) of node i. */
export function newtonLossAt(
  loss: NewtonLoss,
  samples: NodeSamples,
  node: number,
  x: Vec,
  d: number,
): { value: number; gradient: Float64Array; hessian: Float64Array } {
  const g = new Float64Array(d);
  const hm = new Float64Array(d * d);
  let value = 0;
  const s0 = samples.start[node];
  const s1 = samples.start[node + 1];
  let coef = loss.scale;
  if (loss.kind === 'ocsvm') {
    coef = loss.scale / Math.max(s1 - s0, 1);
    for (let k = 0; k < d - 1; k++) {
      value += 0.5 * x[k] * x[k];
      g[k] += x[k];
      hm[k * d + k] += 1;
    }
    value -= x[d - 1];
    g[d - 1] -= 1;
  } else {
    for (let k = 0; k < d; k++) {
      value += 0.5 * loss.mu * x[k] * x[k];
      g[k] += loss.mu * x[k];
      hm[k * d + k] += loss.mu;
    }
  }
  const a = new Float64Array(d);
  for (let s = s0; s < s1; s++) {
    sampleDirection(loss, samples, s, d, a);
    let m = 0;
    for (let k = 0; k < d; k++) m += a[k] * x[k];
    const [l0, l1, l2] = sampleLoss(loss.kind, m, loss.smoothing);
    value += coef * l0;
    for (let r = 0; r < d; r++) {
      g[r] += coef * l1 * a[r];
      for (let c = 0; c < d; c++) hm[r * d + c] += coef * l2 * a[r] * a[c];
    }
  }
  return { value, gradient: g, hessian: hm };
}

/** Solves the symmetric positive definite system M y = b (dense d × d) by Cholesky, in float64. */
export function choleskySolve(m: Vec, b: Vec, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c <= r; c++) {
      let v = m[r * d + c];
      for (let k = 0; k < c; k++) v -= l[r * d + k] * l[c * d + k];
      l[r * d + c] = c === r ? Math.sqrt(Math.max(v, 1e-300)) : v / l[c * d + c];
    }
  }
  const y = Float64Array.from({ length: d }, (_, k) => b[k]);
  for (let r = 0; r < d; r++) {
    for (let k = 0; k < r; k++) y[r] -= l[r * d + k] * y[k];
    y[r] /= l[r * d + r];
  }
  for (let r = d - 1; r >= 0; r--) {
    for (let k = r + 1; k < d; k++) y[r] -= l[k * d + r] * y[k];
    y[r] /= l[r * d + r];
  }
  return y;
}

/** Σ_j (z_ij − u_ij) of node i and its degree. */
export function sumZMinusU(z: Vec, u: Vec, copies: NodeCopies, node: number, d: number): { sum: Float64Array; degree: number } {
  const sum = new Float64Array(d);
  const c0 = copies.start[node];
  const c1 = copies.start[node + 1];
  for (let q = c0; q < c1; q++) {
    const c = copies.list[q];
    for (let k = 0; k < d; k++) sum[k] += z[c * d + k] - u[c * d + k];
  }
  return { sum, degree: c1 - c0 };
}

/** Squared loss ½‖x − a_i‖²: x_i = (a_i + ρ Σ_j (z_ij − u_ij)) / (1 + ρ deg_i), all nodes. */
export function xUpdateSquared(anchors: Vec, z: Vec, u: Vec, copies: NodeCopies, nodes: number, d: number, rho: number): Float64Array {
  const x = new Float64Array(nodes * d);
  for (let i = 0; i < nodes; i++) {
    const { sum, degree } = sumZMinusU(z, u, copies, i, d);
    for (let k = 0; k < d; k++) x[i * d + k] = (anchors[i * d + k] + rho * sum[k]) / (1 + rho * degree);
  }
  return x;
}

/**
 * Ridge least squares ‖A_i x − b_i‖² + μ‖x‖² (A_i = node i's sample rows, b_i its labels):
 * solves (2AᵀA + 2μI + ρ deg_i I) x = 2Aᵀb + ρ Σ_j (z_ij − u_ij) directly (Cholesky), all nodes.
 */
export function xUpdateRidge(samples: NodeSamples, mu: number, z: Vec, u: Vec, copies: NodeCopies, nodes: number, d: number, rho: number): Float64Array {
  const x = new Float64Array(nodes * d);
  for (let i = 0; i < nodes; i++) {
    const { sum, degree } = sumZMinusU(z, u, copies, i, d);
    const { gram, atb } = ridgeNormalEquations(samples, i, d, mu);
    for (let k = 0; k < d; k++) gram[k * d + k] += rho * degree;
    const rhs = atb.map((v, k) => v + rho * sum[k]);
    x.set(choleskySolve(gram, rhs, d), i * d);
  }
  return x;
}

/**
 * `steps` Newton steps (stopping early when ‖δ‖ ≤ tol (1 + ‖x‖), tol > 0) on
 * f_i(x) + (ρ/2) Σ_j ‖x − z_ij + u_ij‖² from x0, all nodes.
 */
export function xUpdateNewton(
  loss: NewtonLoss,
  samples: NodeSamples,
  x0: Vec,
  z: Vec,
  u: Vec,
  copies: NodeCopies,
  nodes: number,
  d: number,
  rho: number,
  steps: number,
  tol = 0,
): Float64Array {
  const x = Float64Array.from(x0);
  for (let i = 0; i < nodes; i++) {
    const { sum, degree } = sumZMinusU(z, u, copies, i, d);
    const xi = x.subarray(i * d, (i + 1) * d);
    // An isolated node (no ρ term; ∇²f_i may be singular) is solved to its own optimum by
    // Levenberg–Marquardt damped Newton with backtracking, as the kernel does (λ ÷2 after a full step, ×4 after a cut one).
    const isolated = degree === 0;
    const nodeSteps = isolated ? Math.max(steps, 200) : steps;
    const nodeTol = isolated ? Math.max(tol, 1e-12) : tol;
    let damping = isolated ? 1 : 0;
    for (let s = 0; s < nodeSteps; s++) {
      const { gradient, hessian } = newtonLossAt(loss, samples, i, xi, d);
      for (let k = 0; k < d; k++) {
        gradient[k] += rho * (degree * xi[k] - sum[k]);
        hessian[k * d + k] += rho * degree + damping;
      }
      const delta = choleskySolve(hessian, gradient, d);
      // Exact solves backtrack (as the kernel does): pure Newton can cycle on piecewise-quadratic hinges.
      let t = 1;
      if (nodeSteps > 1) {
        const value = (v: Vec): number => {
          let q = newtonLossAt(loss, samples, i, v, d).value;
          for (let k = 0; k < d; k++) q += 0.5 * rho * degree * v[k] * v[k] - rho * v[k] * sum[k];
          return q;
        };
        const f0 = value(xi);
        for (let ls = 0; ls < 60; ls++) {
          if (value(xi.map((v, k) => v - t * delta[k])) <= f0 + 1e-14 * Math.abs(f0)) break;
          t *= 0.5;
        }
      }
      let stepSq = 0;
      let xSq = 0;
      for (let k = 0; k < d; k++) {
        xi[k] -= t * delta[k];
        stepSq += delta[k] ** 2;
        xSq += xi[k] ** 2;
      }
      if (isolated) damping = t === 1 ? Math.max(damping * 0.5, 1e-6) : Math.min(damping * 4, 1e6);
      if (nodeTol > 0 && (isolated ? t : 1) * Math.sqrt(stepSq) <= nodeTol * (1 + Math.sqrt(xSq))) break;
    }
  }
  return x;
}

/** The 5 residual statistics per node of shaders/netlasso.wgsl's node_residuals. */
export function nodeResiduals(x: Vec, z: Vec, zOld: Vec, u: Vec, copies: NodeCopies, nodes: number, d: number): Float64Array {
  const out = new Float64Array(5 * nodes);
  for (let i = 0; i < nodes; i++) {
    let r2 = 0;
    let dz2 = 0;
    let x2 = 0;
    let z2 = 0;
    let su2 = 0;
    for (let k = 0; k < d; k++) {
      const xk = x[i * d + k];
      x2 += xk * xk;
      let dz = 0;
      let su = 0;
      for (let q = copies.start[i]; q < copies.start[i + 1]; q++) {
        const row = copies.list[q] * d + k;
        r2 += (xk - z[row]) ** 2;
        z2 += z[row] ** 2;
        dz += z[row] - zOld[row];
        su += u[row];
      }
      dz2 += dz * dz;
      su2 += su * su;
    }
    out.set([r2, dz2, x2, z2, su2], 5 * i);
  }
  return out;
}

