// Baselines in the same harness (ALGORITHMS.md §2 comparisons):
// - synchronous all-reduce SGD: every step, the gradients are averaged over all workers (ring
//   all-reduce) before the optimizer step, so every replica takes the same step a parameter server
//   would compute from the union of the batches;
// - local training is runDsgdWorker with the `none` schedule.
import { TENSOR } from './mixer.js';
import type { WorkerContext } from './worker.js';
import { measureRound, roundEvent, type DsgdResult } from './worker.js';

export interface AllReduceSgdOptions {
  rounds: number;
  /** Steps per round (each step all-reduces its gradient); rounds only group the metrics. */
  localSteps: number;
  evalEvery: number;
  consensusEvery: number;
}

export async function runAllReduceSgdWorker(ctx: WorkerContext, options: AllReduceSgdOptions): Promise<DsgdResult> {
  const { gpu, transport, replica, ids, index } = ctx;
  const id = ids[index];
  const emit = ctx.emit ?? (() => {});
  const length = replica.layout.length;
  const result: DsgdResult = {};
  let step = 0;
  for (let round = 0; round < options.rounds && !ctx.signal?.aborted; round++) {
    let computeMs = 0;
    let commMs = 0;
    for (let s = 0; s < options.localSteps; s++) {
      const t0 = performance.now();
      const enc = gpu.beginStep('gradient');
      ctx.batches.encode(enc);
      replica.encodeGradient(enc, { features: ctx.batches.batchFeatures, labels: ctx.batches.batchLabels });
      enc.submit();
      const grads = await gpu.readF32(replica.grads, 0, length);
      const t1 = performance.now();
      await transport.allReduce({ tensor: TENSOR.gradients, round: step }, grads, { group: ids });
      const t2 = performance.now();
      gpu.write(replica.grads, 0, grads);
      const update = gpu.beginStep('optimizer');
      replica.encodeOptimizerStep(update);
      update.submit();
      computeMs += t1 - t0;
      commMs += t2 - t1;
      step++;
    }
    const loss = await replica.takeLoss();
    const event = roundEvent(transport, { worker: id, round, step, loss, communication: 'average', computeMs, commMs });
    const accuracy = await measureRound(ctx, event, options);
    if (accuracy !== undefined) result.localAccuracy = accuracy;
    emit(event);
  }
  return result;
}
