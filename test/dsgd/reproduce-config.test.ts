// `gossamer reproduce single-merge`: its runs are valid configs, and its claim checks say "holds" only
// when the numbers support the claim.
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '@gossamer/worker';
import { singleMergeClaims, singleMergeVariants, type VariantResult } from '@gossamer/experiments';

const result = (name: string, meanLocalAccuracy: number, mergedAccuracy?: number): VariantResult => ({
  name,
  role: '',
  curve: [],
  workers: 16,
  meanLocalAccuracy,
  mergedAccuracy,
  elapsedMs: 1000,
});

describe('reproduce single-merge', () => {
  it('runs 16 workers on Dirichlet(0.1) MNIST; every variant resolves to a valid run config', () => {
    const { base, variants } = singleMergeVariants(false);
    expect(base).toMatchObject({ workers: 16, partition: { kind: 'dirichlet', alpha: 0.1 }, dataset: { kind: 'mnist' } });
    expect(variants.map((v) => v.config.algo)).toEqual(['allreduce', 'dsgd', 'dsgd', 'dsgd', 'local', 'dsgd', 'dsgd']);
    for (const v of variants) expect(() => resolveRunConfig({ ...base, ...v.config })).not.toThrow();
  });

  it('checks each claim against the numbers', () => {
    const good = [
      result('all-reduce', 0.91),
      result('r=1', 0.8, 0.895),
      result('gossip5', 0.8, 0.893),
      result('r=0.2', 0.62, 0.83),
      result('none', 0.3, 0.38),
      result('early', 0.5, 0.7),
      result('late', 0.85, 0.85),
    ];
    const claims = singleMergeClaims(good);
    expect(claims).toHaveLength(5);
    for (const c of claims) expect(c).toMatch(/: holds$/);
    expect(claims[3]).toMatch(/^\(d\) final merge vs all-reduce SGD: 89\.50% vs 91\.00% \(1\.5 points below\)/);
    // The merge 3 points below all-reduce, a no-communication merge as good, late no better than early:
    const bad = [...good];
    bad[1] = result('r=1', 0.86, 0.88);
    bad[4] = result('none', 0.3, 0.85);
    bad[6] = result('late', 0.4, 0.4);
    const failing = singleMergeClaims(bad);
    expect(failing[0]).toMatch(/does not hold$/); // +2 points is not "far above"
    expect(failing[1]).toMatch(/does not hold$/);
    expect(failing[2]).toMatch(/does not hold$/);
    expect(failing[3]).toMatch(/3\.0 points below\) — claim: within 2 points: does not hold$/);
  });
});
