/**
 * @gossamer/privacy — privacy accounting for DP-SGD: Rényi DP of the Poisson-subsampled Gaussian
 * mechanism (Mironov, Talwar & Zhang 2019), composition, conversion to (ε, δ), σ for a target ε, and
 * a per-step tracker. Pure TypeScript, no GPU, no dependencies.
 */
export {
  DEFAULT_ORDERS,
  TF_PRIVACY_DP_SGD_ORDERS,
  OPACUS_DEFAULT_ORDERS,
  computeRdp,
  rdpSampledGaussian,
  logA,
  logAIntegerOrder,
  logAFractionalOrder,
} from './rdp.js';
export { epsilonAtOrder, epsilonFromRdp, type Conversion, type EpsilonResult } from './convert.js';
export {
  dpSgdEpsilon,
  noiseForEpsilon,
  type DpSgdParams,
  type NoiseForEpsilonParams,
} from './calibrate.js';
export {
  PrivacyTracker,
  type PrivacyPhase,
  type PrivacySummary,
  type PrivacyTrackerOptions,
} from './tracker.js';
export { logErfc, logAddExp, logSumExp, logSubExp } from './logmath.js';
