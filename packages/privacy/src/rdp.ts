/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (SGM), after Mironov, Talwar & Zhang 2019,
 * "Rényi Differential Privacy of the Sampled Gaussian Mechanism" (arXiv:1908.10530), §3.
 *
 * With sensitivity 1, noise multiplier σ and sampling rate q, the SGM at order α > 1 has
 *   ε_α = log(A_α) / (α − 1),   A_α = E_{z∼N(0,σ²)} [(1 − q + q·e^{(2z−1)/(2σ²)})^α],
 * which the paper shows bounds both directions of the divergence between neighbours.
 */

import { log1pExp, logAddExp, logErfc, logExpm1, logSubExp, logSumExp } from './logmath.js';

/**
 * Our default order grid: TF Privacy's `compute_dp_sgd_privacy` list without 512
 * (1.25…4.5 in quarter/half steps, 5…63, 128, 256). Dense near 1 for large noise, sparse at the top
 * for small noise.
 */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128, 256,
]);

/** TF Privacy's `compute_dp_sgd_privacy` orders (compute_dp_sgd_privacy_lib.py), to reproduce it. */
export const TF_PRIVACY_DP_SGD_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128, 256, 512,
]);

/** Opacus's `RDPAccountant.DEFAULT_ALPHAS` (1.1…10.9 in tenths, then 12…63), to reproduce it. */
export const OPACUS_DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
]);

function checkArgs(q: number, sigma: number, alpha: number): void {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate q must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`noise multiplier σ must be ≥ 0, got ${sigma}`);
  if (!(alpha > 1)) throw new RangeError(`RDP order α must be > 1, got ${alpha}`);
}

/**
 * log A_α for integer α by the binomial expansion (paper §3.3):
 *   A_α = Σ_{k=0}^{α} C(α,k) q^k (1−q)^{α−k} e^{(k²−k)/(2σ²)}.
 * Since Σ_k C(α,k) q^k (1−q)^{α−k} = 1 and the k = 0, 1 terms have k² − k = 0, we sum
 * A_α − 1 = Σ_{k≥2} C(α,k) q^k (1−q)^{α−k} (e^{(k²−k)/(2σ²)} − 1) instead: all its terms are positive
 * and it keeps full relative precision when the RDP is tiny (large σ, small q).
 */
export function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  checkArgs(q, sigma, alpha);
  if (!Number.isInteger(alpha)) throw new RangeError(`integer order expected, got ${alpha}`);
  if (q === 0 || sigma === Infinity) return 0;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  const terms: number[] = [];
  // log C(α, k) built up by C(α, k+1) = C(α, k)·(α − k)/(k + 1); accurate to a few ulps at α = 256.
  let logBinom = Math.log(alpha) + Math.log(alpha - 1) - Math.LN2; // log C(α, 2)
  for (let k = 2; k <= alpha; k++) {
    const powers = k * logQ + (q === 1 ? (alpha === k ? 0 : -Infinity) : (alpha - k) * log1mQ);
    terms.push(logBinom + powers + logExpm1((k * k - k) * inv2s2));
    logBinom += Math.log(alpha - k) - Math.log(k + 1);
  }
  return log1pExp(logSumExp(terms));
}

/**
 * log A_α for any real α > 1 by the two series of the paper (§3.3): split the integral at
 * z₀ = σ² log(1/q − 1) + 1/2, where the two summands of the mixture density ratio cross, and expand
 * (1 + x)^α binomially on each side with |x| < 1:
 *   A₀ = Σ_k C(α,k) q^k (1−q)^{α−k} e^{(k²−k)/(2σ²)} · ½ erfc((k − z₀)/(√2 σ)),
 *   A₁ = Σ_k C(α,k) q^{α−k} (1−q)^k e^{(m²−m)/(2σ²)} · ½ erfc((z₀ − m)/(√2 σ)),  m = α − k.
 * For non-integer α the coefficients change sign at every k > α and shrink only polynomially, so the
 * positive and negative parts are summed separately and the loop stops once a term is 2^-46 of the
 * sum (the tail of an alternating series is smaller than its first term).
 */
export function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  checkArgs(q, sigma, alpha);
  if (q === 0 || sigma === Infinity) return 0;
  if (q === 1) return ((alpha * alpha - alpha) / (2 * sigma * sigma)); // A_α = e^{α(α−1)/(2σ²)}
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5;
  const scale = 1 / (Math.SQRT2 * sigma);
  let pos = -Infinity;
  let neg = -Infinity;
  let logAbsBinom = 0; // log |C(α, 0)|
  let sign = 1;
  // Terms fall like k^(−α−2), so 2e-14 relative needs ~4e4 terms at α = 1.01; far more means a bug.
  const maxTerms = 2_000_000;
  let converged = false;
  for (let k = 0; k < maxTerms && !converged; k++) {
    const m = alpha - k;
    const s0 =
      logAbsBinom + k * logQ + m * log1mQ + (k * k - k) * inv2s2 - Math.LN2 + logErfc((k - z0) * scale);
    const s1 =
      logAbsBinom + m * logQ + k * log1mQ + (m * m - m) * inv2s2 - Math.LN2 + logErfc((z0 - m) * scale);
    if (sign > 0) pos = logAddExp(logAddExp(pos, s0), s1);
    else neg = logAddExp(logAddExp(neg, s0), s1);
    // Integer α: every later coefficient is zero.
    converged = m === 0 || (k > alpha && Math.max(s0, s1) < pos - 32);
    logAbsBinom += Math.log(Math.abs(m)) - Math.log(k + 1);
    if (m < 0) sign = -sign;
  }
  if (!converged || Number.isNaN(pos) || Number.isNaN(neg)) {
    throw new Error(`RDP series did not converge (q=${q}, σ=${sigma}, α=${alpha})`);
  }
  return logSubExp(pos, neg);
}

/** log A_α: the exact binomial sum at integer orders, the series elsewhere. */
export function logA(q: number, sigma: number, alpha: number): number {
  return Number.isInteger(alpha) ? logAIntegerOrder(q, sigma, alpha) : logAFractionalOrder(q, sigma, alpha);
}

/**
 * RDP ε_α of one step of the sampled Gaussian mechanism. Special cases: q = 0 or σ = ∞ → 0 (nothing
 * released about the data); σ = 0 with q > 0 → ∞; q = 1 → α/(2σ²), the plain Gaussian mechanism;
 * α = ∞ → ∞.
 */
export function rdpSampledGaussian(q: number, sigma: number, alpha: number): number {
  if (alpha === Infinity) {
    if (!(q >= 0 && q <= 1) || !(sigma >= 0)) checkArgs(q, sigma, 2);
    return q === 0 || sigma === Infinity ? 0 : Infinity;
  }
  checkArgs(q, sigma, alpha);
  if (q === 0 || sigma === Infinity) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  return logA(q, sigma, alpha) / (alpha - 1);
}

/** RDP at each order of `steps` compositions of the SGM (RDP adds up under composition). */
export function computeRdp(
  q: number,
  sigma: number,
  steps: number,
  orders: readonly number[] = DEFAULT_ORDERS,
): number[] {
  if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`steps must be an integer ≥ 0, got ${steps}`);
  return orders.map((alpha) => {
    const one = rdpSampledGaussian(q, sigma, alpha);
    // 0·∞ would be NaN: zero steps release nothing.
    return steps === 0 ? 0 : one * steps;
  });
}
