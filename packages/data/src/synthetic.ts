import { classificationDataset, regressionDataset, type ClassificationDataset, type RegressionDataset } from './dataset.js';
import { Random } from './random.js';

export interface BlobsOptions {
  numSamples: number;
  numClasses: number;
  numFeatures: number;
  /**
   * Distance of each class centre from the origin: centre_k = separation · u_k with u_k uniform on
   * the unit sphere, so two centres are about separation·√2 apart in high dimension. Default 3.
   */
  separation?: number;
  /** Std of the isotropic Gaussian noise around each centre. Default 1. */
  noise?: number;
  seed?: number;
}

export interface Blobs {
  readonly dataset: ClassificationDataset;
  /** [numClasses × numFeatures] class centres, row-major. */
  readonly centers: Float64Array;
}

/**
 * k Gaussian blobs in d dimensions: sample i has label (i mod k) before a seeded shuffle, so the
 * classes are balanced to ±1, and features centre_label + noise · N(0, I).
 */
export function gaussianBlobs(options: BlobsOptions): Blobs {
  const { numSamples: n, numClasses: k, numFeatures: d } = options;
  checkSizes('gaussianBlobs', n, d);
  if (!Number.isInteger(k) || k < 1) throw new Error(`gaussianBlobs: numClasses must be a positive integer, got ${k}`);
  const separation = options.separation ?? 3;
  const noise = options.noise ?? 1;
  const random = new Random(options.seed ?? 0);
  const centers = new Float64Array(k * d);
  for (let c = 0; c < k; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) norm += (centers[c * d + j] = random.normal()) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) centers[c * d + j] *= separation / norm;
  }
  const labels = random.shuffle(Uint32Array.from({ length: n }, (_, i) => i % k));
  const features = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) features[i * d + j] = centers[labels[i] * d + j] + noise * random.normal();
  }
  const dataset = classificationDataset({ name: `blobs(k=${k},d=${d},sep=${separation})`, features, labels, numClasses: k, featureShape: [d] });
  return { dataset, centers };
}

/** The ground truth of a synthetic linear or logistic model: prediction x·weights + bias. */
export interface LinearModel {
  readonly weights: Float64Array;
  readonly bias: number;
}

export interface LinearRegressionOptions {
  numSamples: number;
  numFeatures: number;
  /** Std of the Gaussian noise added to each target. Default 0.1. */
  noise?: number;
  /** Draw a bias b* ~ N(0, 0.25); otherwise b* = 0. Default true. */
  bias?: boolean;
  seed?: number;
}

export interface SyntheticRegression {
  readonly dataset: RegressionDataset;
  readonly truth: LinearModel;
}

/**
 * y = x·w* + b* + noise·ε with x ~ N(0, I), w* ~ N(0, I), b* ~ N(0, 0.25), ε ~ N(0, 1). The targets are computed from
 * the float32-rounded features the dataset holds, so least squares on the dataset recovers w* up to
 * the noise alone.
 */
export function linearRegression(options: LinearRegressionOptions): SyntheticRegression {
  const { numSamples: n, numFeatures: d } = options;
  checkSizes('linearRegression', n, d);
  const random = new Random(options.seed ?? 0);
  const truth = drawLinearModel(random, d, options.bias ?? true, 1);
  const noise = options.noise ?? 0.1;
  const features = gaussianFeatures(random, n, d);
  const targets = new Float32Array(n);
  for (let i = 0; i < n; i++) targets[i] = predict(truth, features, i, d) + noise * random.normal();
  return { dataset: regressionDataset({ name: `linear(d=${d})`, features, targets, featureShape: [d] }), truth };
}

export interface LogisticRegressionOptions {
  numSamples: number;
  numFeatures: number;
  /** w* ~ N(0, weightScale² I): larger means cleaner classes. Default 1. */
  weightScale?: number;
  /** Draw a bias b* ~ N(0, (weightScale / 2)²); otherwise b* = 0. Default true. */
  bias?: boolean;
  seed?: number;
}

export interface SyntheticLogistic {
  readonly dataset: ClassificationDataset;
  readonly truth: LinearModel;
}

/** Binary labels y ~ Bernoulli(σ(x·w* + b*)) with x ~ N(0, I): a well-specified logistic model. */
export function logisticRegression(options: LogisticRegressionOptions): SyntheticLogistic {
  const { numSamples: n, numFeatures: d } = options;
  checkSizes('logisticRegression', n, d);
  const random = new Random(options.seed ?? 0);
  const truth = drawLinearModel(random, d, options.bias ?? true, options.weightScale ?? 1);
  const features = gaussianFeatures(random, n, d);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const p = 1 / (1 + Math.exp(-predict(truth, features, i, d)));
    labels[i] = random.next() < p ? 1 : 0;
  }
  return { dataset: classificationDataset({ name: `logistic(d=${d})`, features, labels, numClasses: 2, featureShape: [d] }), truth };
}

function drawLinearModel(random: Random, d: number, withBias: boolean, scale: number): LinearModel {
  const weights = Float64Array.from({ length: d }, () => scale * random.normal());
  const bias = withBias ? 0.5 * scale * random.normal() : 0;
  return { weights, bias };
}

function gaussianFeatures(random: Random, n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = random.normal();
  return x;
}

function predict(model: LinearModel, features: Float32Array, row: number, d: number): number {
  let s = model.bias;
  for (let j = 0; j < d; j++) s += features[row * d + j] * model.weights[j];
  return s;
}

function checkSizes(op: string, n: number, d: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${op}: numSamples must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(d) || d < 1) throw new Error(`${op}: numFeatures must be a positive integer, got ${d}`);
}
