import { describe, expect, it } from 'vitest';
import {
  CsvError,
  featureStatistics,
  gaussianBlobs,
  labelHistogram,
  linearRegression,
  loadCsv,
  loadMnist,
  logisticRegression,
  parseCsv,
  standardize,
  stratifiedSplit,
  subset,
  type ClassificationDataset,
} from '@gossamer/data';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Solves A x = b (n × n, row-major) by Gaussian elimination with partial pivoting. */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const m = Float64Array.from(a);
  const x = Float64Array.from(b);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
    [x[c], x[p]] = [x[p], x[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / m[c * n + c];
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    for (let k = c + 1; k < n; k++) x[c] -= m[c * n + k] * x[k];
    x[c] /= m[c * n + c];
  }
  return x;
}

/** Rows of the design matrix with a trailing 1 for the bias. */
function withBias(features: Float32Array, n: number, d: number): (i: number) => Float64Array {
  return (i) => {
    const row = new Float64Array(d + 1);
    for (let j = 0; j < d; j++) row[j] = features[i * d + j];
    row[d] = 1;
    return row;
  };
}

describe('MNIST', () => {
  it('loads all 10,000 real digits into a deterministic stratified 8,000 / 2,000 split', async () => {
    const { train, test } = await loadMnist({ seed: 1 });
    expect([train.numSamples, test.numSamples]).toEqual([8000, 2000]);
    expect(train.featureShape).toEqual([1, 28, 28]);
    expect(train.numFeatures).toBe(784);
    expect(train.numClasses).toBe(10);
    let min = Infinity;
    let max = -Infinity;
    for (const v of train.features) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBeLessThanOrEqual(1);
    expect(max).toBeGreaterThan(0.99);
    // Stratified: each digit is within one sample of 20% in the test set.
    const all = labelHistogram(train.labels, 10).map((c, d) => c + labelHistogram(test.labels, 10)[d]);
    expect(all.reduce((a, b) => a + b, 0)).toBe(10_000);
    const testHist = labelHistogram(test.labels, 10);
    for (let d = 0; d < 10; d++) expect(Math.abs(testHist[d] - all[d] * 0.2)).toBeLessThanOrEqual(1);
    // Same seed, same split and order; another seed, another split.
    const again = await loadMnist({ seed: 1 });
    expect(again.test.labels).toEqual(test.labels);
    expect(again.test.features.subarray(0, 784 * 5)).toEqual(test.features.subarray(0, 784 * 5));
    const other = await loadMnist({ seed: 2 });
    expect(other.test.features.subarray(0, 784 * 5)).not.toEqual(test.features.subarray(0, 784 * 5));
    // The order is shuffled: the first 100 training samples are not all one digit.
    expect(new Set(train.labels.subarray(0, 100)).size).toBe(10);
  });

  it('standardises with statistics of the training split', async () => {
    const { train, test, standardization } = await loadMnist({ seed: 1, normalization: 'standard' });
    expect(standardization!.mode).toBe('global');
    expect(standardization!.mean[0]).toBeGreaterThan(0.11);
    expect(standardization!.mean[0]).toBeLessThan(0.15);
    expect(standardization!.std[0]).toBeGreaterThan(0.28);
    expect(standardization!.std[0]).toBeLessThan(0.34);
    const after = featureStatistics(train);
    expect(after.mean[0]).toBeCloseTo(0, 5);
    expect(after.std[0]).toBeCloseTo(1, 5);
    const raw = await loadMnist({ seed: 1 });
    const i = 123;
    expect(test.features[i]).toBeCloseTo((raw.test.features[i] - standardization!.mean[0]) / standardization!.std[0], 5);
  });
});

describe('datasets and splits', () => {
  it('per-feature standardisation leaves constant columns at 0, not NaN', () => {
    const { dataset } = linearRegression({ numSamples: 100, numFeatures: 3, seed: 1 });
    dataset.features.forEach((_, i) => {
      if (i % 3 === 1) dataset.features[i] = 5;
    });
    const stats = featureStatistics(dataset, 'per-feature');
    const z = standardize(dataset, stats);
    expect(Array.from(z.features.filter((_, i) => i % 3 === 1))).toEqual(new Array(100).fill(0));
    expect(featureStatistics(z, 'per-feature').std[0]).toBeCloseTo(1, 5);
  });

  it('subset copies the chosen rows in order', () => {
    const { dataset } = gaussianBlobs({ numSamples: 50, numClasses: 3, numFeatures: 4, seed: 2 });
    const s = subset(dataset, [7, 3, 3]);
    expect(s.numSamples).toBe(3);
    expect(Array.from(s.features.subarray(4, 8))).toEqual(Array.from(dataset.features.subarray(12, 16)));
    expect(Array.from(s.labels)).toEqual([dataset.labels[7], dataset.labels[3], dataset.labels[3]]);
    expect(() => subset(dataset, [50])).toThrow(/out of range/);
  });

  it('stratifiedSplit hits the test size exactly and partitions the indices', () => {
    const labels = Uint32Array.from({ length: 1003 }, (_, i) => (i * 7) % 5);
    const { train, test } = stratifiedSplit(labels, 5, 301, 9);
    expect(test.length).toBe(301);
    const all = [...train, ...test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 1003 }, (_, i) => i));
  });
});

describe('synthetic data', () => {
  it('Gaussian blobs: balanced classes, separable when far apart and not when on top of each other', () => {
    const nearestCenterAccuracy = (separation: number) => {
      const { dataset, centers } = gaussianBlobs({ numSamples: 2000, numClasses: 4, numFeatures: 8, separation, seed: 3 });
      expect(Array.from(labelHistogram(dataset.labels, 4))).toEqual([500, 500, 500, 500]);
      let correct = 0;
      for (let i = 0; i < dataset.numSamples; i++) {
        let best = 0;
        let bestDist = Infinity;
        for (let c = 0; c < 4; c++) {
          let dist = 0;
          for (let j = 0; j < 8; j++) dist += (dataset.features[i * 8 + j] - centers[c * 8 + j]) ** 2;
          if (dist < bestDist) [best, bestDist] = [c, dist];
        }
        if (best === dataset.labels[i]) correct++;
      }
      return correct / dataset.numSamples;
    };
    expect(nearestCenterAccuracy(8)).toBeGreaterThan(0.99);
    expect(nearestCenterAccuracy(0)).toBeLessThan(0.35);
    const a = gaussianBlobs({ numSamples: 10, numClasses: 2, numFeatures: 3, seed: 5 });
    const b = gaussianBlobs({ numSamples: 10, numClasses: 2, numFeatures: 3, seed: 5 });
    expect(a.dataset.features).toEqual(b.dataset.features);
  });

  it('linear regression: least squares recovers the returned ground truth', () => {
    const d = 5;
    const n = 4000;
    const { dataset, truth } = linearRegression({ numSamples: n, numFeatures: d, noise: 0.1, seed: 4 });
    expect(dataset.task).toBe('regression');
    const row = withBias(dataset.features, n, d);
    const ata = new Float64Array((d + 1) ** 2);
    const aty = new Float64Array(d + 1);
    for (let i = 0; i < n; i++) {
      const x = row(i);
      for (let r = 0; r <= d; r++) {
        aty[r] += x[r] * dataset.targets[i];
        for (let c = 0; c <= d; c++) ata[r * (d + 1) + c] += x[r] * x[c];
      }
    }
    const w = solve(ata, aty, d + 1);
    for (let j = 0; j < d; j++) expect(Math.abs(w[j] - truth.weights[j])).toBeLessThan(0.01);
    expect(Math.abs(w[d] - truth.bias)).toBeLessThan(0.01);
  });

  it('logistic regression: Newton’s method on the labels recovers the returned ground truth', () => {
    const d = 3;
    const n = 20_000;
    const { dataset, truth } = logisticRegression({ numSamples: n, numFeatures: d, seed: 5 });
    expect(dataset.numClasses).toBe(2);
    const row = withBias(dataset.features, n, d);
    let w = new Float64Array(d + 1);
    for (let iter = 0; iter < 12; iter++) {
      const h = new Float64Array((d + 1) ** 2);
      const g = new Float64Array(d + 1);
      for (let i = 0; i < n; i++) {
        const x = row(i);
        let z = 0;
        for (let j = 0; j <= d; j++) z += x[j] * w[j];
        const p = 1 / (1 + Math.exp(-z));
        for (let r = 0; r <= d; r++) {
          g[r] += (p - dataset.labels[i]) * x[r];
          for (let c = 0; c <= d; c++) h[r * (d + 1) + c] += p * (1 - p) * x[r] * x[c];
        }
      }
      const step = solve(h, g, d + 1);
      w = w.map((v, j) => v - step[j]);
    }
    for (let j = 0; j < d; j++) expect(Math.abs(w[j] - truth.weights[j])).toBeLessThan(0.1);
    expect(Math.abs(w[d] - truth.bias)).toBeLessThan(0.1);
  });
});

describe('CSV', () => {
  const iris = [
    'sepal_length,sepal_width,species,petal_length',
    '5.1,3.5,setosa,1.4',
    '7.0,3.2,versicolor,4.7',
    '',
    '"6.3", 3.3 ,virginica,6.0\r',
    '4.9,3.0,setosa,-1.4e0',
  ].join('\n');

  it('reads numeric features and string labels by column name', () => {
    const d = parseCsv(iris, { label: 'species', name: 'iris.csv' }) as ClassificationDataset;
    expect(d.numSamples).toBe(4);
    expect(d.numFeatures).toBe(3);
    expect(d.classNames).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(Array.from(d.labels)).toEqual([0, 1, 2, 0]);
    expect(Array.from(d.features)).toEqual(Array.from(Float32Array.from([5.1, 3.5, 1.4, 7.0, 3.2, 4.7, 6.3, 3.3, 6.0, 4.9, 3.0, -1.4])));
  });

  it('takes a label column by index, integer labels, feature subsets, regression targets and quoting', () => {
    const text = 'a;b;y\n1;2;0\n3;4;2.0\n';
    const c = parseCsv(text, { label: -1, delimiter: ';' }) as ClassificationDataset;
    expect(c.numClasses).toBe(3);
    expect(Array.from(c.labels)).toEqual([0, 2]);
    const r = parseCsv(text, { label: 'y', task: 'regression', features: ['b'], delimiter: ';' });
    expect(r.task).toBe('regression');
    expect(r.task === 'regression' && Array.from(r.targets)).toEqual([0, 2]);
    expect(Array.from(r.features)).toEqual([2, 4]);
    const quoted = parseCsv('"x, first","say ""hi"""\n1,"a\nb"\n2,c\n', { label: 1 }) as ClassificationDataset;
    expect(quoted.classNames).toEqual(['a\nb', 'c']);
    const noHeader = parseCsv('1,2,1\n3,4,0\n', { label: 2, header: false });
    expect(noHeader.numSamples).toBe(2);
  });

  it('names the line and column of a bad value', () => {
    const bad = 'a,b,label\n1,2,0\n3,oops,1\n';
    expect(() => parseCsv(bad, { label: 'label', name: 'bad.csv' })).toThrow('bad.csv: line 3, column 2: (b) "oops" is not a number');
    expect(() => parseCsv('a,b,label\n1,,0\n', { label: 'label' })).toThrow('csv: line 2, column 2: (b) an empty cell is not a number');
    expect(() => parseCsv('a,b,label\n1,NaN,0\n', { label: 'label' })).toThrow(/line 2, column 2/);
    expect(() => parseCsv('a,b,label\n1,2,0\n\n1,2\n', { label: 'label' })).toThrow('csv: line 4: expected 3 fields, found 2');
    expect(() => parseCsv('a,b,label\n1,2,0\n"1,2,0\n', { label: 'label' })).toThrow(/line 3, column 1: unterminated/);
    expect(() => parseCsv('a,b\n1,2\n', { label: 'c' })).toThrow(/no label column "c" in the header \(line 1\): a, b/);
    expect(() => parseCsv('a,b,y\n1,2,5\n', { label: 'y', task: 'regression', features: ['a', 'y'] })).toThrow(/also a feature/);
    const error = (() => {
      try {
        parseCsv('a,label\nx,1\n', { label: 'label' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(CsvError);
    expect([(error as CsvError).line, (error as CsvError).column]).toEqual([2, 1]);
  });

  it('loads a file from disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-csv-'));
    const path = join(dir, 'iris.csv');
    writeFileSync(path, iris);
    const d = await loadCsv(path, { label: 'species' });
    expect(d.name).toBe(path);
    expect(d.numSamples).toBe(4);
    await expect(loadCsv(path, { label: 'sepal_width' })).rejects.toThrow(`${path}: line 2, column 3: (species) "setosa" is not a number`);
  });
});
