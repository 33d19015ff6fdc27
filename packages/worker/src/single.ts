// One worker training alone: the replica's step loop with loss read back every logEvery steps and a
// GPU evaluation every evalEvery epochs. Emits RunEvents; returns the trained replica's checkpoint.
import { Gpu } from '@gossamer/gpu';
import { GpuBatcher, batchesPerEpoch } from '@gossamer/data';
import { Replica, parseModelSpec, uploadEvalSet } from '@gossamer/model';
import { augmentOf, lrScheduleOf, type RunConfig } from './config.js';
import { loadTrainTest } from './datasets.js';
import type { RunEvent } from './events.js';

export interface SingleWorkerOptions {
  /** A device to use (default: acquire one with the GOSSAMER_ADAPTER choice). */
  gpu?: Gpu;
  onEvent?: (event: RunEvent) => void;
  /** Stops after the current step when aborted (the result is still returned). */
  signal?: AbortSignal;
}

export interface SingleWorkerResult {
  testAccuracy: number;
  testLoss: number;
  steps: number;
  checkpoint: Uint8Array;
}

export async function trainSingleWorker(config: RunConfig, options: SingleWorkerOptions = {}): Promise<SingleWorkerResult> {
  const worker = 'w0';
  const emit = options.onEvent ?? (() => {});
  const { train, test } = await loadTrainTest(config.dataset, config.seed);
  const spec = parseModelSpec(config.model, train.featureShape, train.numClasses);
  // The schedule is checked before any GPU work, so a bad one leaks nothing.
  const stepsPerEpoch = batchesPerEpoch(train.numSamples, config.batchSize, 'drop');
  const totalSteps = stepsPerEpoch * config.epochs;
  const lrSchedule = lrScheduleOf(config.lrSchedule, totalSteps);
  const gpu = options.gpu ?? (await Gpu.create());
  const batcher = new GpuBatcher(gpu, train, { batchSize: config.batchSize, seed: config.seed, remainder: 'drop', augment: augmentOf(config.augment) });
  const replica = Replica.create(gpu, { spec, optimizer: config.optimizer, lrSchedule, batchSize: config.batchSize, seed: config.seed, name: worker });
  const evalSet = uploadEvalSet(gpu, test.features, test.labels, test.numFeatures);
  try {
    emit({
      type: 'start',
      worker,
      model: spec.name,
      parameters: replica.parameterCount,
      trainSamples: train.numSamples,
      testSamples: test.numSamples,
      stepsPerEpoch,
      totalSteps,
      adapter: gpu.adapterDescription,
    });
    const start = performance.now();
    let windowStart = start;
    let windowSteps = 0;
    let evaluation = { loss: Number.NaN, accuracy: Number.NaN };
    let step = 0;
    while (step < totalSteps && !options.signal?.aborted) {
      // Stop at every epoch end so evaluations happen there.
      const count = Math.min(config.logEvery, stepsPerEpoch - (step % stepsPerEpoch), totalSteps - step);
      replica.trainSteps(batcher, count);
      step += count;
      windowSteps += count;
      const loss = await replica.takeLoss();
      const now = performance.now();
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step}: loss is ${loss} (try a smaller --lr)`);
      emit({
        type: 'progress',
        worker,
        step,
        epoch: step / stepsPerEpoch,
        loss,
        samplesPerSecond: (windowSteps * config.batchSize) / ((now - windowStart) / 1000),
        elapsedMs: now - start,
      });
      windowStart = now;
      windowSteps = 0;
      const epochDone = step % stepsPerEpoch === 0 || step === totalSteps;
      const epoch = Math.ceil(step / stepsPerEpoch);
      if (epochDone && (epoch % config.evalEvery === 0 || step === totalSteps)) {
        const e = await replica.evaluate(evalSet);
        evaluation = e;
        emit({ type: 'eval', worker, step, epoch, testLoss: e.loss, testAccuracy: e.accuracy, elapsedMs: performance.now() - start });
      }
    }
    if (step !== totalSteps || Number.isNaN(evaluation.accuracy)) evaluation = await replica.evaluate(evalSet);
    const elapsedMs = performance.now() - start;
    emit({
      type: 'done',
      worker,
      steps: step,
      epochs: step / stepsPerEpoch,
      testLoss: evaluation.loss,
      testAccuracy: evaluation.accuracy,
      elapsedMs,
      samplesPerSecond: (step * config.batchSize) / (elapsedMs / 1000),
    });
    return { testAccuracy: evaluation.accuracy, testLoss: evaluation.loss, steps: step, checkpoint: await replica.saveCheckpoint() };
  } finally {
    evalSet.destroy();
    batcher.destroy();
    replica.destroy();
    if (!options.gpu) gpu.destroy();
  }
}
