/**
 * Spectral gap 1 − ρ of a mixing matrix, ρ = ‖W − 11ᵀ/n‖₂.
 *
 * For a symmetric doubly stochastic W, ρ is the second-largest eigenvalue magnitude of W (the
 * largest |λ| of W − 11ᵀ/n). For a non-symmetric doubly stochastic W (the directed exponential
 * graph, one-peer schedules, push-sum with a permutation), ρ² is the largest eigenvalue of
 * (W − J)ᵀ(W − J) = WᵀW − J (J = 11ᵀ/n; the identity uses W1 = Wᵀ1 = 1), so the same symmetric
 * solvers apply.
 *
 * Methods and accuracy:
 * - `jacobi` / `tridiagonal` (dense, exact up to rounding): |ρ̂ − ρ| ≲ 1e-14 for these
 *   well-scaled matrices (‖W‖ ≤ 1), so the gap is good to ~1e-13 absolute — ample for ring gaps
 *   of 1e-5 at n = 1000. Dense O(n²) memory and O(n³) time: `auto` uses them up to n = 1024.
 * - `lanczos` (matrix-free, O(steps·n) memory): full reorthogonalisation on the subspace ⊥ 1.
 *   Ritz values lie inside the spectrum, so ρ̂ ≤ ρ and the reported gap is an UPPER bound on the
 *   true gap. It is exact (to rounding) once steps ≥ n − 1 or the Krylov space is invariant; for
 *   expanders (random regular, Erdős–Rényi, exponential) a few dozen steps give 1e-10; for graphs
 *   with a tiny gap and clustered spectrum (long rings, large tori) convergence needs
 *   O(1/√gap) steps and the estimate can be far off — `exact` is false and `steps` is reported.
 */
import { TopologyError } from './graph.js';
import {
  householderTridiagonal,
  jacobiEigenvalues,
  lanczos,
  tridiagonalEigenvalue,
  type Tridiagonal,
} from './eigen.js';
import { checkMixing, type MixingWeights } from './weights.js';

export type SpectralMethod = 'auto' | 'jacobi' | 'tridiagonal' | 'lanczos';

export interface SpectralGapOptions {
  /** Default `auto`: jacobi for n ≤ 64, tridiagonal for n ≤ 1024, lanczos above. */
  readonly method?: SpectralMethod;
  /** Lanczos Krylov dimension (default min(n − 1, 300)). */
  readonly lanczosSteps?: number;
  /** Tolerance of the doubly-stochastic check (default 1e-10). */
  readonly tolerance?: number;
}

export interface SpectralGapResult {
  /** 1 − ρ. */
  readonly gap: number;
  /** ρ = ‖W − 11ᵀ/n‖₂. */
  readonly rho: number;
  /** For symmetric W: the largest and smallest eigenvalues of W − 11ᵀ/n (λ₂(W) and λ_n(W) when ≠ 0). */
  readonly lambdaMax?: number;
  readonly lambdaMin?: number;
  readonly method: Exclude<SpectralMethod, 'auto'>;
  /** False for a Lanczos estimate that had not provably converged (gap is then an upper bound). */
  readonly exact: boolean;
  readonly symmetric: boolean;
  /** Lanczos steps taken (lanczos only). */
  readonly steps?: number;
}

/** Dense M = W − J (symmetric W) or WᵀW − J (otherwise), row-major. */
function denseOperator(m: MixingWeights): Float64Array {
  const n = m.n;
  const a = new Float64Array(n * n);
  if (m.symmetric) {
    m.nodes.forEach((node, i) => {
      a[i * n + i] = node.self;
      for (const { peer, w } of node.recv) a[i * n + peer] = w;
    });
  } else {
    // (WᵀW)_jk = Σ_i W_ij W_ik: add the outer product of each sparse row of W.
    m.nodes.forEach((node, i) => {
      const cols = [i, ...node.recv.map((e) => e.peer)];
      const vals = [node.self, ...node.recv.map((e) => e.w)];
      for (let x = 0; x < cols.length; x++) {
        for (let y = 0; y < cols.length; y++) a[cols[x] * n + cols[y]] += vals[x] * vals[y];
      }
    });
  }
  const inv = 1 / n;
  for (let k = 0; k < n * n; k++) a[k] -= inv;
  return a;
}

function extremes(t: Tridiagonal): { min: number; max: number } {
  const len = t.d.length;
  if (len === 0) return { min: 0, max: 0 };
  return { min: tridiagonalEigenvalue(t, 0), max: tridiagonalEigenvalue(t, len - 1) };
}

/**
 * Spectral gap of a doubly stochastic mixing matrix (throws a {@link TopologyError} otherwise:
 * ‖W − 11ᵀ/n‖₂ only measures consensus speed when W preserves the mean).
 */
export function spectralGap(m: MixingWeights, options: SpectralGapOptions = {}): SpectralGapResult {
  const tol = options.tolerance ?? 1e-10;
  const chk = checkMixing(m);
  if (chk.rowSumError > tol || chk.colSumError > tol) {
    throw new TopologyError(
      `spectralGap(${m.name}): W must be doubly stochastic (row-sum error ${chk.rowSumError.toExponential(2)}, ` +
        `column-sum error ${chk.colSumError.toExponential(2)})`,
    );
  }
  const n = m.n;
  if (n === 1) return { gap: 1, rho: 0, method: 'jacobi', exact: true, symmetric: m.symmetric, lambdaMax: 0, lambdaMin: 0 };
  const method = options.method ?? 'auto';
  const chosen: Exclude<SpectralMethod, 'auto'> =
    method === 'auto' ? (n <= 64 ? 'jacobi' : n <= 1024 ? 'tridiagonal' : 'lanczos') : method;

  let lo: number;
  let hi: number;
  let exact = true;
  let steps: number | undefined;
  if (chosen === 'lanczos') {
    const ones = new Float64Array(n).fill(1 / Math.sqrt(n));
    const tmp = new Float64Array(n);
    const applyW = (x: Float64Array, y: Float64Array): void => {
      m.nodes.forEach((node, i) => {
        let s = node.self * x[i];
        for (const { peer, w } of node.recv) s += w * x[peer];
        y[i] = s;
      });
    };
    const applyWt = (x: Float64Array, y: Float64Array): void => {
      m.nodes.forEach((node, j) => {
        let s = node.self * x[j];
        for (const { peer, w } of node.send) s += w * x[peer];
        y[j] = s;
      });
    };
    // On the subspace ⊥ 1 (kept by deflation), W − J acts as W and WᵀW − J as WᵀW.
    const op = m.symmetric
      ? applyW
      : (x: Float64Array, y: Float64Array): void => {
          applyW(x, tmp);
          applyWt(tmp, y);
        };
    const res = lanczos(op, n, { steps: options.lanczosSteps ?? Math.min(n - 1, 300), deflate: [ones] });
    ({ min: lo, max: hi } = extremes(res.t));
    exact = res.invariant;
    steps = res.steps;
  } else {
    const a = denseOperator(m);
    if (chosen === 'jacobi') {
      const ev = jacobiEigenvalues({ n, data: a });
      lo = ev[0];
      hi = ev[n - 1];
    } else {
      ({ min: lo, max: hi } = extremes(householderTridiagonal({ n, data: a })));
    }
  }
  if (m.symmetric) {
    const rho = Math.max(Math.abs(lo), Math.abs(hi));
    return { gap: 1 - rho, rho, lambdaMax: hi, lambdaMin: lo, method: chosen, exact, symmetric: true, ...(steps !== undefined ? { steps } : {}) };
  }
  const rho = Math.sqrt(Math.max(0, hi));
  return { gap: 1 - rho, rho, method: chosen, exact, symmetric: false, ...(steps !== undefined ? { steps } : {}) };
}
