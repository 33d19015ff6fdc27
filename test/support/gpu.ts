import { afterAll, beforeAll, expect } from 'vitest';
import { Gpu } from '@gossamer/gpu';

/**
 * One device per test file. The adapter comes from GOSSAMER_ADAPTER (default `auto`: a real GPU when
 * there is one, else SwiftShader), so the same tests run unchanged on CI's SwiftShader and on GPUs.
 */
export function useGpu(): () => Gpu {
  let gpu: Gpu | undefined;
  beforeAll(async () => {
    gpu = await Gpu.create();
  });
  afterAll(async () => {
    if (gpu) {
      await gpu.sync();
      gpu.destroy();
    }
  });
  return () => {
    if (!gpu) throw new Error('useGpu: device not ready (call inside a test)');
    return gpu;
  };
}

/**
 * Runs `step` once to warm caches and pools, then twice more, and asserts the repeats created no GPU
 * buffers: what a steady-state training step must guarantee.
 */
export async function expectSteadyStateAllocatesNothing(gpu: Gpu, step: () => Promise<void>): Promise<void> {
  await step();
  const before = gpu.stats.buffersCreated;
  await step();
  await step();
  expect(gpu.stats.buffersCreated, 'GPU buffers created by a steady-state step').toBe(before);
}
