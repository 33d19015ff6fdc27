export { TENSOR } from './tensors.js';
export type { WorkerContext, RoundEvent, MergedEvent, AlgorithmEvent, WorkerResult } from './context.js';
export { contextInView, roundEvent, consensusDistance, readParameters, measurable, measureRound } from './measure.js';
