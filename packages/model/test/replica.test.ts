import { describe, expect, it } from 'vitest';
import { GpuBatcher, gaussianBlobs, subset } from '@gossamer/data';
import { CheckpointError, Replica, mlp, modelReference, smallCnn, uploadEvalSet } from '@gossamer/model';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { normal } from '../../../test/support/numeric.js';

const blobs = (seed: number, numSamples = 600) => gaussianBlobs({ numSamples, numClasses: 4, numFeatures: 12, seed, separation: 4 }).dataset;

describe('Replica: one flat buffer, one submit per step', () => {
  const gpu = useGpu();

  it('a seeded run is reproducible bit for bit (init and 20 AdamW steps)', async () => {
    const g = gpu();
    const data = blobs(1);
    const run = async () => {
      const replica = Replica.create(g, { spec: mlp(12, [16], 4), optimizer: { kind: 'adamw', lr: 1e-2 }, batchSize: 32, seed: 42 });
      const initial = await replica.getParameters();
      const batcher = new GpuBatcher(g, data, { batchSize: 32, seed: 7 });
      replica.trainSteps(batcher, 20);
      const trained = await replica.getParameters();
      replica.destroy();
      batcher.destroy();
      return { initial, trained };
    };
    const [a, b] = [await run(), await run()];
    expect(Buffer.from(a.initial.buffer)).toEqual(Buffer.from(b.initial.buffer));
    expect(Buffer.from(a.trained.buffer)).toEqual(Buffer.from(b.trained.buffer));
    expect(Buffer.from(a.trained.buffer)).not.toEqual(Buffer.from(a.initial.buffer));
  });

  // MLP (3 dense layers): gather 2 + forward 3 + loss 2 + backward 5 + optimizer 1 = 13.
  // CNN (2 conv + 2 dense): gather 2 + forward 6 + loss 2 + backward 8 + optimizer 1 = 19.
  it('a step is 1 submit, 13 dispatches for an MLP and 19 for the CNN, and steady-state steps create no buffer', async () => {
    const g = gpu();
    const data = blobs(2, 256);
    for (const [spec, features, dispatches] of [
      [mlp(12, [32, 32], 4), data, 13],
      [smallCnn(8, 8, 1, 4), gaussianBlobs({ numSamples: 64, numClasses: 4, numFeatures: 64, seed: 3 }).dataset, 19],
    ] as const) {
      const replica = Replica.create(g, { spec, optimizer: { kind: 'adamw', lr: 1e-3 }, batchSize: 16, seed: 1 });
      const batcher = new GpuBatcher(g, features, { batchSize: 16, seed: 1 });
      await expectSteadyStateAllocatesNothing(g, async () => {
        replica.trainSteps(batcher, 2);
        await g.sync();
      });
      const before = { ...g.stats };
      replica.trainSteps(batcher, 1);
      const after = g.stats;
      expect(after.submits - before.submits, `${spec.name} submits per step`).toBe(1);
      expect(after.dispatches - before.dispatches, `${spec.name} dispatches per step`).toBe(dispatches);
      replica.destroy();
      batcher.destroy();
    }
  });

  it('trains to high accuracy on Gaussian blobs, and evaluate() agrees with the float64 reference', async () => {
    const g = gpu();
    // One draw of the blobs (same class centres), split 600 / 300.
    const all = blobs(3, 900);
    const train = subset(all, Array.from({ length: 600 }, (_, i) => i));
    const test = subset(all, Array.from({ length: 300 }, (_, i) => 600 + i));
    const replica = Replica.create(g, { spec: mlp(12, [32], 4), optimizer: { kind: 'adamw', lr: 1e-2 }, batchSize: 32, seed: 5 });
    const evalSet = uploadEvalSet(g, test.features, test.labels, 12);
    // compile() runs a step's kernels once without changing the model.
    const initial = await replica.getParameters();
    await replica.compile();
    expect(Buffer.from((await replica.getParameters()).buffer)).toEqual(Buffer.from(initial.buffer));
    expect(replica.steps).toBe(0);
    expect(await replica.takeLoss()).toBeNaN();
    const before = await replica.evaluate(evalSet, { batch: 128 });
    const batcher = new GpuBatcher(g, train, { batchSize: 32, seed: 9 });
    replica.trainSteps(batcher, 100);
    const loss = await replica.takeLoss();
    const after = await replica.evaluate(evalSet, { batch: 128 }); // 128 + 128 + 44: a remainder chunk
    expect(after.accuracy).toBeGreaterThan(0.9);
    expect(after.loss).toBeLessThan(before.loss / 2);
    expect(loss).toBeLessThan(before.loss);
    // The same numbers from the float64 reference forward pass.
    const params = await replica.getParameters();
    const logits = modelReference.forward(replica.spec, replica.layout, params, test.features, 300);
    let correct = 0;
    for (let r = 0; r < 300; r++) {
      const row = Array.from(logits.subarray(r * 4, r * 4 + 4));
      if (row.indexOf(Math.max(...row)) === test.labels[r]) correct++;
    }
    expect(after.accuracy).toBeCloseTo(correct / 300, 2);
    expect(after.loss).toBeCloseTo(modelReference.meanLoss(replica.spec, replica.layout, params, test.features, test.labels, 300), 4);
    replica.destroy();
    batcher.destroy();
    evalSet.destroy();
  });

  it('checkpoints restore parameters, optimizer state and step; wrong models and corruption are refused', async () => {
    const g = gpu();
    const data = blobs(6, 128);
    const make = () => Replica.create(g, { spec: mlp(12, [8], 4), optimizer: { kind: 'adamw', lr: 1e-2 }, batchSize: 16, seed: 8 });
    const a = make();
    const batcher = new GpuBatcher(g, data, { batchSize: 16, seed: 2 });
    a.trainSteps(batcher, 5);
    const bytes = await a.saveCheckpoint();
    // Continue a from the checkpoint, and b restored from it, on the same batches: identical.
    const b = make();
    b.loadCheckpoint(bytes);
    expect(b.steps).toBe(5);
    const x = normal(16 * 12, 1);
    const batch = { features: { buffer: g.upload(x), offset: 0, length: x.length }, labels: { buffer: g.upload(data.labels.subarray(0, 16)), offset: 0, length: 16 } };
    for (const r of [a, b]) {
      const step = g.beginStep();
      r.encodeTrainStep(step, batch);
      step.submit();
    }
    expect(Buffer.from((await b.getParameters()).buffer)).toEqual(Buffer.from((await a.getParameters()).buffer));
    const other = Replica.create(g, { spec: mlp(12, [9], 4), optimizer: { kind: 'adamw' }, batchSize: 16, seed: 8 });
    expect(() => other.loadCheckpoint(bytes, 'a.ckpt')).toThrow(CheckpointError);
    const corrupt = bytes.slice();
    corrupt[corrupt.length - 100] ^= 0x40;
    expect(() => b.loadCheckpoint(corrupt, 'b.ckpt')).toThrow(/checksum|CRC/i);
    const sgd = Replica.create(g, { spec: mlp(12, [8], 4), optimizer: { kind: 'momentum', lr: 0.1, momentum: 0.9 }, batchSize: 16, seed: 8 });
    expect(() => sgd.loadCheckpoint(bytes, 'c.ckpt')).toThrow(/no velocity state/);
    expect(() => a.setParameters(new Float32Array(a.layout.length).fill(Number.NaN))).toThrow(/non-finite/);
    for (const r of [a, b, other, sgd]) r.destroy();
    batcher.destroy();
  });
});
