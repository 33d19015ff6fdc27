import { describe, expect, it } from 'vitest';
import { dpSgdEpsilon, noiseForEpsilon, type Conversion } from '@gossamer/privacy';

describe('noiseForEpsilon', () => {
  const cases: Array<[number, number, number, number, Conversion]> = [
    // ε, δ, q, steps, conversion
    [8, 1e-5, 0.04, 2250, 'improved'],
    [3, 1e-5, 256 / 60000, 60 * 234, 'improved'],
    [1, 1e-5, 256 / 60000, 60 * 234, 'classic'],
    [0.5, 1e-6, 0.001, 10000, 'improved'],
    [50, 1e-5, 0.1, 100, 'improved'],
    [2, 1e-5, 1, 1, 'improved'], // no subsampling: the plain Gaussian mechanism
  ];
  it.each(cases)('ε=%f δ=%f q=%f steps=%i (%s): the σ found gives ε within 1 %% below the target', (epsilon, delta, q, steps, conversion) => {
    const sigma = noiseForEpsilon({ epsilon, delta, q, steps, conversion });
    const got = dpSgdEpsilon({ q, sigma, steps, delta, conversion }).epsilon;
    expect(got).toBeLessThanOrEqual(epsilon);
    expect(got).toBeGreaterThanOrEqual(0.99 * epsilon);
    // Near-minimal: 1 % less noise overshoots the budget.
    expect(dpSgdEpsilon({ q, sigma: 0.99 * sigma, steps, delta, conversion }).epsilon).toBeGreaterThan(epsilon);
  });

  it('a tighter tolerance lands closer to the target', () => {
    const p = { epsilon: 3, delta: 1e-5, q: 0.01, steps: 5000 };
    const sigma = noiseForEpsilon({ ...p, tolerance: 1e-6 });
    const got = dpSgdEpsilon({ ...p, sigma }).epsilon;
    expect(got).toBeLessThanOrEqual(3);
    expect(got).toBeGreaterThanOrEqual(3 * (1 - 1e-6));
  });

  it('needs no noise when nothing touches the data, and rejects impossible requests', () => {
    expect(noiseForEpsilon({ epsilon: 1, delta: 1e-5, q: 0, steps: 100 })).toBe(0);
    expect(noiseForEpsilon({ epsilon: 1, delta: 1e-5, q: 0.1, steps: 0 })).toBe(0);
    expect(() => noiseForEpsilon({ epsilon: 0, delta: 1e-5, q: 0.1, steps: 10 })).toThrow(RangeError);
    expect(() => noiseForEpsilon({ epsilon: Infinity, delta: 1e-5, q: 0.1, steps: 10 })).toThrow(RangeError);
    expect(() => noiseForEpsilon({ epsilon: 1, delta: 0, q: 0.1, steps: 10 })).toThrow(RangeError);
    // ε = 1e-6 for a million unsampled releases needs σ far beyond 1e6.
    expect(() => noiseForEpsilon({ epsilon: 1e-6, delta: 1e-5, q: 1, steps: 1_000_000 })).toThrow(/no σ/);
  });
});
