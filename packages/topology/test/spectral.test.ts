import { describe, expect, it } from 'vitest';
import {
  complete,
  erdosRenyi,
  exponential,
  exponentialWeights,
  householderTridiagonal,
  jacobiEigenvalues,
  metropolisHastings,
  mixingFromEntries,
  onePeerExponential,
  randomRegular,
  ring,
  spectralGap,
  symmetricEigenvalues,
  torus,
  tridiagonalEigenvalues,
} from '@gossamer/topology';
import { expectAllClose, rng } from '../../../test/support/numeric.js';

/** Closed form: a ring with MH weights 1/3 has eigenvalues 1/3 + (2/3)cos(2πm/n). */
function ringGapExact(n: number): number {
  let rho = 0;
  for (let m = 1; m < n; m++) rho = Math.max(rho, Math.abs(1 / 3 + (2 / 3) * Math.cos((2 * Math.PI * m) / n)));
  return 1 - rho;
}

function randomSymmetric(n: number, seed: number): number[][] {
  const r = rng(seed);
  const a = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i][j] = a[j][i] = 2 * r() - 1;
  return a;
}

describe('symmetric eigenvalue solvers', () => {
  it('Jacobi and Householder+bisection agree on random symmetric matrices; trace and Frobenius norm match', () => {
    for (const [n, seed] of [
      [1, 1],
      [2, 2],
      [7, 3],
      [40, 4],
      [90, 5],
    ]) {
      const a = randomSymmetric(n, seed);
      const ej = jacobiEigenvalues(a);
      const et = tridiagonalEigenvalues(householderTridiagonal(a));
      expectAllClose(et, ej, { atol: 1e-12, rtol: 0 }, `eigenvalues n=${n}`);
      const trace = a.reduce((s, r, i) => s + r[i], 0);
      const frob = a.reduce((s, r) => s + r.reduce((t, x) => t + x * x, 0), 0);
      expect(ej.reduce((s, x) => s + x, 0)).toBeCloseTo(trace, 11);
      expect(ej.reduce((s, x) => s + x * x, 0)).toBeCloseTo(frob, 10);
      for (let k = 1; k < n; k++) expect(ej[k]).toBeGreaterThanOrEqual(ej[k - 1]);
    }
  });

  it('matches known spectra: diagonal, and the ring closed form', () => {
    expect(Array.from(symmetricEigenvalues([[3, 0, 0], [0, -1, 0], [0, 0, 2]]))).toEqual([-1, 2, 3]);
    const n = 100;
    const W = Array.from({ length: n }, (_, i) => {
      const row = new Array<number>(n).fill(0);
      row[i] = 1 / 3;
      row[(i + 1) % n] = 1 / 3;
      row[(i + n - 1) % n] = 1 / 3;
      return row;
    });
    const expected = Array.from({ length: n }, (_, m) => 1 / 3 + (2 / 3) * Math.cos((2 * Math.PI * m) / n)).sort((x, y) => x - y);
    expectAllClose(symmetricEigenvalues(W, 'tridiagonal'), expected, { atol: 1e-13, rtol: 0 }, 'ring spectrum');
    expectAllClose(symmetricEigenvalues(W, 'jacobi'), expected, { atol: 1e-13, rtol: 0 }, 'ring spectrum (jacobi)');
  });
});

describe('spectral gap: reference values of ALGORITHMS.md §0', () => {
  it('ring with weights 1/3: 0.0507 (16), 0.0128 (32), 0.0032 (64)', () => {
    const ref: [number, number][] = [
      [16, 0.0507],
      [32, 0.0128],
      [64, 0.0032],
    ];
    for (const [n, gap] of ref) {
      const r = spectralGap(metropolisHastings(ring(n)));
      expect(Math.abs(r.gap - gap)).toBeLessThan(0.00005 + 0.0005 * gap);
      expect(r.gap).toBeCloseTo(ringGapExact(n), 13);
      expect(r.exact).toBe(true);
      expect(r.symmetric).toBe(true);
    }
  });

  it('static exponential graph (Ying et al. weights): 0.40 (16), 0.333 (32), 0.286 (64) — symmetric and directed forms', () => {
    const ref: [number, number][] = [
      [16, 0.4],
      [32, 0.333],
      [64, 0.286],
    ];
    for (const [n, gap] of ref) {
      const sym = spectralGap(exponentialWeights(n));
      const dir = spectralGap(exponentialWeights(n, { directed: true }));
      expect(Math.abs(sym.gap - gap)).toBeLessThan(0.0005);
      expect(Math.abs(dir.gap - gap)).toBeLessThan(0.0005);
      // Exactly 2/(τ+1).
      const tau = Math.log2(n);
      expect(sym.gap).toBeCloseTo(2 / (tau + 1), 12);
      expect(dir.gap).toBeCloseTo(2 / (tau + 1), 12);
      expect(dir.symmetric).toBe(false);
    }
  });

  it('documented difference: Metropolis–Hastings weights on the undirected exponential graph give 0.50 / 0.40 / 0.333', () => {
    expect(spectralGap(metropolisHastings(exponential(16))).gap).toBeCloseTo(0.5, 12);
    expect(spectralGap(metropolisHastings(exponential(32))).gap).toBeCloseTo(0.4, 12);
    expect(spectralGap(metropolisHastings(exponential(64))).gap).toBeCloseTo(1 / 3, 12);
  });

  it('4×4 torus with MH weights 1/5: 0.40', () => {
    const r = spectralGap(metropolisHastings(torus(4, 4)));
    expect(Math.abs(r.gap - 0.4)).toBeLessThan(0.0005);
    expect(r.gap).toBeCloseTo(0.4, 13);
  });

  it('ring gap ≈ 4π²/(3n²) for large n (dense solver, n up to 512)', () => {
    for (const n of [128, 256, 512]) {
      const r = spectralGap(metropolisHastings(ring(n)));
      expect(r.method).toBe('tridiagonal');
      const approx = (4 * Math.PI * Math.PI) / (3 * n * n);
      expect(Math.abs(r.gap - approx) / approx).toBeLessThan(1e-3);
      expect(Math.abs(r.gap - ringGapExact(n)) / ringGapExact(n)).toBeLessThan(1e-8);
    }
  });
});

describe('spectral gap: methods', () => {
  it('jacobi, tridiagonal and full-length lanczos agree', () => {
    for (const w of [
      metropolisHastings(randomRegular(60, 4, { seed: 1 })),
      metropolisHastings(erdosRenyi(50, 0.1, { seed: 2 })),
      metropolisHastings(ring(40)),
      exponentialWeights(48, { directed: true }),
    ]) {
      const j = spectralGap(w, { method: 'jacobi' });
      const t = spectralGap(w, { method: 'tridiagonal' });
      const l = spectralGap(w, { method: 'lanczos', lanczosSteps: w.n - 1 });
      expect(t.gap).toBeCloseTo(j.gap, 12);
      expect(l.gap).toBeCloseTo(j.gap, 9);
      expect(l.method).toBe('lanczos');
      expect(l.exact).toBe(true);
    }
  });

  it('lanczos on an expander converges in a few dozen steps; its gap is an upper bound', () => {
    const w = metropolisHastings(randomRegular(400, 6, { seed: 3 }));
    const dense = spectralGap(w, { method: 'tridiagonal' });
    const l = spectralGap(w, { method: 'lanczos', lanczosSteps: 80 });
    expect(l.gap).toBeGreaterThanOrEqual(dense.gap - 1e-12);
    expect(l.gap - dense.gap).toBeLessThan(1e-6);
    expect(l.steps).toBe(80);
  });

  it('complete graph: W = 11ᵀ/n has gap 1; identity has gap 0; non-stochastic W is refused', () => {
    expect(spectralGap(metropolisHastings(complete(8))).gap).toBeCloseTo(1, 13);
    const id = mixingFromEntries('I', 4, [0, 1, 2, 3].map((i) => ({ i, j: i, w: 1 })));
    expect(spectralGap(id).gap).toBeCloseTo(0, 14);
    const bad = mixingFromEntries('bad', 2, [
      { i: 0, j: 0, w: 1 },
      { i: 1, j: 0, w: 0.5 },
      { i: 1, j: 1, w: 0.5 },
    ]);
    expect(() => spectralGap(bad)).toThrow(/must be doubly stochastic/);
  });

  it('non-symmetric W: one-peer exponential step ½(I + P) has ρ = max_m |½(1 + e^{2πim/n})| = cos(π/n)', () => {
    const r = spectralGap(onePeerExponential(16).at(0));
    expect(r.symmetric).toBe(false);
    expect(r.rho).toBeCloseTo(Math.cos(Math.PI / 16), 12);
    // Offset n/2 is a pairing: ρ = 1 (the pairs never mix with each other in one step).
    expect(spectralGap(onePeerExponential(16).at(3)).rho).toBeCloseTo(1, 12);
  });
});
