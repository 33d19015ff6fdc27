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
  loadCheckpointFile,
  saveCheckpointFile,
  type Checkpoint,
  type CheckpointHeader,
} from './checkpoint.js';
