export { DEFAULT_RUN_CONFIG, resolveRunConfig, loadRunConfig, type RunConfig, type DatasetSpec } from './config.js';
export { loadTrainTest, type TrainTest } from './datasets.js';
export { trainSingleWorker, type SingleWorkerOptions, type SingleWorkerResult } from './single.js';
export type { RunEvent, RunStartEvent, ProgressEvent, EvalEvent, RunDoneEvent } from './events.js';
