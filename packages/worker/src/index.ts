// @gossamer/worker's Node entry; browser.ts is the same loop without files.
export { DEFAULT_RUN_CONFIG, resolveRunConfig, augmentOf, type RunConfig, type DatasetSpec, type Algorithm } from './config.js';
export { loadRunConfig, checkRunConfigFiles } from './config-file.js';
export { RunConfigError, checkRunConfig, choices, parseDpSpec, runConfigJsonSchema, runConfigSchema, shown, type DpSpec } from './schema.js';
export { loadTrainTest, type TrainTest } from './datasets.js';
export { trainSingleWorker, type SingleWorkerOptions, type SingleWorkerResult } from './single.js';
export type { RunEvent, RunStartEvent, ProgressEvent, EvalEvent, RunDoneEvent } from './events.js';
export {
  hostWorkers,
  hostLoadedWorkers,
  simulateRun,
  parseMerge,
  parseRobust,
  topologyFor,
  roundsOf,
  workerBatchSeed,
  type HostOptions,
  type HostedResult,
  type HostedStart,
  type HostedDone,
  type WorkerEvent,
} from './distributed.js';
export { OUTER_ALGORITHMS, bandwidthLimitOf, isOuterAlgorithm, resolveOuterConfig, runOuterAlgorithm, type OuterAlgorithm, type OuterConfig } from './outer.js';
export { encodeTrainTest, decodeTrainTest } from './data-wire.js';
