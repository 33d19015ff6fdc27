import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatPartitionSummary,
  linearRegression,
  loadMnist,
  partitionDataset,
  partitionShards,
  summarizePartition,
  workerShard,
  type ClassificationDataset,
  type Partition,
  type PartitionSpec,
} from '@gossamer/data';

/** Every sample belongs to exactly one worker, and each worker's list is ascending. */
function expectDisjointCover(p: Partition): void {
  const owner = new Int32Array(p.numSamples).fill(-1);
  p.workers.forEach((indices, w) => {
    for (let j = 0; j < indices.length; j++) {
      if (j > 0) expect(indices[j]).toBeGreaterThan(indices[j - 1]);
      expect(owner[indices[j]]).toBe(-1);
      owner[indices[j]] = w;
    }
  });
  expect(owner.indexOf(-1)).toBe(-1);
}

describe('partitioners on MNIST (8,000 training digits)', () => {
  let train: ClassificationDataset;
  beforeAll(async () => {
    ({ train } = await loadMnist({ seed: 0 }));
  });
  const summary = (p: Partition) => summarizePartition(p, train.labels, 10);

  it('IID: equal sizes ±1, every worker close to the global label distribution', () => {
    const p = partitionDataset(train, 7, { kind: 'iid', seed: 1 });
    expectDisjointCover(p);
    const s = summary(p);
    expect(s.maxSamples - s.minSamples).toBeLessThanOrEqual(1);
    for (const w of s.workers) {
      expect(w.totalVariation).toBeLessThan(0.08);
      expect(w.numLabels).toBe(10);
    }
    expect(s.meanClassesFor90).toBe(9); // roughly uniform over 10 classes: 90% needs 9 of them
  });

  it('Dirichlet α = 0.1 is strongly skewed; α = 100 is close to IID; both keep the minimum size', () => {
    const skewed = partitionDataset(train, 10, { kind: 'dirichlet', alpha: 0.1, seed: 1 });
    expectDisjointCover(skewed);
    const s = summary(skewed);
    expect(s.meanClassesFor90).toBeLessThanOrEqual(3);
    expect(s.meanTotalVariation).toBeGreaterThan(0.6);
    expect(s.minSamples).toBeGreaterThanOrEqual(10);

    const flat = partitionDataset(train, 10, { kind: 'dirichlet', alpha: 100, seed: 1 });
    expectDisjointCover(flat);
    const f = summary(flat);
    expect(f.meanTotalVariation).toBeLessThan(0.08);
    for (const w of f.workers) expect(w.numLabels).toBe(10);
    expect(f.meanClassesFor90).toBeGreaterThanOrEqual(8.5);

    const unbalanced = partitionDataset(train, 10, { kind: 'dirichlet', alpha: 0.1, seed: 1, balance: false, minSamplesPerWorker: 50 });
    expectDisjointCover(unbalanced);
    expect(summary(unbalanced).minSamples).toBeGreaterThanOrEqual(50);
  });

  it('Dirichlet at many workers repairs the minimum when redrawing alone does not reach it', () => {
    const p = partitionDataset(train, 256, { kind: 'dirichlet', alpha: 0.1, seed: 2, maxDraws: 5 });
    expectDisjointCover(p);
    expect(p.description).toMatch(/repaired=\d+/);
    const s = summary(p);
    expect(s.minSamples).toBeGreaterThanOrEqual(10);
    expect(s.meanClassesFor90).toBeLessThan(4); // still strongly non-IID
    expect(() => partitionDataset(train, 10, { kind: 'dirichlet', alpha: 0.1, minSamplesPerWorker: 801 })).toThrow(/cannot give 10 workers 801/);
  });

  it.each([
    [10, 2],
    [16, 3],
    [20, 1],
  ])('shards: %i workers × %i shards give every worker at most k labels', (n, k) => {
    const p = partitionDataset(train, n, { kind: 'shards', shardsPerWorker: k, seed: 3 });
    expectDisjointCover(p);
    const s = summary(p);
    for (const w of s.workers) expect(w.numLabels).toBeLessThanOrEqual(k);
    // Shards are near-equal in size, so workers are too (within a factor of about 1.3 here).
    expect(s.maxSamples / s.minSamples).toBeLessThan(1.35);
  });

  it('shards refuse splits that would need a two-label shard', () => {
    expect(() => partitionDataset(train, 4, { kind: 'shards', shardsPerWorker: 2, seed: 0 })).toThrow(/cannot cover 10 classes/);
    // A class smaller than its shard count gives shards away instead of leaving them empty.
    const labels = Uint32Array.from([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    const p = partitionShards(labels, 2, 6, 1, 0);
    expectDisjointCover(p);
    for (const w of p.workers) expect(w.length).toBeGreaterThan(0);
  });

  it.each<PartitionSpec>([
    { kind: 'iid' },
    { kind: 'dirichlet', alpha: 0.1 },
    { kind: 'shards', shardsPerWorker: 2 },
  ])('$kind: the same seed gives the identical partition, another seed another one', (spec) => {
    const a = partitionDataset(train, 8, { ...spec, seed: 11 });
    const b = partitionDataset(train, 8, { ...spec, seed: 11 });
    const c = partitionDataset(train, 8, { ...spec, seed: 12 });
    expect(b.workers).toEqual(a.workers);
    expect(c.workers).not.toEqual(a.workers);
  });

  it('summaries format as a table and shards materialise as datasets', () => {
    const p = partitionDataset(train, 12, { kind: 'dirichlet', alpha: 0.1, seed: 4 });
    const text = formatPartitionSummary(summary(p), 10);
    expect(text).toContain('dirichlet(α=0.1, seed=4');
    expect(text).toContain('... 2 more workers');
    expect(text).toMatch(/mean classes covering 90%: \d\.\d\d/);
    const shard = workerShard(train, p, 3);
    expect(shard.name).toBe('mnist/train/worker3');
    expect(shard.numSamples).toBe(p.workers[3].length);
    const i = p.workers[3][2];
    expect(shard.labels[2]).toBe(train.labels[i]);
    expect(shard.features.subarray(2 * 784, 3 * 784)).toEqual(train.features.subarray(i * 784, (i + 1) * 784));
  });

  it('regression data partitions IID only', () => {
    const { dataset } = linearRegression({ numSamples: 101, numFeatures: 2 });
    expectDisjointCover(partitionDataset(dataset, 4, { kind: 'iid' }));
    expect(() => partitionDataset(dataset, 4, { kind: 'dirichlet', alpha: 1 })).toThrow(/needs class labels/);
  });
});
