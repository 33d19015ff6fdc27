// @gossamer/data's Node entry: everything of the browser entry (browser.ts), plus what needs Node.
export * from './browser.js';
export { loadMnist, mnistFromDigits, MNIST_PIXELS, MNIST_SHAPE, type MnistOptions, type MnistSplit } from './mnist.js';
export { parseCsv, loadCsv, CsvError, type CsvOptions } from './csv.js';
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
