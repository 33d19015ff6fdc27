// @gossamer/model's browser entry (the `browser` export condition): everything but checkpoint files.
export { ParameterLayout, SEGMENT_ALIGN_FLOATS, type Initializer, type Segment, type TensorSpec } from './layout.js';
export { initialParameters, sfc32, streamSeed } from './init.js';
export {
  CHECKPOINT_MAGIC,
  CHECKPOINT_VERSION,
  CheckpointError,
  assertCompatible,
  canonicalJson,
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointHeader,
  type ResumeState,
} from './checkpoint.js';
export {
  resolveModel,
  modelTensors,
  modelLayout,
  softmaxRegression,
  mlp,
  smallCnn,
  parseModelSpec,
  outputsPerSample,
  inputsPerSample,
  type ModelSpec,
  type LayerSpec,
  type DenseLayerSpec,
  type Conv2dLayerSpec,
  type InputSpec,
  type ActivationName,
  type ResolvedLayer,
} from './network.js';
export { ModelGraph, type BatchInput } from './graph.js';
export { Replica, uploadEvalSet, type ReplicaOptions, type BatchSource, type EvalSet, type Evaluation } from './replica.js';
export * as modelReference from './reference.js';
export { learningRateFactor, checkLearningRateSchedule, type LearningRateSchedule } from './schedule.js';
export { crc32 } from './crc32.js';
export * from './gpt/index.js';
