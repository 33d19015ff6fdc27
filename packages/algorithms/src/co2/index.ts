export {
  CO2_DEFAULTS,
  GAP_PENALTY_EPSILON,
  describeOuterMomentumClip,
  describeStalenessPenalty,
  parseOuterMomentumClip,
  parseStalenessPenalty,
  slowMoOuterStep,
  type Co2Options,
  type PeriodicAveragingOptions,
  type SlowMoOptions,
  type Staleness,
} from './options.js';
export { OuterState } from './outer-state.js';
export {
  runCo2Worker,
  runLocalSgdWorker,
  runPeriodicAveragingWorker,
  runSlowMoWorker,
  type OuterRoundEvent,
  type OuterRule,
} from './worker.js';
