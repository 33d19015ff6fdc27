// @gossamer/worker's browser entry (the `browser` export condition): the worker loop of host.ts and
// the run config, without what reads files (config files, MNIST, CSV). A page's data comes from the
// run (data-wire.ts).
export { DEFAULT_RUN_CONFIG, resolveRunConfig, augmentOf, type RunConfig, type DatasetSpec, type Algorithm } from './config.js';
export { RunConfigError, checkRunConfig, choices, runConfigSchema, shown } from './schema.js';
export type { TrainTest } from './datasets.js';
export { encodeTrainTest, decodeTrainTest } from './data-wire.js';
export {
  hostLoadedWorkers,
  roundsOf,
  workerBatchSeed,
  type HostOptions,
  type HostedResult,
  type HostedStart,
  type HostedDone,
  type HostedJoined,
  type WorkerEvent,
} from './host.js';
export { parseMerge, topologyFor } from './schema.js';
export { OUTER_ALGORITHMS, bandwidthLimitOf, isOuterAlgorithm, resolveOuterConfig, type OuterAlgorithm, type OuterConfig } from './outer.js';
