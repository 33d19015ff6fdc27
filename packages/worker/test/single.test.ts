// trainSingleWorker end to end on real MNIST digits (softmax: cheap even on SwiftShader), for what
// the config adds on top of the replica: augmentation reaching the steps, and errors before GPU work.
import { describe, expect, it } from 'vitest';
import { useGpu } from '../../../test/support/gpu.js';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, trainSingleWorker, type RunConfig } from '@gossamer/worker';

const mnistSoftmax: Partial<RunConfig> = { model: 'softmax', batchSize: 500, epochs: 1, logEvery: 8, evalEvery: 1, optimizer: { kind: 'adamw', lr: 0.01 } };

describe('trainSingleWorker', () => {
  const gpu = useGpu();

  it('trains on shifted digits with --augment shift:N; shift:0 is plain training bit for bit', async () => {
    const run = async (augment?: string) => {
      const result = await trainSingleWorker(resolveRunConfig({ ...mnistSoftmax, augment }), { gpu: gpu() });
      const params = decodeCheckpoint(result.checkpoint).sections.get('params') as Float32Array;
      return { accuracy: result.testAccuracy, params: Buffer.from(params.buffer, params.byteOffset, params.byteLength) };
    };
    const plain = await run();
    const unshifted = await run('shift:0');
    const shifted = await run('shift:2');
    expect(unshifted.params.equals(plain.params)).toBe(true);
    expect(shifted.params.equals(plain.params)).toBe(false);
    // 16 steps of softmax regression: both learn; the shifted digits are harder for a linear model.
    expect(plain.accuracy).toBeGreaterThan(0.8);
    expect(shifted.accuracy).toBeGreaterThan(0.6);
    // Same seed, same shifts: the augmented run is reproducible.
    expect((await run('shift:2')).params.equals(shifted.params)).toBe(true);
  });

  it('refuses augmentation of samples that are not images, naming the shape', async () => {
    const config = resolveRunConfig({ ...mnistSoftmax, dataset: { kind: 'blobs', samples: 200, classes: 3, features: 5 }, batchSize: 16, augment: 'shift:1' });
    await expect(trainSingleWorker(config, { gpu: gpu() })).rejects.toThrow(/shift augmentation needs image samples \[channels, height, width\]; this dataset's have shape \[5\]/);
  });

  it('checks the lr schedule before any GPU work', async () => {
    const g = gpu();
    const before = g.stats.buffersCreated;
    // 8,000 digits / 500 = 16 steps: a 16-step warm-up leaves no decay.
    await expect(trainSingleWorker(resolveRunConfig({ ...mnistSoftmax, lrSchedule: 'cosine:16' }), { gpu: g })).rejects.toThrow(/the run has 16 steps/);
    expect(g.stats.buffersCreated).toBe(before);
  });
});
