import { afterAll, beforeAll } from 'vitest';
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
