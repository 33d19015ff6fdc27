import { describe, expect, it } from 'vitest';
import { logAddExp, logErfc, logSubExp, logSumExp } from '@gossamer/privacy';

describe('logErfc', () => {
  // Reference values: CPython 3 `math.erfc` (the platform libm), printed with repr().
  const reference: Array<[number, number]> = [
    [0, 1.0],
    [0.1, 0.8875370839817152],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [1.4999, 0.03390674833770473], // just below the series / continued-fraction switch
    [1.5, 0.033894853524689274],
    [2, 0.004677734981047265],
    [3, 2.2090496998585438e-5],
    [5, 1.5374597944280351e-12],
    [10, 2.088487583762545e-45],
    [20, 5.3958656116079005e-176],
    [26, 5.663192408856143e-296],
    [-0.7, 1.6778011938374184],
    [-3, 1.9999779095030015],
  ];
  it.each(reference)('erfc(%f) matches libm to 1e-13 relative', (x, erfc) => {
    // log differences are relative differences of erfc; the second term allows for the ulp of
    // log erfc itself (≈ 1.1e-13 at erfc(26) ≈ e^-680).
    const ref = Math.log(erfc);
    expect(Math.abs(logErfc(x) - ref)).toBeLessThan(1e-13 + 4e-16 * Math.abs(ref));
  });

  it('stays finite far past float64 underflow (asymptotic expansion to x⁻⁶)', () => {
    // log erfc(x) = −x² − log(x√π) + log(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …); the omitted term is
    // 105/(16x⁸) ≈ 1e-11 at x = 30.
    const asymptotic = (x: number): number =>
      -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4) - 15 / (8 * x ** 6));
    for (const x of [30, 40, 100, 1000]) expect(logErfc(x)).toBeCloseTo(asymptotic(x), 9);
    expect(logErfc(Infinity)).toBe(-Infinity);
    expect(logErfc(-Infinity)).toBeCloseTo(Math.LN2, 15);
  });

  it('is continuous across the switch at 1.5', () => {
    const below = logErfc(1.5 - 1e-12);
    const above = logErfc(1.5);
    // d/dx log erfc(1.5) ≈ −2.5, so a 1e-12 step moves it by ~2.5e-12.
    expect(Math.abs(below - above)).toBeLessThan(1e-11);
  });
});

describe('log-space sums', () => {
  it('add, subtract and sum without overflow', () => {
    expect(logAddExp(1000, 1000)).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logAddExp(-Infinity, 3)).toBe(3);
    expect(logSumExp([800, 800, 800])).toBeCloseTo(800 + Math.log(3), 12);
    expect(logSumExp([])).toBe(-Infinity);
    expect(logSubExp(1000 + Math.LN2, 1000)).toBeCloseTo(1000, 12);
    expect(logSubExp(5, 5)).toBe(-Infinity);
    expect(() => logSubExp(1, 2)).toThrow(RangeError);
  });
});
