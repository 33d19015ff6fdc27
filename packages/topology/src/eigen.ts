/**
 * Float64 symmetric eigensolvers, the one copy in the project (spectral gaps here, Network Lasso's
 * ridge factors and the kernels' references through @gossamer/topology):
 *
 * - {@link jacobiEigenvalues}: cyclic Jacobi rotations. O(n³) per sweep, ~6–10 sweeps; eigenvalues
 *   to a few ulps of ‖A‖ (often better). Used for n ≤ 64.
 * - {@link symmetricEigen}: cyclic Jacobi with eigenvectors, for small dense matrices (d ≤ 32).
 * - {@link householderTridiagonal} + {@link tridiagonalEigenvalue} (Sturm-sequence bisection):
 *   backward-stable reduction in ≈ (4/3)n³ flops, then each eigenvalue to ≈ 2ε·‖A‖ in O(n) per
 *   bisection step (~ 60 steps). Used for 64 < n ≤ 1024 (n = 1024 takes about a second in Node).
 * - {@link lanczos}: Krylov method on a matrix-free operator, with full reorthogonalisation,
 *   for large sparse matrices; its extreme Ritz values approach the extreme eigenvalues from inside.
 */

/** Square symmetric matrix as rows, or a flat row-major Float64Array with its size. */
export type SymmetricMatrix = readonly ArrayLike<number>[] | { readonly n: number; readonly data: Float64Array };

function toFlat(a: SymmetricMatrix): { n: number; data: Float64Array } {
  if ('data' in a && a.data instanceof Float64Array) {
    if (a.data.length !== a.n * a.n) throw new RangeError(`matrix data has length ${a.data.length}, expected ${a.n * a.n}`);
    return { n: a.n, data: Float64Array.from(a.data) };
  }
  const rows = a as readonly ArrayLike<number>[];
  const n = rows.length;
  const data = new Float64Array(n * n);
  rows.forEach((r, i) => {
    if (r.length !== n) throw new RangeError(`matrix row ${i} has length ${r.length}, expected ${n}`);
    for (let j = 0; j < n; j++) data[i * n + j] = r[j];
  });
  return { n, data };
}

/**
 * All eigenvalues of a symmetric matrix by cyclic Jacobi (ascending). Only the matrix's
 * symmetric part is used in effect (a_pq is taken from the upper triangle). The input is not modified.
 */
export function jacobiEigenvalues(matrix: SymmetricMatrix, maxSweeps = 100): Float64Array {
  const { n, data: a } = toFlat(matrix);
  // Symmetrize from the upper triangle so rounding asymmetry in the input cannot matter.
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) a[j * n + i] = a[i * n + j];
  let frob = 0;
  for (let k = 0; k < n * n; k++) frob += a[k] * a[k];
  const tiny = Number.EPSILON * Number.EPSILON * frob;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= tiny) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        a[p * n + p] = app - t * apq;
        a[q * n + q] = aqq + t * apq;
        a[p * n + q] = 0;
        a[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = a[r * n + p];
          const arq = a[r * n + q];
          const np = c * arp - s * arq;
          const nq = s * arp + c * arq;
          a[r * n + p] = np;
          a[p * n + r] = np;
          a[r * n + q] = nq;
          a[q * n + r] = nq;
        }
      }
    }
  }
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i * n + i];
  return out.sort();
}

/**
 * Symmetric eigendecomposition M = Q diag(eig) Qᵀ (dense d × d, cyclic Jacobi with the
 * rotations accumulated, float64); Q row-major with the eigenvectors as columns, eig in diagonal
 * order (not sorted). For small d (the Network Lasso ridge factor cache); the full matrix is rotated.
 */
export function symmetricEigen(m: ArrayLike<number>, d: number): { q: Float64Array; eig: Float64Array } {
  const a = Float64Array.from(m);
  const q = new Float64Array(d * d);
  for (let k = 0; k < d; k++) q[k * d + k] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let r = 0; r < d; r++) {
      diag += a[r * d + r] ** 2;
      for (let c = r + 1; c < d; c++) off += a[r * d + c] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let r = 0; r < d; r++) {
      for (let c = r + 1; c < d; c++) {
        const arc = a[r * d + c];
        if (arc === 0) continue;
        const tau = (a[c * d + c] - a[r * d + r]) / (2 * arc);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const cs = 1 / Math.sqrt(1 + t * t);
        const sn = t * cs;
        for (let k = 0; k < d; k++) {
          const akr = a[k * d + r];
          const akc = a[k * d + c];
          a[k * d + r] = cs * akr - sn * akc;
          a[k * d + c] = sn * akr + cs * akc;
        }
        for (let k = 0; k < d; k++) {
          const ark = a[r * d + k];
          const ack = a[c * d + k];
          a[r * d + k] = cs * ark - sn * ack;
          a[c * d + k] = sn * ark + cs * ack;
        }
        for (let k = 0; k < d; k++) {
          const qkr = q[k * d + r];
          const qkc = q[k * d + c];
          q[k * d + r] = cs * qkr - sn * qkc;
          q[k * d + c] = sn * qkr + cs * qkc;
        }
      }
    }
  }
  return { q, eig: Float64Array.from({ length: d }, (_, k) => a[k * d + k]) };
}

/** A symmetric tridiagonal matrix: diagonal d (length n), off-diagonal e (length n − 1). */
export interface Tridiagonal {
  readonly d: Float64Array;
  readonly e: Float64Array;
}

/**
 * Householder reduction of a symmetric matrix to tridiagonal form with the same eigenvalues
 * (eigenvalues only: the transforms are not accumulated). Uses the lower triangle.
 * ≈ (4/3)n³ flops.
 */
export function householderTridiagonal(matrix: SymmetricMatrix): Tridiagonal {
  const { n, data: a } = toFlat(matrix);
  const d = new Float64Array(n);
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = column k below the diagonal (rows k+1..n−1), read from the lower triangle.
    let norm2 = 0;
    for (let i = k + 1; i < n; i++) norm2 += a[i * n + k] * a[i * n + k];
    d[k] = a[k * n + k];
    if (norm2 === 0) {
      e[k] = 0;
      continue;
    }
    const x0 = a[(k + 1) * n + k];
    const alpha = x0 > 0 ? -Math.sqrt(norm2) : Math.sqrt(norm2);
    let vnorm2 = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vnorm2 += v[i] * v[i];
    }
    e[k] = alpha;
    const beta = 2 / vnorm2;
    // p = β · A_sub v using the lower triangle of the trailing block.
    for (let i = k + 1; i < n; i++) p[i] = 0;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      let acc = a[row + i] * v[i];
      const vi = v[i];
      for (let j = k + 1; j < i; j++) {
        const aij = a[row + j];
        acc += aij * v[j];
        p[j] += aij * vi;
      }
      p[i] += acc;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] *= beta;
      vp += v[i] * p[i];
    }
    const K = (beta / 2) * vp;
    // q = p − K v (stored in p); A_sub ← A_sub − v qᵀ − q vᵀ on the lower triangle.
    for (let i = k + 1; i < n; i++) p[i] -= K * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i];
      const qi = p[i];
      for (let j = k + 1; j <= i; j++) a[row + j] -= vi * p[j] + qi * v[j];
    }
  }
  if (n >= 2) {
    d[n - 2] = a[(n - 2) * n + (n - 2)];
    e[n - 2] = a[(n - 1) * n + (n - 2)];
  }
  if (n >= 1) d[n - 1] = a[(n - 1) * n + (n - 1)];
  return { d, e };
}

function gershgorin(t: Tridiagonal): { lo: number; hi: number } {
  const { d, e } = t;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < d.length; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < e.length ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  return { lo, hi };
}

/** Number of eigenvalues of T strictly below x (Sturm sequence, LDLᵀ pivots). */
export function sturmCount(t: Tridiagonal, x: number, pivmin = 1e-300): number {
  const { d, e } = t;
  let count = 0;
  let q = d[0] - x;
  if (Math.abs(q) < pivmin) q = -pivmin;
  if (q < 0) count++;
  for (let i = 1; i < d.length; i++) {
    q = d[i] - x - (e[i - 1] * e[i - 1]) / q;
    if (Math.abs(q) < pivmin) q = -pivmin;
    if (q < 0) count++;
  }
  return count;
}

/**
 * The k-th smallest eigenvalue (k = 0..n−1) of a symmetric tridiagonal matrix by bisection on the
 * Sturm count, to ≈ 2ε·max|λ| absolute accuracy.
 */
export function tridiagonalEigenvalue(t: Tridiagonal, k: number): number {
  const n = t.d.length;
  if (!Number.isInteger(k) || k < 0 || k >= n) throw new RangeError(`eigenvalue index ${k} out of range [0, ${n - 1}]`);
  let { lo, hi } = gershgorin(t);
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  let maxE2 = 0;
  for (let i = 0; i < t.e.length; i++) maxE2 = Math.max(maxE2, t.e[i] * t.e[i]);
  const pivmin = Math.max(Number.MIN_VALUE, 1e-290 * Math.max(1, maxE2));
  lo -= 2 * Number.EPSILON * scale;
  hi += 2 * Number.EPSILON * scale;
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi || hi - lo <= 2 * Number.EPSILON * scale) break;
    if (sturmCount(t, mid, pivmin) <= k) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

/** All eigenvalues of a symmetric tridiagonal matrix (ascending), by bisection. O(n²·60). */
export function tridiagonalEigenvalues(t: Tridiagonal): Float64Array {
  const out = new Float64Array(t.d.length);
  for (let k = 0; k < out.length; k++) out[k] = tridiagonalEigenvalue(t, k);
  return out;
}

export type EigenMethod = 'jacobi' | 'tridiagonal';

/**
 * All eigenvalues of a dense symmetric matrix, ascending. Method `jacobi` or `tridiagonal`
 * (Householder + bisection); default: Jacobi for n ≤ 64, else tridiagonal.
 */
export function symmetricEigenvalues(matrix: SymmetricMatrix, method?: EigenMethod): Float64Array {
  const n = 'data' in matrix && matrix.data instanceof Float64Array ? matrix.n : (matrix as readonly ArrayLike<number>[]).length;
  const m = method ?? (n <= 64 ? 'jacobi' : 'tridiagonal');
  return m === 'jacobi' ? jacobiEigenvalues(matrix) : tridiagonalEigenvalues(householderTridiagonal(matrix));
}

/** y ← A x for a symmetric operator on R^n. */
export type Operator = (x: Float64Array, y: Float64Array) => void;

export interface LanczosOptions {
  /** Krylov dimension (default min(n, 300)); memory is steps·n float64s. */
  readonly steps?: number;
  /**
   * Vectors the Krylov space is kept orthogonal to (re-projected every step), e.g. the normalized
   * all-ones vector to deflate the consensus direction. Each must have unit norm.
   */
  readonly deflate?: readonly Float64Array[];
  /** Start vector (default: a fixed quasi-random vector, so results are deterministic). */
  readonly startVector?: Float64Array;
}

export interface LanczosResult {
  /** Tridiagonal T_m = Q_mᵀ A Q_m; its eigenvalues are the Ritz values. */
  readonly t: Tridiagonal;
  /** Krylov dimension reached (smaller than asked when an invariant subspace was found). */
  readonly steps: number;
  /** True if the Krylov space became invariant: the Ritz values are then exact eigenvalues. */
  readonly invariant: boolean;
}

/**
 * Lanczos with full reorthogonalisation (classical Gram–Schmidt, applied twice). The smallest and
 * largest Ritz values lie inside [λ_min, λ_max] and converge to them from inside, fast when they are
 * well separated from the rest of the spectrum, slowly when not (e.g. a ring, where the gap is
 * O(1/n²)).
 */
export function lanczos(op: Operator, n: number, options: LanczosOptions = {}): LanczosResult {
  const deflate = options.deflate ?? [];
  const maxSteps = Math.max(1, Math.min(options.steps ?? 300, n - deflate.length));
  const project = (x: Float64Array, basis: readonly Float64Array[], count: number): void => {
    for (let b = 0; b < count; b++) {
      const q = basis[b];
      let dot = 0;
      for (let i = 0; i < n; i++) dot += q[i] * x[i];
      for (let i = 0; i < n; i++) x[i] -= dot * q[i];
    }
  };
  const norm = (x: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * x[i];
    return Math.sqrt(s);
  };
  let q0: Float64Array;
  if (options.startVector) {
    q0 = Float64Array.from(options.startVector);
  } else {
    // Deterministic start: a fixed quasi-random sequence (golden-ratio fractional parts).
    q0 = new Float64Array(n);
    for (let i = 0; i < n; i++) q0[i] = ((i + 1) * 0.6180339887498949) % 1 - 0.5;
  }
  project(q0, deflate, deflate.length);
  project(q0, deflate, deflate.length);
  const n0 = norm(q0);
  if (n0 === 0) return { t: { d: new Float64Array(0), e: new Float64Array(0) }, steps: 0, invariant: true };
  for (let i = 0; i < n; i++) q0[i] /= n0;
  const Q: Float64Array[] = [q0];
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(n);
  let invariant = false;
  let anorm = 0;
  for (let j = 0; j < maxSteps; j++) {
    const q = Q[j];
    op(q, w);
    let a = 0;
    for (let i = 0; i < n; i++) a += q[i] * w[i];
    alpha.push(a);
    anorm = Math.max(anorm, Math.abs(a), j > 0 ? beta[j - 1] : 0);
    if (j === maxSteps - 1) break;
    const r = Float64Array.from(w);
    for (let pass = 0; pass < 2; pass++) {
      project(r, deflate, deflate.length);
      project(r, Q, Q.length);
    }
    const b = norm(r);
    if (b <= 1e-13 * Math.max(anorm, 1e-300)) {
      invariant = true;
      break;
    }
    beta.push(b);
    for (let i = 0; i < n; i++) r[i] /= b;
    Q.push(r);
  }
  if (!invariant && alpha.length === n - deflate.length) invariant = true;
  return {
    t: { d: Float64Array.from(alpha), e: Float64Array.from(beta.slice(0, alpha.length - 1)) },
    steps: alpha.length,
    invariant,
  };
}
