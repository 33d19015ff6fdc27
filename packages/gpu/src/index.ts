// @gossamer/gpu's Node entry: the browser entry (browser.ts) plus Dawn as the adapter source.
export { Gpu, keepAlive, type GpuOptions, type GpuStats } from './gpu.js';
export { StepEncoder, type Workgroups } from './step.js';
export { BufferPool, sizeClass, type PoolStats } from './pool.js';
export { PipelineCache, type CompiledKernel } from './pipelines.js';
export {
  defineKernel,
  paramStructBytes,
  PARAM_SLOT_BYTES,
  type KernelSpec,
  type ParamsOf,
  type ParamType,
  type StorageAccess,
  type StorageBinding,
  type Constants,
} from './kernel.js';
export { acquireAdapter, describeAdapter, setAdapterSource, type AdapterChoice, type AcquiredAdapter, type AdapterSource } from './acquire.js';
export { findSwiftShaderIcd, dawnAcquire } from './dawn.js';
export { GpuUnavailableError, GpuValidationError, SWIFTSHADER_ICD_CANDIDATES } from './errors.js';
export { BufferUsage, MapMode, STORAGE_USAGE } from './usage.js';
