import { describe, expect, it } from 'vitest';
import { DEFAULT_ORDERS, computeRdp, epsilonAtOrder, epsilonFromRdp, logErfc } from '@gossamer/privacy';

/**
 * Exact δ(ε) of the Gaussian mechanism with sensitivity 1 and noise σ (Balle & Wang 2018, "Improving
 * the Gaussian mechanism", Thm 8): δ = Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ).
 */
function gaussianDelta(sigma: number, eps: number): number {
  const phi = (x: number): number => 0.5 * Math.exp(logErfc(-x / Math.SQRT2));
  return phi(1 / (2 * sigma) - eps * sigma) - Math.exp(eps) * phi(-1 / (2 * sigma) - eps * sigma);
}

describe('RDP → (ε, δ)', () => {
  it.each([0.5, 1, 2, 5, 20])('σ=%f: the ε we report for the Gaussian mechanism is a valid bound, and not loose', (sigma) => {
    for (const delta of [1e-3, 1e-5, 1e-9]) {
      for (const conversion of ['improved', 'classic'] as const) {
        const { epsilon } = epsilonFromRdp(DEFAULT_ORDERS, computeRdp(1, sigma, 1, DEFAULT_ORDERS), delta, conversion);
        // Valid: the exact privacy curve at our ε is within δ.
        expect(gaussianDelta(sigma, epsilon)).toBeLessThanOrEqual(delta);
        // Not vacuous: RDP loses well under 2× in ε on the plain Gaussian at these δ.
        let exact = 0;
        for (let lo = 0, hi = 1000, i = 0; i < 200; i++) {
          exact = 0.5 * (lo + hi);
          if (gaussianDelta(sigma, exact) > delta) lo = exact;
          else hi = exact;
        }
        expect(epsilon).toBeLessThan(2 * exact + 0.05);
      }
    }
  });

  it('the improved conversion is never worse than the classic one', () => {
    for (const alpha of [1.25, 2, 8, 64, 256]) {
      for (const rdp of [0.01, 0.5, 3, 40]) {
        expect(epsilonAtOrder(alpha, rdp, 1e-5, 'improved')).toBeLessThanOrEqual(epsilonAtOrder(alpha, rdp, 1e-5, 'classic'));
      }
    }
  });

  it('no privacy loss gives ε = 0, and ∞ RDP gives ε = ∞', () => {
    expect(epsilonFromRdp([2, 32], [0, 0], 1e-5)).toEqual({ epsilon: 0, order: 2 });
    // 1 − e^{−1e-11} ≈ 1e-11 ≤ δ² = 1e-10: total variation ≤ δ already.
    expect(epsilonAtOrder(2, 1e-11, 1e-5)).toBe(0);
    expect(epsilonAtOrder(2, 1e-9, 1e-5)).toBeGreaterThan(0);
    const none = epsilonFromRdp([2, 3], [Infinity, Infinity], 1e-5);
    expect(none.epsilon).toBe(Infinity);
    expect(Number.isNaN(none.order)).toBe(true);
  });

  it('rejects bad input', () => {
    expect(() => epsilonAtOrder(1, 0.1, 1e-5)).toThrow(RangeError);
    expect(() => epsilonAtOrder(2, -0.1, 1e-5)).toThrow(RangeError);
    expect(() => epsilonAtOrder(2, 0.1, 1)).toThrow(RangeError);
    expect(() => epsilonFromRdp([2, 3], [0.1], 1e-5)).toThrow(RangeError);
    expect(() => epsilonFromRdp([], [], 1e-5)).toThrow(RangeError);
  });
});
