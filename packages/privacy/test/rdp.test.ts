import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OPACUS_DEFAULT_ORDERS,
  DEFAULT_ORDERS,
  computeRdp,
  dpSgdEpsilon,
  logAFractionalOrder,
  logAIntegerOrder,
  rdpSampledGaussian,
} from '@gossamer/privacy';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));

/** A_α by plain float64 arithmetic: the binomial sum with no logs (fine for small α and moderate σ). */
function directA(q: number, sigma: number, alpha: number): number {
  let binom = 1;
  let sum = 0;
  for (let k = 0; k <= alpha; k++) {
    sum += binom * q ** k * (1 - q) ** (alpha - k) * Math.exp((k * k - k) / (2 * sigma * sigma));
    binom = (binom * (alpha - k)) / (k + 1);
  }
  return sum;
}

/**
 * log A_α by quadrature of its definition, A_α = ∫ φ_σ(z) (1 − q + q e^{(2z−1)/(2σ²)})^α dz, in log
 * space: the trapezoid rule on a fine grid is exponentially accurate for this smooth, Gaussian-tailed
 * integrand, and it shares nothing with either series.
 */
function quadratureLogA(q: number, sigma: number, alpha: number): number {
  const lo = -40 * sigma - 5;
  const hi = alpha + 40 * sigma + 5;
  const h = sigma / 100;
  const logs: number[] = [];
  const logNorm = -0.5 * Math.log(2 * Math.PI) - Math.log(sigma);
  for (let z = lo; z <= hi; z += h) {
    const a = Math.log1p(-q);
    const b = Math.log(q) + (2 * z - 1) / (2 * sigma * sigma);
    const mix = Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
    logs.push(logNorm - (z * z) / (2 * sigma * sigma) + alpha * mix);
  }
  const top = Math.max(...logs);
  return top + Math.log(logs.reduce((s, x) => s + Math.exp(x - top), 0) * h);
}

describe('integer orders: the binomial sum', () => {
  it.each([
    [0.01, 1, 2],
    [0.1, 0.7, 3],
    [0.3, 1.5, 5],
    [0.04, 0.9, 8],
    [0.5, 4, 10],
    [0.9, 2, 6],
  ])('q=%f σ=%f α=%i matches a direct float64 evaluation', (q, sigma, alpha) => {
    expect(rel(logAIntegerOrder(q, sigma, alpha), Math.log(directA(q, sigma, alpha)))).toBeLessThan(1e-11);
  });

  it('keeps full precision when the RDP is tiny (closed form at α = 2)', () => {
    // A₂ = 1 + q²(e^{1/σ²} − 1); log1p/expm1 give it to an ulp even when A₂ − 1 ≈ 1e-10.
    for (const [q, sigma] of [[1e-3, 50], [1e-5, 10], [0.01, 20]] as const) {
      const exact = Math.log1p(q * q * Math.expm1(1 / (sigma * sigma)));
      expect(rel(logAIntegerOrder(q, sigma, 2), exact)).toBeLessThan(1e-12);
    }
  });

  it('q = 1 through the sum equals the closed-form Gaussian RDP α/(2σ²)', () => {
    for (const sigma of [0.5, 1, 3.7]) {
      for (const alpha of [2, 7, 64]) {
        expect(rel(logAIntegerOrder(1, sigma, alpha) / (alpha - 1), alpha / (2 * sigma * sigma))).toBeLessThan(1e-13);
      }
    }
  });

  it('does not overflow at α = 256, σ = 0.3 and matches quadrature', () => {
    const q = 0.01;
    const got = logAIntegerOrder(q, 0.3, 256);
    expect(Number.isFinite(got)).toBe(true);
    expect(rel(got, quadratureLogA(q, 0.3, 256))).toBeLessThan(1e-9);
  });
});

describe('fractional orders: the two-sided series', () => {
  it.each([
    [0.01, 1, 2],
    [0.1, 2, 5],
    [0.04, 1.5, 10],
    [0.5, 0.8, 8],
    [0.01, 0.5, 32],
    [0.2, 3, 3],
  ])('q=%f σ=%f: agrees with the binomial sum at the integer order α=%i to 1e-9', (q, sigma, alpha) => {
    expect(rel(logAFractionalOrder(q, sigma, alpha), logAIntegerOrder(q, sigma, alpha))).toBeLessThan(1e-9);
  });

  it.each([
    [0.1, 1, 1.5],
    [0.01, 2.5, 2.5],
    [0.2, 0.8, 3.5],
    [0.05, 1.2, 10.9],
    [0.5, 2, 1.25],
    [0.001, 0.6, 4.5],
  ])('q=%f σ=%f α=%f matches quadrature of the definition', (q, sigma, alpha) => {
    expect(rel(logAFractionalOrder(q, sigma, alpha), quadratureLogA(q, sigma, alpha))).toBeLessThan(1e-8);
  });

  it('matches quadrature at random (q, σ, α) (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 1e-4, max: 0.99, noNaN: true }),
        fc.double({ min: 0.4, max: 10, noNaN: true }),
        fc.double({ min: 1.05, max: 12, noNaN: true }).filter((a) => !Number.isInteger(a)),
        (q, sigma, alpha) => {
          const series = logAFractionalOrder(q, sigma, alpha);
          const quad = quadratureLogA(q, sigma, alpha);
          // Absolute floor: log A can be ~1e-9 (small q, large σ), where both sit at float64 rounding.
          return Math.abs(series - quad) <= 1e-7 * Math.abs(quad) + 1e-13;
        },
      ),
      { numRuns: 60, seed: 17 },
    );
  });

  it('approaches the Gaussian RDP as q → 1', () => {
    for (const alpha of [1.25, 2.5, 7.5]) {
      expect(rel(rdpSampledGaussian(1 - 1e-9, 1.3, alpha), alpha / (2 * 1.3 * 1.3))).toBeLessThan(1e-6);
    }
  });
});

describe('rdpSampledGaussian: special cases and ranges', () => {
  it('q = 0 and σ = ∞ release nothing; σ = 0 releases everything; q = 1 is the Gaussian', () => {
    for (const alpha of [1.5, 2, 256, Infinity]) {
      expect(rdpSampledGaussian(0, 1, alpha)).toBe(0);
      expect(rdpSampledGaussian(0.1, Infinity, alpha)).toBe(0);
      expect(rdpSampledGaussian(0.1, 0, alpha)).toBe(Infinity);
    }
    expect(rdpSampledGaussian(1, 2, 5)).toBe(5 / 8);
    expect(rdpSampledGaussian(0.1, 1, Infinity)).toBe(Infinity);
    expect(computeRdp(0.1, 1, 0, [2, 3])).toEqual([0, 0]);
  });

  it('rejects invalid arguments', () => {
    expect(() => rdpSampledGaussian(1.5, 1, 2)).toThrow(RangeError);
    expect(() => rdpSampledGaussian(-0.1, 1, 2)).toThrow(RangeError);
    expect(() => rdpSampledGaussian(0.1, -1, 2)).toThrow(RangeError);
    expect(() => rdpSampledGaussian(0.1, 1, 1)).toThrow(RangeError);
    expect(() => rdpSampledGaussian(0.1, NaN, 2)).toThrow(RangeError);
    expect(() => computeRdp(0.1, 1, 2.5)).toThrow(RangeError);
  });

  it('is finite and positive over the order grid for q ∈ [1e-6, 1], σ ∈ [0.3, 50]', () => {
    for (const q of [1e-6, 0.01, 0.5, 0.999, 1]) {
      for (const sigma of [0.3, 1, 50]) {
        for (const r of computeRdp(q, sigma, 1, DEFAULT_ORDERS)) {
          expect(Number.isFinite(r)).toBe(true);
          expect(r).toBeGreaterThan(0);
        }
      }
    }
  });

  it('grows with the order (Rényi divergence is non-decreasing in α), across both formulas', () => {
    for (const [q, sigma] of [[0.02, 1.1], [0.5, 0.4], [1e-4, 8], [0.9, 3]] as const) {
      const rdp = computeRdp(q, sigma, 1, OPACUS_DEFAULT_ORDERS);
      for (let i = 1; i < rdp.length; i++) expect(rdp[i]!).toBeGreaterThan(rdp[i - 1]!);
    }
  });
});

describe('ε is monotone in σ, q and steps', () => {
  const base = { q: 0.01, sigma: 1.1, steps: 1000, delta: 1e-5 };
  it('decreases as σ grows', () => {
    let prev = Infinity;
    for (const sigma of [0.3, 0.5, 0.8, 1, 1.5, 2, 4, 8, 20, 50]) {
      const e = dpSgdEpsilon({ ...base, sigma }).epsilon;
      expect(e).toBeLessThan(prev);
      prev = e;
    }
  });
  it('increases with q', () => {
    let prev = 0;
    for (const q of [1e-4, 1e-3, 0.01, 0.05, 0.2, 0.6, 1]) {
      const e = dpSgdEpsilon({ ...base, q }).epsilon;
      expect(e).toBeGreaterThan(prev);
      prev = e;
    }
  });
  it('increases with steps, and per-order RDP is exactly linear in steps', () => {
    let prev = 0;
    for (const steps of [1, 10, 100, 1000, 10000]) {
      const e = dpSgdEpsilon({ ...base, steps }).epsilon;
      expect(e).toBeGreaterThan(prev);
      prev = e;
    }
    const one = computeRdp(0.01, 1.1, 1);
    computeRdp(0.01, 1.1, 37).forEach((r, i) => expect(rel(r, 37 * one[i]!)).toBeLessThan(1e-15));
  });
});
