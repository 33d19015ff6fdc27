/**
 * Our accountant against values published by TF Privacy, Google's dp_accounting and Opacus, for the
 * same (q, σ, steps, δ, orders, conversion). Each expected value names its source; tolerances are
 * those of the source's own assertion unless a comment says why ours differs.
 */
import { describe, expect, it } from 'vitest';
import {
  OPACUS_DEFAULT_ORDERS,
  TF_PRIVACY_DP_SGD_ORDERS,
  computeRdp,
  dpSgdEpsilon,
  epsilonFromRdp,
  noiseForEpsilon,
} from '@gossamer/privacy';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
const range = (from: number, toExclusive: number): number[] =>
  Array.from({ length: toExclusive - from }, (_, i) => from + i);

describe('TF Privacy compute_dp_sgd_privacy (dp_accounting RdpAccountant, improved conversion)', () => {
  // Source: tensorflow/privacy, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
  // test_compute_dp_sgd_privacy: (n, batch, σ, epochs, δ) → (ε, order). That function uses
  // q = batch/n, steps = ceil(epochs·n/batch) and the orders of TF_PRIVACY_DP_SGD_ORDERS
  // (compute_dp_sgd_privacy_lib.py). Their check is assertAlmostEqual (7 places) and an exact order;
  // we ask for 1e-9 relative — the same formulas in float64, differing only in summation order.
  it.each([
    [60000, 150, 1.3, 15, 1e-5, 0.7242234026109595, 19],
    [100000, 100, 1.0, 30, 1e-7, 1.4154988495444842, 13],
    [100000000, 1024, 0.1, 10, 1e-7, 5907982.3113978775, 1.25],
  ])('n=%i batch=%i σ=%f epochs=%i δ=%f → ε=%f at order %f', (n, batch, sigma, epochs, delta, eps, order) => {
    const got = dpSgdEpsilon({
      q: batch / n,
      sigma,
      steps: Math.ceil((epochs * n) / batch),
      delta,
      orders: TF_PRIVACY_DP_SGD_ORDERS,
    });
    expect(rel(got.epsilon, eps)).toBeLessThan(1e-9);
    expect(got.order).toBe(order);
  });
});

describe('Opacus RDPAccountant (DEFAULT_ALPHAS, improved conversion)', () => {
  it('σ=1.5, q=0.04, 2250 steps, δ=1e-5 → ε = 7.32911117143', () => {
    // Source: pytorch/opacus, opacus/tests/accountants_test.py, test_rdp_accountant
    // (steps = int(90 / 0.04) = 2250; assertAlmostEqual, 7 places). We ask for 1e-10 relative.
    const got = dpSgdEpsilon({ q: 0.04, sigma: 1.5, steps: 2250, delta: 1e-5, orders: OPACUS_DEFAULT_ORDERS });
    expect(rel(got.epsilon, 7.32911117143)).toBeLessThan(1e-10);
  });

  it('heterogeneous composition: (1e-5, 1.0, 10 steps) then (1e-4, 3.0, 4), orders 2…32 → (0.336, 23)', () => {
    // Source: pytorch/opacus, opacus/accountants/analysis/rdp.py, module docstring doctest
    // (printed to 3 decimals with +NUMBER, so we allow half a unit of the last digit).
    const orders = range(2, 33);
    const a = computeRdp(1e-5, 1.0, 10, orders);
    const b = computeRdp(1e-4, 3.0, 4, orders);
    const got = epsilonFromRdp(orders, a.map((x, i) => x + b[i]!), 1e-5);
    expect(Math.abs(got.epsilon - 0.336)).toBeLessThan(5e-4);
    expect(got.order).toBe(23);
  });

  it('get_noise_multiplier(ε=8, δ=1e-5, q=0.04, 90 epochs) = 1.425307617: our σ is within 1 %', () => {
    // Source: pytorch/opacus, opacus/tests/accountants_test.py, test_get_noise_multiplier.
    // That σ is where Opacus's own bisection stopped, not an exact root: its search (accountants/
    // utils.py) accepts any σ whose ε is within epsilon_tolerance below the target, and the test value
    // predates the current search (ε(1.425307617) = 7.919 under today's accountant, which matches the
    // 7.32911117143 above exactly). So we only check calibration to 1 %, and that ε(σ) meets the target.
    const params = { q: 0.04, steps: 2250, delta: 1e-5, orders: OPACUS_DEFAULT_ORDERS };
    const sigma = noiseForEpsilon({ ...params, epsilon: 8 });
    expect(rel(sigma, 1.425307617)).toBeLessThan(0.01);
    expect(dpSgdEpsilon({ ...params, sigma }).epsilon).toBeLessThanOrEqual(8);
  });
});

describe('TF Privacy rdp_accountant (RDP values)', () => {
  it('compute_rdp(q=0.1, σ=2, steps=10, order=5) ≈ 0.07737', () => {
    // Source: tensorflow/privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py,
    // test_compute_rdp_scalar (assertAlmostEqual, places=5).
    expect(Math.abs(computeRdp(0.1, 2, 10, [5])[0]! - 0.07737)).toBeLessThan(5e-6);
  });

  it('compute_rdp(q=0.01, σ=2.5, steps=50) at orders 1.5, 2.5, 5, 50, 100, ∞', () => {
    // Source: tensorflow/privacy, tensorflow_privacy/privacy/analysis/rdp_accountant_test.py,
    // test_compute_rdp_sequence (assertSequenceAlmostEqual, delta=1e-5 — their tolerance).
    const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307, Infinity];
    const got = computeRdp(0.01, 2.5, 50, [1.5, 2.5, 5, 50, 100, Infinity]);
    got.forEach((r, i) => {
      if (expected[i] === Infinity) expect(r).toBe(Infinity);
      else expect(Math.abs(r - expected[i]!)).toBeLessThan(1e-5);
    });
  });

  it('dp_accounting: the same sequence to 9 digits at integer orders, and ≤ its value at fractional ones', () => {
    // Source: google/differential-privacy, python/dp_accounting/dp_accounting/rdp/
    // rdp_privacy_accountant_test.py, test_compute_rdp_poisson_sampled_gaussian (np.allclose rtol=1e-4).
    // Integer orders: printed to 9 significant digits, so we ask for 1e-8 relative.
    const integer = computeRdp(0.01, 2.5, 50, [5, 50, 100]);
    [2.18075656e-3, 2.38460375e-2, 1.67416308e2].forEach((v, i) => expect(rel(integer[i]!, v)).toBeLessThan(1e-8));
    // Fractional orders: current dp_accounting sums |terms| of the series (log-gamma binomials lose the
    // sign of C(α, k) for k > α), an upper bound on the signed series we and the older TF Privacy sum
    // (whose 0.00065 and 0.001085 we match above). Ours must lie below theirs and within their 4e-2.
    const frac = computeRdp(0.01, 2.5, 50, [1.5, 2.5]);
    [6.70579741e-4, 1.0854871e-3].forEach((v, i) => {
      expect(frac[i]!).toBeLessThanOrEqual(v);
      expect(rel(frac[i]!, v)).toBeLessThan(4e-2);
    });
  });
});

describe('conversion to (ε, δ)', () => {
  it('pure-DP RDP 1.1 at orders 2…32, δ=1e-5 → ε = 1.32783806176 at order 32', () => {
    // Source: google/differential-privacy, dp_accounting/rdp/rdp_privacy_accountant_test.py,
    // test_compute_epsilon_delta_pure_dp (also tensorflow/privacy rdp_accountant_test.py,
    // test_get_privacy_spent_check_target_delta); assertAlmostEqual, 7 places.
    const orders = range(2, 33);
    const got = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
    expect(Math.abs(got.epsilon - 1.32783806176)).toBeLessThan(5e-8);
    expect(got.order).toBe(32);
  });

  it('the Gaussian mechanism with σ = 4.530877117 is exactly (1, 1e-6)-DP on a fine order grid', () => {
    // Source: google/differential-privacy, rdp_privacy_accountant_test.py,
    // test_compute_epsilon_delta_gaussian: orders 0.001·i (we start above 1, where RDP is defined),
    // q = 1, one step; assertAlmostEqual, 7 places.
    const orders = Array.from({ length: 100000 - 1001 }, (_, i) => 0.001 * (1001 + i));
    const got = epsilonFromRdp(orders, computeRdp(1, 4.530877117, 1, orders), 1e-6);
    expect(Math.abs(got.epsilon - 1)).toBeLessThan(5e-8);
  });
});

describe('TF Privacy MNIST tutorial (classic conversion, orders 1.1…10.9, 12…63)', () => {
  // Source: tensorflow/privacy, tutorials/README.md ("Expected Output" and "Select Parameters" table),
  // with the accounting of tutorials/mnist_dpsgd_tutorial.py (2019): q = 256/60000, steps =
  // epochs·(60000 // 256), orders [1 + x/10 for x in 1..99] + range(12, 64) (= OPACUS_DEFAULT_ORDERS),
  // and the pre-2020 get_privacy_spent: ε = rdp − log δ/(α − 1). The README prints 2 decimals and its
  // table was made with an earlier rdp_accountant, so we allow 0.01 (one unit of the last digit).
  it.each([
    [1.12, 1, 1.0],
    [1.12, 2, 1.04],
    [1.12, 60, 2.92],
    [0.6, 30, 9.74],
    [1.2, 10, 1.2],
  ])('σ=%f, %i epochs, δ=1e-5 → ε ≈ %f', (sigma, epochs, eps) => {
    const got = dpSgdEpsilon({
      q: 256 / 60000,
      sigma,
      steps: epochs * Math.floor(60000 / 256),
      delta: 1e-5,
      orders: OPACUS_DEFAULT_ORDERS,
      conversion: 'classic',
    });
    expect(Math.abs(got.epsilon - eps)).toBeLessThan(0.01);
  });

  it('the improved conversion gives a smaller ε than the classic one on the same RDP', () => {
    const p = { q: 256 / 60000, sigma: 1.12, steps: 60 * 234, delta: 1e-5, orders: OPACUS_DEFAULT_ORDERS };
    expect(dpSgdEpsilon(p).epsilon).toBeLessThan(dpSgdEpsilon({ ...p, conversion: 'classic' }).epsilon);
  });
});
