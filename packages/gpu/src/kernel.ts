/**
 * A compute kernel: one WGSL entry point with a fixed binding convention, so host code never builds
 * layouts by hand:
 *   @group(0) @binding(0) var<uniform> params: Params;   (only when `params` is non-empty)
 *   @group(0) @binding(1..n) var<storage, read|read_write> ...;  (in `storage` order)
 * Scalars that vary per call go in `params`; choices that change the code (transposes, activation,
 * workgroup size) are WGSL `override` constants, so each variant is its own specialised pipeline
 * instead of a WGSL string template.
 */
export type ParamType = 'u32' | 'i32' | 'f32';
export type StorageAccess = 'read' | 'read_write';
export type Constants = Readonly<Record<string, number | boolean>>;

export interface KernelSpec<P extends string = string> {
  /** Unique, for labels, caches and error messages, e.g. `elementwise.axpy`. */
  readonly name: string;
  /** The WGSL module source (one file of `shaders/`). */
  readonly source: string;
  readonly entryPoint: string;
  /** The fields of the `Params` uniform struct, in declaration order (each 4 bytes). */
  readonly params: readonly (readonly [P, ParamType])[];
  /** Storage bindings 1..n. */
  readonly storage: readonly StorageAccess[];
}

export function defineKernel<const F extends readonly (readonly [string, ParamType])[]>(spec: {
  name: string;
  source: string;
  entryPoint: string;
  params: F;
  storage: readonly StorageAccess[];
}): KernelSpec<F[number][0]> {
  const seen = new Set<string>();
  for (const [name] of spec.params) {
    if (seen.has(name)) throw new Error(`kernel ${spec.name}: duplicate param ${name}`);
    seen.add(name);
  }
  if (!spec.source.includes(spec.entryPoint)) {
    throw new Error(`kernel ${spec.name}: entry point ${spec.entryPoint} is not in its WGSL source`);
  }
  return spec;
}

/** Params of a kernel as a record of its field names. */
export type ParamsOf<K> = K extends KernelSpec<infer P> ? Record<P, number> : never;

/** A storage binding: a whole buffer or a byte range of one (offset 256-aligned). */
export type StorageBinding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

/** Size of one uniform slot: WebGPU's default minUniformBufferOffsetAlignment. */
export const PARAM_SLOT_BYTES = 256;

/** Bytes of a Params struct with `count` 4-byte fields (uniform structs round up to 16). */
export function paramStructBytes(count: number): number {
  return Math.max(16, Math.ceil((count * 4) / 16) * 16);
}
