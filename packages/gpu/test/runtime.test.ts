import { describe, expect, it } from 'vitest';
import { BufferPool, BufferUsage, defineKernel, GpuValidationError, sizeClass, STORAGE_USAGE } from '@gossamer/gpu';
import { useGpu } from '../../../test/support/gpu.js';

// A tiny kernel defined inline in the test (not product code) to exercise the runtime alone.
const source = /* wgsl */ `
struct P { n: u32, add: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
override SCALE: f32 = 1.0;
@compute @workgroup_size(64)
fn add_scaled(@builtin(global_invocation_id) g: vec3u) {
  if (g.x < p.n) { y[g.x] = SCALE * y[g.x] + p.add; }
}`;
const addScaled = defineKernel({
  name: 'test.add_scaled',
  source,
  entryPoint: 'add_scaled',
  params: [
    ['n', 'u32'],
    ['add', 'f32'],
  ],
  storage: ['read_write'],
});

describe('size classes', () => {
  it('round up by at most 25% and are monotone', () => {
    let prev = 0;
    for (let b = 1; b < 5_000_000; b = Math.ceil(b * 1.37)) {
      const c = sizeClass(b);
      expect(c).toBeGreaterThanOrEqual(b);
      if (b > 256) expect(c / b).toBeLessThanOrEqual(1.25);
      expect(c).toBeGreaterThanOrEqual(prev);
      prev = c;
    }
  });
});

describe('Gpu runtime', () => {
  const gpu = useGpu();

  it('reports an adapter and the limits kernels rely on', () => {
    const g = gpu();
    expect(g.adapterDescription.length).toBeGreaterThan(0);
    expect(g.limits.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(16384);
    expect(g.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
  });

  it('runs many dispatches with different params in one submit, in order', async () => {
    const g = gpu();
    const n = 300;
    const y = g.upload(new Float32Array(n).fill(1));
    const step = g.beginStep();
    // 600 dispatches: more than one 256-slot param arena, so arena chaining is exercised.
    for (let i = 0; i < 600; i++) step.dispatch(addScaled, { n, add: i % 2 === 0 ? 1 : -0.5 }, [y], Math.ceil(n / 64));
    const submitsBefore = g.stats.submits;
    step.submit();
    expect(g.stats.submits).toBe(submitsBefore + 1);
    const out = await g.readF32(y);
    expect(out[0]).toBe(1 + 300 * 0.5);
    expect(out[n - 1]).toBe(1 + 300 * 0.5);
  });

  it('specialises pipelines by override constants and caches them', async () => {
    const g = gpu();
    const y = g.upload(new Float32Array([1, 2, 3]));
    const before = g.stats.pipelinesCreated;
    const step = g.beginStep();
    step.dispatch(addScaled, { n: 3, add: 0 }, [y], 1, { SCALE: 3 });
    step.dispatch(addScaled, { n: 3, add: 1 }, [y], 1, { SCALE: 3 });
    step.dispatch(addScaled, { n: 3, add: 0 }, [y], 1, { SCALE: 0.5 });
    step.submit();
    expect(Array.from(await g.readF32(y))).toEqual([5, 9.5, 14]);
    expect(g.stats.pipelinesCreated - before).toBe(2);
  });

  it('a steady-state step creates no GPU buffers and no bind groups', async () => {
    const g = gpu();
    const y = g.upload(new Float32Array(1024));
    const runStep = async () => {
      const step = g.beginStep();
      for (let i = 0; i < 20; i++) step.dispatch(addScaled, { n: 1024, add: 1 }, [y], 16);
      const loss = step.readback(y, 0, 4);
      step.submit();
      return new Float32Array(await loss)[0];
    };
    await runStep();
    await runStep();
    await g.sync();
    const { buffersCreated, bindGroupsCreated } = g.stats;
    let last = 0;
    for (let i = 0; i < 10; i++) last = await runStep();
    expect(last).toBe(20 * 12);
    expect(g.stats.buffersCreated).toBe(buffersCreated);
    expect(g.stats.bindGroupsCreated).toBe(bindGroupsCreated);
  });

  it('pool reuses a released buffer only after the GPU finished with it', async () => {
    const g = gpu();
    const pool = new BufferPool(g.device);
    const a = pool.acquire(1000, STORAGE_USAGE);
    expect(a.size).toBe(sizeClass(1000));
    pool.release(a);
    // Not yet submitted: the parked buffer must not be handed out again.
    const b = pool.acquire(1000, STORAGE_USAGE);
    expect(b).not.toBe(a);
    g.device.queue.submit([]);
    pool.afterSubmit(g.device.queue);
    await g.sync();
    await new Promise((r) => setTimeout(r, 0));
    const c = pool.acquire(900, STORAGE_USAGE);
    expect(c).toBe(a);
    expect(pool.stats.reused).toBe(1);
    // A different usage never shares a free list.
    pool.release(c);
    g.device.queue.submit([]);
    pool.afterSubmit(g.device.queue);
    await g.sync();
    await new Promise((r) => setTimeout(r, 0));
    const d = pool.acquire(1000, BufferUsage.UNIFORM | BufferUsage.COPY_DST);
    expect(d).not.toBe(a);
    expect(() => pool.release(g.createBuffer(16))).toThrow(/does not belong/);
    pool.destroy();
  });

  it('reads back arbitrary ranges, including ones that are not a multiple of 4 bytes', async () => {
    const g = gpu();
    const bytes = Uint8Array.from({ length: 37 }, (_, i) => i * 7);
    const b = g.upload(bytes);
    const part = new Uint8Array(await g.read(b, 4, 30));
    expect(Array.from(part)).toEqual(Array.from(bytes.subarray(4, 34)));
  });

  it('surfaces WebGPU validation errors as GpuValidationError', async () => {
    const g = gpu();
    const y = g.createBuffer(64);
    const step = g.beginStep();
    // Wrong usage: a MAP_READ buffer bound as storage is invalid.
    const staging = g.createBuffer(64, BufferUsage.MAP_READ | BufferUsage.COPY_DST);
    step.dispatch(addScaled, { n: 4, add: 1 }, [staging], 1);
    step.submit();
    await expect(g.sync()).rejects.toBeInstanceOf(GpuValidationError);
    // The device keeps working afterwards.
    const ok = g.beginStep();
    ok.dispatch(addScaled, { n: 16, add: 2 }, [y], 1);
    ok.submit();
    expect((await g.readF32(y))[0]).toBe(2);
  });

  it('rejects wrong binding counts and oversized grids before touching the GPU', () => {
    const g = gpu();
    const y = g.createBuffer(64);
    const step = g.beginStep();
    expect(() => step.dispatch(addScaled, { n: 4, add: 1 }, [y, y], 1)).toThrow(/expected 1 storage buffers/);
    expect(() => step.dispatch(addScaled, { n: 4, add: 1 }, [y], 70_000)).toThrow(/exceed the device limit/);
    step.submit();
  });
});

describe('adapter choice', () => {
  it('an adapter that does not exist gives an error that says how to fix it', async () => {
    const { acquireAdapter, GpuUnavailableError } = await import('@gossamer/gpu');
    const err = await acquireAdapter('no-such-gpu-xyz').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuUnavailableError);
    expect((err as Error).message).toMatch(/no-such-gpu-xyz/);
    expect((err as Error).message).toMatch(/apt-get install -y chromium libvulkan1/);
    expect((err as Error).message).toMatch(/VK_ICD_FILENAMES/);
  });
});
