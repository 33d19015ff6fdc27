/** (ε, δ) of DP-SGD from its hyper-parameters, and the noise multiplier σ for a target ε. */

import { epsilonFromRdp, type Conversion, type EpsilonResult } from './convert.js';
import { computeRdp, DEFAULT_ORDERS } from './rdp.js';

export interface DpSgdParams {
  /** Poisson sampling rate per step (expected batch / dataset size). */
  q: number;
  /** Number of noisy steps. */
  steps: number;
  delta: number;
  orders?: readonly number[];
  conversion?: Conversion;
}

/** ε (and the best order) of `steps` sampled-Gaussian steps with noise multiplier σ. */
export function dpSgdEpsilon(params: DpSgdParams & { sigma: number }): EpsilonResult {
  const orders = params.orders ?? DEFAULT_ORDERS;
  const rdp = computeRdp(params.q, params.sigma, params.steps, orders);
  return epsilonFromRdp(orders, rdp, params.delta, params.conversion ?? 'improved');
}

export interface NoiseForEpsilonParams extends DpSgdParams {
  epsilon: number;
  /**
   * Stop once ε(σ) is within this fraction below the target (default 1e-3; the σ found always gives
   * ε ≤ target).
   */
  tolerance?: number;
}

/** The largest σ tried before giving up: such a budget is not reachable in practice. */
const MAX_SIGMA = 1e6;

/**
 * The smallest noise multiplier (to the tolerance) whose ε is at most the target, by bisection:
 * every ε_α falls as σ grows, so their minimum over orders does too. Returns 0 when no noise is
 * needed (q = 0 or no steps).
 */
export function noiseForEpsilon(params: NoiseForEpsilonParams): number {
  const target = params.epsilon;
  if (!(target > 0 && Number.isFinite(target))) throw new RangeError(`target ε must be finite and > 0, got ${target}`);
  const tolerance = params.tolerance ?? 1e-3;
  if (!(tolerance > 0 && tolerance < 1)) throw new RangeError(`tolerance must be in (0, 1), got ${tolerance}`);
  const eps = (sigma: number): number => dpSgdEpsilon({ ...params, sigma }).epsilon;
  if (params.q === 0 || params.steps === 0) return 0;

  let lo = 0; // ε(0) = ∞
  let hi = 1;
  let epsHi = eps(hi);
  while (epsHi > target) {
    lo = hi;
    hi *= 2;
    if (hi > MAX_SIGMA) throw new RangeError(`no σ ≤ ${MAX_SIGMA} reaches ε = ${target}`);
    epsHi = eps(hi);
  }
  // Invariant: ε(lo) > target ≥ ε(hi).
  for (let i = 0; i < 200 && epsHi < target * (1 - tolerance) && hi - lo > 1e-12 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    const e = eps(mid);
    if (e <= target) {
      hi = mid;
      epsHi = e;
    } else {
      lo = mid;
    }
  }
  return hi;
}
