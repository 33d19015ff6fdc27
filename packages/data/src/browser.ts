// @gossamer/data's browser entry (the `browser` export condition): everything but the file-based
// loaders (MNIST, CSV); a page gets its data from the run.
export {
  classificationDataset,
  regressionDataset,
  subset,
  labelHistogram,
  featureStatistics,
  standardize,
  type Dataset,
  type ClassificationDataset,
  type RegressionDataset,
  type ClassificationInit,
  type RegressionInit,
  type Standardization,
} from './dataset.js';
export { Random, deriveSeed } from './random.js';
export { apportion, stratifiedSplit, indicesByClass, type SplitIndices } from './split.js';
export {
  gaussianBlobs,
  linearRegression,
  logisticRegression,
  type BlobsOptions,
  type Blobs,
  type LinearModel,
  type LinearRegressionOptions,
  type SyntheticRegression,
  type LogisticRegressionOptions,
  type SyntheticLogistic,
} from './synthetic.js';
export {
  partitionDataset,
  partitionIid,
  partitionDirichlet,
  partitionShards,
  workerShard,
  summarizePartition,
  formatPartitionSummary,
  type Partition,
  type PartitionSpec,
  type IidSpec,
  type DirichletSpec,
  type ShardsSpec,
  type WorkerDataSummary,
  type PartitionSummary,
} from './partition.js';
export { GpuBatcher, batchesPerEpoch, epochPermutation, type GpuBatcherOptions, type BatchInfo, type BatchRemainder } from './batcher.js';
