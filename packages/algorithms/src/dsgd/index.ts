export { GossipMixer } from './mixer.js';
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
  pushSumMix,
  finalMerge,
  type DsgdOptions,
  type FinalMerge,
  type DsgdResult,
} from './worker.js';
export { runAllReduceSgdWorker, type AllReduceSgdOptions } from './baselines.js';
export { simulateWorkers, workerIds } from './simulate.js';
