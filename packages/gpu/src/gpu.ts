import { acquireAdapter, describeAdapter, type AcquiredAdapter, type AdapterChoice } from './acquire.js';
import { GpuValidationError } from './errors.js';
import type { CompiledKernel } from './pipelines.js';
import { PipelineCache } from './pipelines.js';
import { BufferPool } from './pool.js';
import { StepEncoder } from './step.js';
import type { StorageBinding } from './kernel.js';
import { STORAGE_USAGE } from './usage.js';

export interface GpuOptions {
  /** Adapter choice; defaults to `GOSSAMER_ADAPTER` or `auto`. */
  adapter?: AdapterChoice;
  powerPreference?: GPUPowerPreference;
}

export interface GpuStats {
  submits: number;
  dispatches: number;
  /** GPU buffers created, pooled or not. A steady-state step must not move this. */
  buffersCreated: number;
  bytesCreated: number;
  pipelinesCreated: number;
  bindGroupsCreated: number;
}

/** Limits asked for at device creation: the adapter's best, since kernels size tiles by them. */
const WANTED_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

const MAX_CACHED_BIND_GROUPS = 8192;

let pendingDawnPromises = 0;
let keepAliveTimer: ReturnType<typeof setInterval> | undefined;

/**
 * Dawn's Node binding does not keep the event loop alive for onSubmittedWorkDone() or
 * popErrorScope(): a script awaiting only those would exit with a live device, and Dawn's teardown
 * then races SwiftShader's threads (seen as futex/mutex aborts). Hold a timer while any is pending.
 */
export async function keepAlive<T>(promise: Promise<T>): Promise<T> {
  if (pendingDawnPromises++ === 0 && typeof setInterval === 'function') keepAliveTimer = setInterval(() => {}, 60_000);
  try {
    return await promise;
  } finally {
    if (--pendingDawnPromises === 0 && keepAliveTimer !== undefined) {
      clearInterval(keepAliveTimer);
      keepAliveTimer = undefined;
    }
  }
}

/**
 * One WebGPU device with its buffer pool, pipeline cache and step encoders. Everything that runs on
 * the GPU in Gossamer goes through one of these.
 */
export class Gpu {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly paramMirrors: ArrayBuffer[] = [];
  private readonly errors: string[] = [];
  private ownBuffersCreated = 0;
  private ownBytesCreated = 0;
  private submits = 0;
  private dispatches = 0;
  private bindGroupsCreated = 0;
  private destroyed = false;

  private constructor(
    readonly device: GPUDevice,
    /** e.g. "nvidia ada (NVIDIA GeForce RTX 4090)" or "google swiftshader (SwiftShader driver 5.0.0)". */
    readonly adapterDescription: string,
    /** True on CPU implementations such as SwiftShader. */
    readonly isSoftware: boolean,
    readonly features: ReadonlySet<string>,
  ) {
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    device.addEventListener('uncapturederror', (ev) => {
      this.errors.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => {
      if (!this.destroyed) this.errors.push(`device lost (${info.reason}): ${info.message}`);
    });
  }

  static async create(options: GpuOptions = {}): Promise<Gpu> {
    // `process` does not exist in browsers, where the adapter is navigator.gpu's choice anyway.
    const fromEnv = typeof process === 'undefined' ? undefined : process.env.GOSSAMER_ADAPTER;
    const choice = options.adapter ?? fromEnv ?? 'auto';
    return Gpu.fromAdapter(await acquireAdapter(choice, options.powerPreference));
  }

  /** A Gpu on an adapter found elsewhere (a page's own navigator.gpu request), with the limits and features it needs. */
  static async fromAdapter(acquired: AcquiredAdapter | GPUAdapter): Promise<Gpu> {
    const { adapter, description, isSoftware } = 'adapter' in acquired ? acquired : { adapter: acquired, ...describeAdapter(acquired) };
    const requiredLimits: Record<string, number> = {};
    for (const name of WANTED_LIMITS) requiredLimits[name] = adapter.limits[name];
    const optional = ['shader-f16', 'timestamp-query', 'subgroups'] as const;
    const requiredFeatures = optional.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
    const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'gossamer' });
    return new Gpu(device, description, isSoftware, new Set(requiredFeatures));
  }

  /**
   * A Gpu on a device that already exists (e.g. a page that shares its device). The device must have
   * been requested with the adapter's limits (as fromAdapter does), or large models fail validation.
   */
  static fromDevice(device: GPUDevice, adapter: { description: string; isSoftware: boolean }): Gpu {
    return new Gpu(device, adapter.description, adapter.isSoftware, new Set([...device.features] as string[]));
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get stats(): GpuStats {
    return {
      submits: this.submits,
      dispatches: this.dispatches,
      buffersCreated: this.ownBuffersCreated + this.pool.stats.created,
      bytesCreated: this.ownBytesCreated + this.pool.stats.createdBytes,
      pipelinesCreated: this.pipelines.pipelinesCreated,
      bindGroupsCreated: this.bindGroupsCreated,
    };
  }

  /** A long-lived buffer (parameters, gradients, datasets). Size is rounded up to 4 bytes. */
  createBuffer(bytes: number, usage: number = STORAGE_USAGE, label?: string): GPUBuffer {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (size > this.limits.maxBufferSize) {
      throw new Error(`createBuffer(${label ?? ''}): ${size} bytes exceeds this device's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    this.ownBuffersCreated++;
    this.ownBytesCreated += size;
    return this.device.createBuffer({ size, usage, label });
  }

  /** A long-lived storage buffer holding `data`. */
  upload(data: ArrayBufferView, label?: string, usage: number = STORAGE_USAGE): GPUBuffer {
    const buffer = this.createBuffer(data.byteLength, usage, label);
    this.write(buffer, 0, data);
    return buffer;
  }

  /** Writes host bytes into a buffer; ordered before any later submit. */
  write(buffer: GPUBuffer, byteOffset: number, data: ArrayBufferView): void {
    const padded = Math.floor(data.byteLength / 4) * 4;
    if (padded > 0) this.device.queue.writeBuffer(buffer, byteOffset, data.buffer, data.byteOffset, padded);
    const rest = data.byteLength - padded;
    if (rest > 0) {
      // writeBuffer needs a multiple of 4 bytes: pad the tail with zeros.
      const tail = new Uint8Array(4);
      tail.set(new Uint8Array(data.buffer, data.byteOffset + padded, rest));
      this.device.queue.writeBuffer(buffer, byteOffset + padded, tail);
    }
  }

  beginStep(label?: string): StepEncoder {
    if (this.destroyed) throw new Error('Gpu: used after destroy()');
    return new StepEncoder(this, label);
  }

  /** Reads a byte range back to the host (its own submit; prefer StepEncoder.readback inside a step). */
  async read(buffer: GPUBuffer, byteOffset = 0, bytes = buffer.size - byteOffset): Promise<ArrayBuffer> {
    const step = this.beginStep('read');
    const result = step.readback(buffer, byteOffset, bytes);
    step.submit();
    const data = await result;
    await this.throwIfErrors();
    return data;
  }

  /** Reads `length` float32 values starting at element `offset`. */
  async readF32(buffer: GPUBuffer, offset = 0, length = buffer.size / 4 - offset): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, offset * 4, length * 4));
  }

  /** Waits until the GPU has finished all submitted work, then throws any WebGPU error seen so far. */
  async sync(): Promise<void> {
    await keepAlive(this.device.queue.onSubmittedWorkDone());
    await this.throwIfErrors();
  }

  private async throwIfErrors(): Promise<void> {
    const checks = this.pipelines.pendingChecks.splice(0);
    for (const msg of await keepAlive(Promise.all(checks))) if (msg) this.errors.push(msg);
    if (this.errors.length > 0) {
      const all = this.errors.splice(0);
      throw new GpuValidationError(all.join('\n'));
    }
  }

  /** Bind group for a compiled kernel, its param arena and storage bindings; cached by identity. */
  bindGroup(compiled: CompiledKernel, arena: GPUBuffer | null, storage: readonly StorageBinding[]): GPUBindGroup {
    let key = `${compiled.layoutId}|${arena ? this.idOf(arena) : 0}`;
    for (const s of storage) {
      key += 'buffer' in s ? `|${this.idOf(s.buffer)}:${s.offset ?? 0}:${s.size ?? ''}` : `|${this.idOf(s)}`;
    }
    let group = this.bindGroups.get(key);
    if (!group) {
      const entries: GPUBindGroupEntry[] = [];
      if (arena) entries.push({ binding: 0, resource: { buffer: arena, offset: 0, size: compiled.paramBytes } });
      storage.forEach((s, i) => {
        entries.push({ binding: i + 1, resource: 'buffer' in s ? { buffer: s.buffer, offset: s.offset, size: s.size } : { buffer: s } });
      });
      group = this.device.createBindGroup({ layout: compiled.layout, entries });
      if (this.bindGroups.size >= MAX_CACHED_BIND_GROUPS) this.bindGroups.clear();
      this.bindGroups.set(key, group);
      this.bindGroupsCreated++;
    }
    return group;
  }

  private idOf(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  /** @internal CPU mirrors of param arenas, reused across steps. */
  takeParamMirror(): ArrayBuffer {
    return this.paramMirrors.pop() ?? new ArrayBuffer(64 * 1024);
  }

  /** @internal */
  returnParamMirror(words: ArrayBuffer): void {
    this.paramMirrors.push(words);
  }

  /** @internal */
  recordSubmit(dispatches: number): void {
    this.submits++;
    this.dispatches += dispatches;
  }

  /** Releases every GPU resource so the Node process can exit. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.bindGroups.clear();
    this.pool.destroy();
    this.device.destroy();
  }
}
