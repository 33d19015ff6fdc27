import type { Constants, KernelSpec, StorageBinding } from './kernel.js';
import { PARAM_SLOT_BYTES } from './kernel.js';
import type { Gpu } from './gpu.js';
import { BufferUsage, MapMode } from './usage.js';

/** Uniform arena: one 64 KiB uniform buffer holds the params of up to 256 dispatches. */
const ARENA_BYTES = 64 * 1024;
const SLOTS_PER_ARENA = ARENA_BYTES / PARAM_SLOT_BYTES;

export type Workgroups = number | readonly [number, number?, number?];

interface PendingRead {
  staging: GPUBuffer;
  bytes: number;
  resolve: (data: ArrayBuffer) => void;
  reject: (e: unknown) => void;
}

/**
 * Records a whole step (forward, backward, optimizer, mixing, ...) into one command encoder and one
 * compute pass, and submits it once. Kernel params go into a pooled uniform arena addressed by
 * dynamic offsets, so a steady-state step creates no GPU buffers and reuses its bind groups.
 */
export class StepEncoder {
  private readonly encoder: GPUCommandEncoder;
  private pass: GPUComputePassEncoder | null = null;
  private arena: GPUBuffer | null = null;
  private readonly arenas: GPUBuffer[] = [];
  private slot = SLOTS_PER_ARENA;
  private readonly words: ArrayBuffer;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly f32: Float32Array;
  private readonly reads: PendingRead[] = [];
  private submitted = false;
  dispatches = 0;

  constructor(private readonly gpu: Gpu, label?: string) {
    this.encoder = gpu.device.createCommandEncoder({ label });
    this.words = gpu.takeParamMirror();
    this.u32 = new Uint32Array(this.words);
    this.i32 = new Int32Array(this.words);
    this.f32 = new Float32Array(this.words);
  }

  private ensurePass(): GPUComputePassEncoder {
    if (this.submitted) throw new Error('StepEncoder: already submitted');
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Writes the current arena to the GPU; queue.writeBuffer lands before this step's submit. */
  private flushArena(): void {
    if (this.arena && this.slot > 0) {
      this.gpu.device.queue.writeBuffer(this.arena, 0, this.words, 0, this.slot * PARAM_SLOT_BYTES);
    }
  }

  private nextSlot(): { arena: GPUBuffer; byteOffset: number } {
    if (this.slot >= SLOTS_PER_ARENA) {
      this.flushArena();
      this.arena = this.gpu.pool.acquire(ARENA_BYTES, BufferUsage.UNIFORM | BufferUsage.COPY_DST, 'param-arena');
      this.arenas.push(this.arena);
      this.slot = 0;
    }
    const byteOffset = this.slot * PARAM_SLOT_BYTES;
    this.slot++;
    return { arena: this.arena!, byteOffset };
  }

  /** Records one dispatch of `kernel` with its params, storage bindings and workgroup counts. */
  dispatch<P extends string>(
    kernel: KernelSpec<P>,
    params: Readonly<Record<P, number>>,
    storage: readonly StorageBinding[],
    workgroups: Workgroups,
    constants?: Constants,
  ): void {
    if (storage.length !== kernel.storage.length) {
      throw new Error(`${kernel.name}: expected ${kernel.storage.length} storage buffers, got ${storage.length}`);
    }
    const compiled = this.gpu.pipelines.get(kernel, constants);
    const pass = this.ensurePass();
    pass.setPipeline(compiled.pipeline);
    let arena: GPUBuffer | null = null;
    if (compiled.hasParams) {
      const s = this.nextSlot();
      arena = s.arena;
      const base = s.byteOffset / 4;
      kernel.params.forEach(([name, type], i) => {
        const v = params[name];
        if (v === undefined || Number.isNaN(v) && type !== 'f32') {
          throw new Error(`${kernel.name}: param ${name} is ${v}`);
        }
        if (type === 'f32') this.f32[base + i] = v;
        else if (type === 'u32') this.u32[base + i] = v;
        else this.i32[base + i] = v;
      });
      pass.setBindGroup(0, this.gpu.bindGroup(compiled, arena, storage), [s.byteOffset]);
    } else {
      pass.setBindGroup(0, this.gpu.bindGroup(compiled, null, storage));
    }
    const [x, y = 1, z = 1] = typeof workgroups === 'number' ? [workgroups] : workgroups;
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) {
      throw new Error(`${kernel.name}: workgroups ${x}x${y}x${z} exceed the device limit ${max} per dimension`);
    }
    if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
  }

  /** Records a buffer-to-buffer copy at this point of the step. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.ensureOpen();
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Zero-fills a byte range at this point of the step. */
  clear(buffer: GPUBuffer, offset = 0, bytes?: number): void {
    this.endPass();
    this.ensureOpen();
    this.encoder.clearBuffer(buffer, offset, bytes);
  }

  private ensureOpen(): void {
    if (this.submitted) throw new Error('StepEncoder: already submitted');
  }

  /**
   * Copies a byte range into a pooled staging buffer at this point of the step; the promise resolves
   * with a copy of the bytes after `submit()` once the GPU has produced them.
   */
  readback(buffer: GPUBuffer, byteOffset = 0, bytes = buffer.size - byteOffset): Promise<ArrayBuffer> {
    this.endPass();
    this.ensureOpen();
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.gpu.pool.acquire(padded, BufferUsage.MAP_READ | BufferUsage.COPY_DST, 'readback');
    this.encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, padded);
    return new Promise((resolve, reject) => this.reads.push({ staging, bytes, resolve, reject }));
  }

  /** Submits the step: one `queue.submit`. Readbacks resolve afterwards. */
  submit(): void {
    this.endPass();
    this.ensureOpen();
    this.flushArena();
    this.gpu.device.queue.submit([this.encoder.finish()]);
    this.submitted = true;
    this.gpu.recordSubmit(this.dispatches);
    for (const a of this.arenas) this.gpu.pool.release(a);
    this.gpu.pool.afterSubmit(this.gpu.device.queue);
    this.gpu.returnParamMirror(this.words);
    for (const r of this.reads) {
      r.staging.mapAsync(MapMode.READ, 0, Math.ceil(r.bytes / 4) * 4).then(
        () => {
          const out = r.staging.getMappedRange(0, Math.ceil(r.bytes / 4) * 4).slice(0, r.bytes);
          r.staging.unmap();
          this.gpu.pool.releaseIdle(r.staging);
          r.resolve(out);
        },
        (e: unknown) => {
          this.gpu.pool.releaseIdle(r.staging);
          r.reject(e);
        },
      );
    }
  }
}
