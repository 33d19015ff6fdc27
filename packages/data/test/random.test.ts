import { describe, expect, it } from 'vitest';
import { Random, deriveSeed } from '@gossamer/data';

describe('Random', () => {
  it('is a pure function of its seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xs);
    // Seeds that differ only above bit 32 (or in sign) give different streams too.
    expect(new Random(2 ** 40).nextU32()).not.toBe(new Random(0).nextU32());
    expect(new Random(-1).nextU32()).not.toBe(new Random(2 ** 32 - 1).nextU32());
  });

  it('draws uniforms, integers, normals and gammas with the right moments', () => {
    const r = new Random(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      s += z;
      s2 += z * z;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    for (const shape of [0.1, 0.5, 1, 3.7]) {
      let m = 0;
      for (let i = 0; i < 50_000; i++) m += r.gamma(shape);
      expect(m / 50_000).toBeCloseTo(shape, 1); // E[Gamma(a)] = a
    }
    for (let i = 0; i < 1000; i++) {
      const u = r.next();
      expect(u >= 0 && u < 1).toBe(true);
    }
  });

  it('draws Dirichlet vectors that sum to 1, are concentrated for small α and finite for tiny α', () => {
    const r = new Random(2);
    let maxShare = 0;
    for (let t = 0; t < 200; t++) {
      const p = r.dirichlet(0.1, 10);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      maxShare += Math.max(...p) / 200;
    }
    expect(maxShare).toBeGreaterThan(0.6); // α = 0.1: one or two categories dominate
    const flat = r.dirichlet(1000, 10);
    for (const v of flat) expect(Math.abs(v - 0.1)).toBeLessThan(0.02);
    const tiny = r.dirichlet(0.001, 50); // U^(1/α) would underflow: the log-space draw must not
    expect(tiny.every(Number.isFinite)).toBe(true);
    expect(tiny.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });

  it('permutes and derives independent stream seeds', () => {
    const p = new Random(3).permutation(1000);
    expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(Array.from(p.subarray(0, 10))).not.toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const seeds = new Set<number>();
    for (let e = 0; e < 1000; e++) seeds.add(deriveSeed(7, 'epoch', e));
    expect(seeds.size).toBe(1000);
    expect(deriveSeed(7, 'epoch', 3)).toBe(deriveSeed(7, 'epoch', 3));
    expect(deriveSeed(7, 'epoch', 3)).not.toBe(deriveSeed(8, 'epoch', 3));
    expect(Number.isSafeInteger(deriveSeed(2 ** 50, 'x'))).toBe(true);
  });
});
