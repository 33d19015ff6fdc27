import { describe, expect, it } from 'vitest';
import { PrivacyTracker, computeRdp, dpSgdEpsilon } from '@gossamer/privacy';

describe('PrivacyTracker', () => {
  it('ε after T calls to step equals the accountant for T steps, and grows every step', () => {
    const tracker = new PrivacyTracker();
    let prev = 0;
    for (let t = 1; t <= 50; t++) {
      tracker.step(0.01, 1.1);
      const e = tracker.epsilon(1e-5).epsilon;
      expect(e).toBeGreaterThan(prev);
      prev = e;
    }
    const direct = dpSgdEpsilon({ q: 0.01, sigma: 1.1, steps: 50, delta: 1e-5 });
    const got = tracker.epsilon(1e-5);
    expect(got.epsilon).toBeCloseTo(direct.epsilon, 12);
    expect(got.order).toBe(direct.order);
    expect(tracker.steps).toBe(50);
  });

  it('composes phases with different (q, σ): Opacus rdp.py doctest → (0.336, 23)', () => {
    // Source: pytorch/opacus, opacus/accountants/analysis/rdp.py, module docstring: parameters
    // (1e-5, 1.0, 10) and (1e-4, 3.0, 4), orders 2…32, δ = 1e-5; printed to 3 decimals.
    const tracker = new PrivacyTracker({ orders: Array.from({ length: 31 }, (_, i) => i + 2) });
    for (let i = 0; i < 10; i++) tracker.step(1e-5, 1.0);
    tracker.step(1e-4, 3.0, 4);
    const got = tracker.epsilon(1e-5);
    expect(Math.abs(got.epsilon - 0.336)).toBeLessThan(5e-4);
    expect(got.order).toBe(23);
  });

  it('summary merges consecutive equal steps into phases and copies them', () => {
    const tracker = new PrivacyTracker({ conversion: 'classic' });
    tracker.step(0.02, 1.5);
    tracker.step(0.02, 1.5);
    tracker.step(0.02, 0.9, 3);
    tracker.step(0.02, 1.5);
    const s = tracker.summary(1e-5);
    expect(s.phases).toEqual([
      { q: 0.02, sigma: 1.5, steps: 2 },
      { q: 0.02, sigma: 0.9, steps: 3 },
      { q: 0.02, sigma: 1.5, steps: 1 },
    ]);
    expect(s.steps).toBe(6);
    expect(s.conversion).toBe('classic');
    expect(s.delta).toBe(1e-5);
    s.phases[0]!.steps = 99;
    expect(tracker.summary(1e-5).phases[0]!.steps).toBe(2);
    // Composed RDP is the per-phase sum.
    const a = computeRdp(0.02, 1.5, 3, tracker.orders);
    const b = computeRdp(0.02, 0.9, 3, tracker.orders);
    tracker.rdp().forEach((r, i) => expect(r).toBeCloseTo(a[i]! + b[i]!, 12));
  });

  it('fromPhases resumes a ledger: the same phases and the same ε', () => {
    const tracker = new PrivacyTracker();
    tracker.step(0.01, 1.2, 300);
    tracker.step(0.02, 0.9, 50);
    const resumed = PrivacyTracker.fromPhases(tracker.summary(1e-5).phases);
    expect(resumed.summary(1e-5)).toEqual(tracker.summary(1e-5));
    resumed.step(0.02, 0.9);
    expect(resumed.epsilon(1e-5).epsilon).toBeGreaterThan(tracker.epsilon(1e-5).epsilon);
  });

  it('reports ε = 0 before any step and rejects bad steps without recording them', () => {
    const tracker = new PrivacyTracker();
    expect(tracker.epsilon(1e-5).epsilon).toBe(0);
    expect(() => tracker.step(1.2, 1)).toThrow(RangeError);
    expect(() => tracker.step(0.1, -1)).toThrow(RangeError);
    expect(() => tracker.step(0.1, 1, 1.5)).toThrow(RangeError);
    expect(tracker.steps).toBe(0);
    expect(() => new PrivacyTracker({ orders: [1, 2] })).toThrow(RangeError);
    expect(() => new PrivacyTracker({ orders: [] })).toThrow(RangeError);
  });
});
