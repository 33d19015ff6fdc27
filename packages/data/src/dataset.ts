/**
 * In-memory datasets: row-major float32 features plus u32 class labels (classification) or float32
 * targets (regression). Everything downstream (splits, partitions, the GPU batcher) works on sample
 * indices into these arrays, so a dataset is loaded once and never copied per worker on the host
 * except when a shard is materialised for upload.
 */
interface DatasetCommon {
  /** e.g. "mnist/train", "blobs(k=4,d=8)", "csv:iris.csv". */
  readonly name: string;
  readonly numSamples: number;
  /** Features per sample: the product of `featureShape`. */
  readonly numFeatures: number;
  /** Shape of one sample, e.g. [1, 28, 28] for MNIST (channels, height, width) or [d] for vectors. */
  readonly featureShape: readonly number[];
  /** [numSamples × numFeatures], row-major. */
  readonly features: Float32Array;
}

export interface ClassificationDataset extends DatasetCommon {
  readonly task: 'classification';
  /** [numSamples], each in [0, numClasses). */
  readonly labels: Uint32Array;
  readonly numClasses: number;
  /** Optional names of the classes, index = label (e.g. from a CSV's string labels). */
  readonly classNames?: readonly string[];
}

export interface RegressionDataset extends DatasetCommon {
  readonly task: 'regression';
  /** [numSamples] scalar targets. */
  readonly targets: Float32Array;
}

export type Dataset = ClassificationDataset | RegressionDataset;

export interface ClassificationInit {
  name: string;
  features: Float32Array;
  labels: Uint32Array;
  numClasses: number;
  /** Defaults to [numFeatures] with numFeatures = features.length / labels.length. */
  featureShape?: readonly number[];
  classNames?: readonly string[];
}

export interface RegressionInit {
  name: string;
  features: Float32Array;
  targets: Float32Array;
  featureShape?: readonly number[];
}

/** A validated classification dataset (lengths agree, every label < numClasses). */
export function classificationDataset(init: ClassificationInit): ClassificationDataset {
  const numSamples = init.labels.length;
  const numFeatures = featureCount(init.name, init.features.length, numSamples, init.featureShape);
  if (!Number.isInteger(init.numClasses) || init.numClasses < 1) {
    throw new Error(`dataset ${init.name}: numClasses must be a positive integer, got ${init.numClasses}`);
  }
  for (let i = 0; i < numSamples; i++) {
    if (init.labels[i] >= init.numClasses) {
      throw new Error(`dataset ${init.name}: label ${init.labels[i]} of sample ${i} is not below numClasses ${init.numClasses}`);
    }
  }
  if (init.classNames && init.classNames.length !== init.numClasses) {
    throw new Error(`dataset ${init.name}: ${init.classNames.length} class names for ${init.numClasses} classes`);
  }
  return {
    task: 'classification',
    name: init.name,
    numSamples,
    numFeatures,
    featureShape: init.featureShape ?? [numFeatures],
    features: init.features,
    labels: init.labels,
    numClasses: init.numClasses,
    ...(init.classNames ? { classNames: init.classNames } : {}),
  };
}

/** A validated regression dataset. */
export function regressionDataset(init: RegressionInit): RegressionDataset {
  const numSamples = init.targets.length;
  const numFeatures = featureCount(init.name, init.features.length, numSamples, init.featureShape);
  return {
    task: 'regression',
    name: init.name,
    numSamples,
    numFeatures,
    featureShape: init.featureShape ?? [numFeatures],
    features: init.features,
    targets: init.targets,
  };
}

function featureCount(name: string, featureWords: number, numSamples: number, shape: readonly number[] | undefined): number {
  if (numSamples === 0) {
    if (!shape) throw new Error(`dataset ${name}: an empty dataset needs an explicit featureShape`);
  } else if (featureWords % numSamples !== 0) {
    throw new Error(`dataset ${name}: ${featureWords} feature values do not split into ${numSamples} samples`);
  }
  const numFeatures = shape ? shape.reduce((a, b) => a * b, 1) : featureWords / numSamples;
  if (shape && shape.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`dataset ${name}: bad featureShape [${shape.join(', ')}]`);
  if (numFeatures * numSamples !== featureWords) {
    throw new Error(`dataset ${name}: featureShape [${shape?.join(', ')}] needs ${numFeatures * numSamples} values, got ${featureWords}`);
  }
  return numFeatures;
}

/** The rows `indices` (in that order) as a new dataset with copied arrays. */
export function subset<D extends Dataset>(dataset: D, indices: ArrayLike<number>, name = dataset.name): D {
  const f = dataset.numFeatures;
  const features = new Float32Array(indices.length * f);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r];
    if (!(i >= 0 && i < dataset.numSamples)) throw new Error(`subset(${dataset.name}): index ${i} out of range [0, ${dataset.numSamples})`);
    features.set(dataset.features.subarray(i * f, (i + 1) * f), r * f);
  }
  if (dataset.task === 'classification') {
    const labels = Uint32Array.from(indices, (i) => dataset.labels[i]);
    return { ...dataset, name, numSamples: indices.length, features, labels };
  }
  const targets = Float32Array.from(indices, (i) => dataset.targets[i]);
  return { ...dataset, name, numSamples: indices.length, features, targets };
}

/** Samples per class, over all labels or over the samples `indices`. */
export function labelHistogram(labels: Uint32Array, numClasses: number, indices?: ArrayLike<number>): Uint32Array {
  const counts = new Uint32Array(numClasses);
  if (indices) for (let r = 0; r < indices.length; r++) counts[labels[indices[r]]]++;
  else for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

/**
 * Feature standardisation x' = (x − mean) / std. `global`: one mean and std over every feature value
 * (the usual choice for images: MNIST's well-known 0.1307 / 0.3081); `per-feature`: one per column
 * (tabular data). A std of 0 (a constant column, e.g. MNIST's corner pixels) is replaced by 1 so the
 * column becomes 0 instead of NaN.
 */
export interface Standardization {
  readonly mode: 'global' | 'per-feature';
  /** Length 1 (global) or numFeatures (per-feature). */
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

/** Mean and (population) std of the features; compute them on the training split only. */
export function featureStatistics(dataset: Dataset, mode: Standardization['mode'] = 'global'): Standardization {
  const { features, numFeatures: f, numSamples: n } = dataset;
  if (n === 0) throw new Error(`featureStatistics(${dataset.name}): empty dataset`);
  const width = mode === 'global' ? 1 : f;
  const sum = new Float64Array(width);
  const sumSq = new Float64Array(width);
  const perColumn = n * (f / width);
  // Two passes (mean, then squared deviations): one-pass sums lose digits when mean ≫ std.
  for (let i = 0; i < features.length; i++) sum[mode === 'global' ? 0 : i % f] += features[i];
  const mean = sum.map((s) => s / perColumn);
  for (let i = 0; i < features.length; i++) {
    const c = mode === 'global' ? 0 : i % f;
    const d = features[i] - mean[c];
    sumSq[c] += d * d;
  }
  const std = sumSq.map((s) => {
    const sd = Math.sqrt(s / perColumn);
    return sd > 0 ? sd : 1;
  });
  return { mode, mean, std };
}

/** A copy of the dataset with standardised features. */
export function standardize<D extends Dataset>(dataset: D, stats: Standardization): D {
  const f = dataset.numFeatures;
  if (stats.mode === 'per-feature' && stats.mean.length !== f) {
    throw new Error(`standardize(${dataset.name}): statistics for ${stats.mean.length} features, dataset has ${f}`);
  }
  const out = new Float32Array(dataset.features.length);
  for (let i = 0; i < out.length; i++) {
    const c = stats.mode === 'global' ? 0 : i % f;
    out[i] = (dataset.features[i] - stats.mean[c]) / stats.std[c];
  }
  return { ...dataset, features: out };
}
