/**
 * From RDP (α, ε_α) pairs to an (ε, δ) guarantee: every order gives a valid ε, so we report the
 * smallest and the order that gave it.
 */

/**
 * - `improved`: ε = ε_α + log((α−1)/α) − (log δ + log α)/(α−1) — Balle et al. 2020, "Hypothesis
 *   testing interpretations and Rényi DP", Thm 21; Canonne, Kamath & Steinke 2020, Prop. 12. What
 *   Opacus (≥ 1.0) and Google's dp_accounting (hence TF Privacy's compute_dp_sgd_privacy) use.
 * - `classic`: ε = ε_α + log(1/δ)/(α−1) — Mironov 2017, Prop. 3; what TF Privacy used before 2020.
 */
export type Conversion = 'improved' | 'classic';

export interface EpsilonResult {
  /** The smallest ε over the orders (≥ 0; ∞ when no order gives a finite bound). */
  epsilon: number;
  /** The order that gives it (NaN when ε is ∞). */
  order: number;
}

/** ε at one order for a target δ ∈ (0, 1). */
export function epsilonAtOrder(alpha: number, rdp: number, delta: number, conversion: Conversion = 'improved'): number {
  if (!(alpha > 1)) throw new RangeError(`RDP order α must be > 1, got ${alpha}`);
  if (!(rdp >= 0)) throw new RangeError(`RDP must be ≥ 0, got ${rdp}`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1), got ${delta}`);
  if (rdp === Infinity) return Infinity;
  // KL ≤ ε_α (Rényi divergence grows with α), and by Bretagnolle–Huber the total variation is at most
  // √(1 − e^{−KL}); when that is ≤ δ the mechanism is (0, δ)-DP. Without this, no steps (rdp = 0)
  // would still report ε > 0 from the −log δ terms.
  if (-Math.expm1(-rdp) <= delta * delta) return 0;
  const eps =
    conversion === 'improved'
      ? rdp + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1)
      : rdp - Math.log(delta) / (alpha - 1);
  // The improved bound can dip below 0 for large δ; ε = 0 is then what it proves.
  return Math.max(0, eps);
}

/** The best (ε, order) over `orders` for the composed RDP values `rdp` (same length). */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
  conversion: Conversion = 'improved',
): EpsilonResult {
  if (orders.length !== rdp.length) {
    throw new RangeError(`orders (${orders.length}) and rdp (${rdp.length}) must have the same length`);
  }
  if (orders.length === 0) throw new RangeError('at least one order is needed');
  let best: EpsilonResult = { epsilon: Infinity, order: NaN };
  for (let i = 0; i < orders.length; i++) {
    const eps = epsilonAtOrder(orders[i]!, rdp[i]!, delta, conversion);
    if (eps < best.epsilon) best = { epsilon: eps, order: orders[i]! };
  }
  return best;
}
