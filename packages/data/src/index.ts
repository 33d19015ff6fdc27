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
export { loadMnist, mnistFromDigits, MNIST_PIXELS, MNIST_SHAPE, type MnistOptions, type MnistSplit } from './mnist.js';
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
export { parseCsv, loadCsv, CsvError, type CsvOptions } from './csv.js';
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
export {
  parseTextSource,
  loadTextSource,
  loadMobyDick,
  loadSotu,
  loadTextFile,
  decodeUtf8,
  countChars,
  splitText,
  type TextDocument,
  type TextCorpus,
  type TextSourceSpec,
  type MobyDickOptions,
  type TextSplitOptions,
  type TextSplit,
} from './text.js';
export {
  CharTokenizer,
  ByteTokenizer,
  createTokenizer,
  encodeCorpus,
  type Tokenizer,
  type TokenizerKind,
  type CreateTokenizerOptions,
  type TokenDocument,
  type TokenStream,
} from './tokenizer.js';
export { BpeTokenizer, type BpeOptions } from './bpe.js';
export { prepareTextData, type TextDataOptions, type TextData } from './text-data.js';
export { partitionText, partitionTextContiguous, partitionTextBySpeaker, type TextShard, type TextPartitionKind } from './text-partition.js';
export { WindowSampler, gatherWindows, type WindowSamplerOptions, type WindowBatch } from './text-batch.js';
export {
  NgramCounts,
  tuneAlpha,
  ngramReferences,
  DEFAULT_ALPHA_GRID,
  type AlphaChoice,
  type NgramReference,
  type NgramReferenceOptions,
} from './ngram.js';
