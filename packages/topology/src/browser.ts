// @gossamer/topology's browser entry (the `browser` export condition): everything but the CSV
// readers (csv-parse needs Node's Buffer when it loads).
/**
 * @gossamer/topology — graphs, mixing weights, spectral gap, time-varying gossip schedules and
 * graph partitioning for decentralized training (ALGORITHMS.md §0, §1, §2, §4). Pure TypeScript,
 * no dependencies, deterministic given seeds.
 */
export { boxMuller, createRng, mixSeed, type Rng } from './rng.js';
export {
  graphFromEdges,
  connectedComponents,
  isConnected,
  bfsDistances,
  eccentricity,
  diameter,
  diameterBounds,
  TopologyError,
  type Graph,
  type Edge,
  type EdgeInput,
  type EdgeListOptions,
  type DuplicatePolicy,
  type Components,
} from './graph.js';
export {
  ring,
  torus,
  exponential,
  exponentialOffsets,
  complete,
  randomRegular,
  erdosRenyi,
  type RandomGraphOptions,
} from './builders.js';
export {
  metropolisHastings,
  exponentialWeights,
  mixingFromEntries,
  mixingFromDense,
  denseMatrix,
  multiplyDense,
  checkMixing,
  isDoublyStochastic,
  applyMixing,
  kernelWeights,
  type MixingWeights,
  type NodeMixing,
  type MixingEntry,
  type MixingTriple,
  type MixingCheck,
} from './weights.js';
export {
  jacobiEigenvalues,
  householderTridiagonal,
  tridiagonalEigenvalue,
  tridiagonalEigenvalues,
  sturmCount,
  symmetricEigenvalues,
  symmetricEigen,
  lanczos,
  type SymmetricMatrix,
  type Tridiagonal,
  type EigenMethod,
  type Operator,
  type LanczosOptions,
  type LanczosResult,
} from './eigen.js';
export { spectralGap, type SpectralGapOptions, type SpectralGapResult, type SpectralMethod } from './spectral.js';
export {
  onePeerExponential,
  onePeerHypercube,
  onePeerOffset,
  isPowerOfTwo,
  randomMatching,
  randomPairwise,
  pushSum,
  type MixingSchedule,
  type RandomPairwiseOptions,
  type PushSumOptions,
} from './schedules.js';
export { partitionGraph, evaluatePartition, type Partition, type PartitionOptions } from './partition.js';
export {
  parseTopologySpec,
  buildGraph,
  buildTopology,
  describeTopology,
  formatTopologySummary,
  type TopologySpec,
  type WeightScheme,
  type TopologySummary,
  type DescribeOptions,
} from './describe.js';
