import { describe, expect, it } from 'vitest';
import { GpuBatcher, gaussianBlobs } from '@gossamer/data';
import { Replica, checkLearningRateSchedule, learningRateFactor, mlp } from '@gossamer/model';
import { useGpu } from '../../../test/support/gpu.js';

describe('learning-rate schedules', () => {
  it('cosine: linear warm-up, half a cosine down to minFactor at totalSteps, flat after', () => {
    const s = { kind: 'cosine', totalSteps: 10, warmupSteps: 2, minFactor: 0.1 } as const;
    expect(learningRateFactor(s, 1)).toBe(0.5);
    expect(learningRateFactor(s, 2)).toBe(1);
    // t = 6 is half-way through the 8 decay steps: the cosine is at 0, the factor half-way to min.
    expect(learningRateFactor(s, 6)).toBeCloseTo(0.1 + 0.9 * 0.5, 15);
    expect(learningRateFactor(s, 10)).toBeCloseTo(0.1, 15);
    expect(learningRateFactor(s, 50)).toBeCloseTo(0.1, 15);
    const plain = { kind: 'cosine', totalSteps: 4 } as const;
    expect([1, 2, 3, 4].map((t) => learningRateFactor(plain, t))).toEqual([1, 2, 3, 4].map((t) => 0.5 * (1 + Math.cos((Math.PI * t) / 4))));
    expect(learningRateFactor({ kind: 'constant' }, 1e6)).toBe(1);
  });

  it('rejects bad schedules with the field named', () => {
    expect(() => checkLearningRateSchedule({ kind: 'cosine', totalSteps: 0 })).toThrow(/totalSteps must be a positive integer/);
    expect(() => checkLearningRateSchedule({ kind: 'cosine', totalSteps: 5, warmupSteps: 5 })).toThrow(/warmupSteps/);
    expect(() => checkLearningRateSchedule({ kind: 'cosine', totalSteps: 5, minFactor: 2 })).toThrow(/minFactor/);
  });

  const gpu = useGpu();

  it("a replica's step t uses lr·factor(t): equal, bit for bit, to constant-lr steps at those rates", async () => {
    const g = gpu();
    const data = gaussianBlobs({ numSamples: 256, numClasses: 3, numFeatures: 8, seed: 4 }).dataset;
    const schedule = { kind: 'cosine', totalSteps: 3, warmupSteps: 1 } as const;
    const base = { spec: mlp(8, [8], 3), batchSize: 16, seed: 3 };
    const scheduled = Replica.create(g, { ...base, optimizer: { kind: 'sgd', lr: 0.2 }, lrSchedule: schedule });
    const batches = [new GpuBatcher(g, data, { batchSize: 16, seed: 5 }), new GpuBatcher(g, data, { batchSize: 16, seed: 5 })];
    scheduled.trainSteps(batches[0], 3);
    // The same three steps by hand, each from a constant-lr replica holding the previous parameters.
    const initial = Replica.create(g, { ...base, optimizer: { kind: 'sgd', lr: 1 } });
    let params = await initial.getParameters();
    initial.destroy();
    for (let t = 1; t <= 3; t++) {
      const step = Replica.create(g, { ...base, optimizer: { kind: 'sgd', lr: 0.2 * learningRateFactor(schedule, t) } });
      step.setParameters(params);
      step.trainSteps(batches[1], 1);
      params = await step.getParameters();
      step.destroy();
    }
    const got = await scheduled.getParameters();
    expect(Buffer.from(got.buffer)).toEqual(Buffer.from(params.buffer));
    expect(scheduled.learningRate(3)).toBe(0.2 * learningRateFactor(schedule, 3));
    // The last step's rate is 0: a 4th scheduled step with factor 0 would not move anything.
    expect(learningRateFactor(schedule, 3)).toBeCloseTo(0, 15);
    scheduled.destroy();
    for (const b of batches) b.destroy();
  });
});
