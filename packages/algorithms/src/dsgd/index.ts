export { GossipMixer, TENSOR } from './mixer.js';
export {
  parseSchedule,
  describeSchedule,
  gossipTopology,
  resizeTopologySpec,
  topologyForView,
  planRound,
  type CommunicationSchedule,
  type RoundPlan,
  type GossipTopology,
  type PlanContext,
} from './schedule.js';
export {
  runDsgdWorker,
  measureRound,
  roundEvent,
  pushSumMix,
  finalMerge,
  consensusDistance,
  readParameters,
  type DsgdOptions,
  type FinalMerge,
  type WorkerContext,
  type RoundEvent,
  type MergedEvent,
  type AlgorithmEvent,
  type DsgdResult,
} from './worker.js';
export { runAllReduceSgdWorker, type AllReduceSgdOptions } from './baselines.js';
export { simulateWorkers, workerIds } from './simulate.js';
