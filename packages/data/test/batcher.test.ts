import { describe, expect, it } from 'vitest';
import { reference, span } from '@gossamer/kernels';
import type { Gpu } from '@gossamer/gpu';
import { GpuBatcher, classificationDataset, epochPermutation, gaussianBlobs, linearRegression, type ClassificationDataset } from '@gossamer/data';
import { useGpu } from '../../../test/support/gpu.js';

function blobs(numSamples: number, numFeatures = 13): ClassificationDataset {
  return gaussianBlobs({ numSamples, numClasses: 5, numFeatures, seed: numSamples }).dataset;
}

/** The CPU rows of `indices`. */
function rowsOf(features: Float32Array, numFeatures: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * numFeatures);
  for (let r = 0; r < indices.length; r++) out.set(features.subarray(indices[r] * numFeatures, (indices[r] + 1) * numFeatures), r * numFeatures);
  return out;
}

/** Encodes the batcher's next batch in a step of its own; the batch as read back, and what the step cost. */
async function nextBatch(g: Gpu, batcher: GpuBatcher) {
  const { submits, dispatches } = g.stats;
  const step = g.beginStep();
  const info = batcher.encode(step);
  const features = step.readback(batcher.batchFeatures.buffer, 0, batcher.batchFeatures.length * 4);
  const labels = step.readback(batcher.batchLabels.buffer, 0, batcher.batchSize * 4);
  step.submit();
  return {
    info,
    indices: Array.from(info.indices),
    features: new Float32Array(await features),
    labels: Array.from(new Uint32Array(await labels)),
    submits: g.stats.submits - submits,
    dispatches: g.stats.dispatches - dispatches,
  };
}

describe('GpuBatcher', () => {
  const gpu = useGpu();

  it('gathers batches equal to the CPU rows of their indices, across an epoch boundary, one submit per step', async () => {
    const g = gpu();
    const shard = blobs(103);
    const batcher = new GpuBatcher(g, shard, { batchSize: 32, seed: 5 });
    expect(batcher.stepsPerEpoch).toBeCloseTo(103 / 32);
    for (let s = 0; s < 5; s++) {
      const { info, indices, features, labels, submits } = await nextBatch(g, batcher);
      expect(submits).toBe(1);
      expect(info.step).toBe(s);
      expect(info.epoch).toBe(Math.floor((s * 32) / 103));
      expect(features).toEqual(rowsOf(shard.features, 13, indices));
      expect(labels).toEqual(indices.map((i) => shard.labels[i]));
    }
    batcher.destroy();
  });

  it('creates no GPU buffers and no bind groups in steady-state steps', async () => {
    const g = gpu();
    const shard = blobs(500, 784);
    const batcher = new GpuBatcher(g, shard, { batchSize: 64, seed: 1 });
    const runStep = async () => {
      const step = g.beginStep();
      const info = batcher.encode(step);
      const firstLabel = step.readback(batcher.batchLabels.buffer, 0, 4);
      step.submit();
      expect(new Uint32Array(await firstLabel)[0]).toBe(shard.labels[info.indices[0]]);
    };
    await runStep();
    await runStep();
    await g.sync();
    const { buffersCreated, bindGroupsCreated } = g.stats;
    for (let i = 0; i < 12; i++) await runStep(); // crosses an epoch boundary (500 / 64 ≈ 7.8 steps)
    expect(g.stats.buffersCreated).toBe(buffersCreated);
    expect(g.stats.bindGroupsCreated).toBe(bindGroupsCreated);
    batcher.destroy();
  });

  it('samples without replacement within an epoch (drop) and uses each sample once per epoch (wrap)', () => {
    const g = gpu();
    const shard = blobs(100, 2);
    const drop = new GpuBatcher(g, shard, { batchSize: 16, seed: 2, remainder: 'drop' });
    expect(drop.stepsPerEpoch).toBe(6);
    for (let epoch = 0; epoch < 2; epoch++) {
      const seen: number[] = [];
      for (let s = 0; s < 6; s++) seen.push(...drop.indicesOf(epoch * 6 + s));
      expect(new Set(seen).size).toBe(96);
      expect(seen).toEqual(Array.from(epochPermutation(100, 2, epoch).subarray(0, 96)));
    }
    const wrap = new GpuBatcher(g, shard, { batchSize: 16, seed: 2 });
    const counts = new Array<number>(100).fill(0);
    for (let s = 0; s < 25; s++) for (const i of wrap.indicesOf(s)) counts[i]++; // 25 · 16 = 4 epochs
    expect(new Set(counts)).toEqual(new Set([4]));
    // Epochs are shuffled differently, and a seed reproduces its order.
    expect(Array.from(epochPermutation(100, 2, 0))).not.toEqual(Array.from(epochPermutation(100, 2, 1)));
    const again = new GpuBatcher(g, shard, { batchSize: 16, seed: 2 });
    again.seek(13);
    expect(Array.from(again.indicesOf(again.stepsTaken))).toEqual(Array.from(wrap.indicesOf(13)));
    for (const b of [drop, wrap, again]) b.destroy();
  });

  it('handles shards smaller than a batch (wrap) and refuses them with drop', async () => {
    const g = gpu();
    const shard = blobs(5, 3);
    expect(() => new GpuBatcher(g, shard, { batchSize: 8, remainder: 'drop' })).toThrow(/cannot fill one batch/);
    const batcher = new GpuBatcher(g, shard, { batchSize: 8, seed: 3 });
    const step = g.beginStep();
    const info = batcher.encode(step);
    step.submit();
    const indices = Array.from(info.indices);
    expect(new Set(indices.slice(0, 5)).size).toBe(5); // the first epoch whole, then the next one starts
    expect(await g.readF32(batcher.batchFeatures.buffer)).toEqual(rowsOf(shard.features, 3, indices));
    batcher.destroy();
  });

  it('gathers regression targets and writes into caller-provided spans', async () => {
    const g = gpu();
    const { dataset } = linearRegression({ numSamples: 77, numFeatures: 6, seed: 4 });
    const arena = g.createBuffer(4096 * 4);
    const targets = g.createBuffer(64 * 4);
    const into = { features: span(arena, 1000, 10 * 6), labels: span(targets, 17, 10) };
    const batcher = new GpuBatcher(g, dataset, { batchSize: 10, seed: 4, into });
    expect(batcher.labelType).toBe('f32');
    const step = g.beginStep();
    const info = batcher.encode(step);
    step.submit();
    const indices = Array.from(info.indices);
    expect(await g.readF32(arena, 1000, 60)).toEqual(rowsOf(dataset.features, 6, indices));
    expect(Array.from(await g.readF32(targets, 17, 10))).toEqual(indices.map((i) => dataset.targets[i]));
    expect(() => new GpuBatcher(g, dataset, { batchSize: 10, into: { features: span(arena, 0, 59) } })).toThrow(/a batch needs 10 × 6/);
    batcher.destroy();
  });

  it('keeps the indices of steps encoded before their submit apart, up to maxPendingSteps', async () => {
    const g = gpu();
    const shard = blobs(50, 4);
    const batcher = new GpuBatcher(g, shard, { batchSize: 8, seed: 6, maxPendingSteps: 2 });
    const outs = [g.createBuffer(8 * 4 * 4), g.createBuffer(8 * 4 * 4)];
    const steps = [g.beginStep(), g.beginStep()];
    const infos = steps.map((step, k) => {
      const info = batcher.encode(step);
      step.copy(batcher.batchFeatures.buffer, 0, outs[k], 0, 8 * 4 * 4);
      return { ...info, indices: Uint32Array.from(info.indices) };
    });
    expect(() => batcher.encode(g.beginStep())).toThrow(/without a submit; maxPendingSteps is 2/);
    for (const step of steps) step.submit();
    for (let k = 0; k < 2; k++) expect(await g.readF32(outs[k])).toEqual(rowsOf(shard.features, 4, infos[k].indices));
    expect(infos[1].step).toBe(1);
    // After a submit the ring is free again.
    const step = g.beginStep();
    expect(batcher.encode(step).step).toBe(2);
    step.submit();
    batcher.destroy();
  });

  describe('shift augmentation', () => {
    /** 40 random 2×9×7 images (HWC), 3 classes. */
    function images(): ClassificationDataset {
      const features = Float32Array.from({ length: 40 * 126 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 % 1);
      const labels = Uint32Array.from({ length: 40 }, (_, i) => i % 3);
      return classificationDataset({ name: 'images', features, labels, numClasses: 3, featureShape: [2, 9, 7] });
    }

    it('moves every sample by its seeded (dx, dy) inside the gather: same dispatches, bit-exact against the CPU', async () => {
      const g = gpu();
      const shard = images();
      const batcher = new GpuBatcher(g, shard, { batchSize: 16, seed: 3, augment: { maxShift: 2 } });
      expect(batcher.augment).toEqual({ maxShift: 2, image: { channels: 2, height: 9, width: 7 } });
      const seen = new Set<string>();
      for (let s = 0; s < 3; s++) {
        const { indices, features, labels, dispatches } = await nextBatch(g, batcher);
        expect(dispatches).toBe(2); // features and labels, as without augmentation
        const { dx, dy } = batcher.shiftsOf(s);
        for (let r = 0; r < 16; r++) {
          expect(Math.abs(dx[r])).toBeLessThanOrEqual(2);
          expect(Math.abs(dy[r])).toBeLessThanOrEqual(2);
          seen.add(`${dx[r]},${dy[r]}`);
        }
        const want = reference.gather.gatherShiftedImages(shard.features, { channels: 2, height: 9, width: 7 }, indices, dx, dy);
        expect(Array.from(features)).toEqual(Array.from(want));
        expect(labels).toEqual(indices.map((i) => shard.labels[i]));
      }
      expect(seen.size).toBeGreaterThan(15); // of the 25 shifts, 48 draws hit most
      batcher.destroy();
    });

    it('draws the same shifts for the same (seed, step), other shifts for another seed, none without augment', () => {
      const g = gpu();
      const shard = images();
      const a = new GpuBatcher(g, shard, { batchSize: 8, seed: 1, augment: { maxShift: 3 } });
      const b = new GpuBatcher(g, shard, { batchSize: 8, seed: 1, augment: { maxShift: 3 } });
      const c = new GpuBatcher(g, shard, { batchSize: 8, seed: 2, augment: { maxShift: 3 } });
      const plain = new GpuBatcher(g, shard, { batchSize: 8, seed: 1 });
      const copy = (x: { dx: Int32Array; dy: Int32Array }) => [...x.dx, ...x.dy];
      expect(copy(a.shiftsOf(5))).toEqual(copy(b.shiftsOf(5)));
      expect(copy(a.shiftsOf(5))).not.toEqual(copy(c.shiftsOf(5)));
      expect(copy(a.shiftsOf(5))).not.toEqual(copy(a.shiftsOf(6)));
      expect(copy(plain.shiftsOf(5))).toEqual(new Array(16).fill(0));
      for (const x of [a, b, c, plain]) x.destroy();
    });

    it('refuses samples that are not images and shifts that leave nothing of the image', () => {
      const g = gpu();
      expect(() => new GpuBatcher(g, blobs(50), { batchSize: 8, augment: { maxShift: 1 } })).toThrow(/needs image samples \[channels, height, width\]; this dataset's have shape \[13\]/);
      expect(() => new GpuBatcher(g, images(), { batchSize: 8, augment: { maxShift: 7 } })).toThrow(/maxShift must be an integer from 0 to 6 for 9×7 images, got 7/);
      expect(() => new GpuBatcher(g, images(), { batchSize: 8, augment: { maxShift: -1 } })).toThrow(/maxShift/);
    });
  });
});
