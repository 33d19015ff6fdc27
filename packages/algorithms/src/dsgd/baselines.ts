// Baselines in the same harness (ALGORITHMS.md §2 comparisons):
// - synchronous all-reduce SGD: every step, the gradients are averaged over all workers (ring
//   all-reduce) before the optimizer step, so every replica takes the same step a parameter server
//   would compute from the union of the batches;
// - local training is runDsgdWorker with the `none` schedule.
// Elastic (ALGORITHMS.md "elastic runs"): a step's all-reduce that a failure interrupts is redone
// over the survivors with the same local gradient; at the first step of a new view the replicas are
// re-synchronised from the canonical one (heal.ts), so they stay identical whoever completed the
// interrupted step. The view's rounds are steps here.
import type { MembershipView } from '@gossamer/transport';
import { ViewFollower } from '../elastic.js';
import { RoundBoundary } from '../boundary.js';
import { joinTransfer, replicaState, syncFromCanonical } from '../heal.js';
import type { WorkerContext, WorkerResult } from '../common/context.js';
import { contextInView, measureRound, roundEvent } from '../common/measure.js';
import { TENSOR } from '../common/tensors.js';

export interface AllReduceSgdOptions {
  rounds: number;
  /** Steps per round (each step all-reduces its gradient); rounds only group the metrics. */
  localSteps: number;
  evalEvery: number;
  consensusEvery: number;
}

export async function runAllReduceSgdWorker(ctx: WorkerContext, options: AllReduceSgdOptions): Promise<WorkerResult> {
  const { gpu, transport, replica } = ctx;
  const id = ctx.transport.id;
  const emit = ctx.emit ?? (() => {});
  const length = replica.layout.length;
  const state = replicaState(replica);
  let view: WorkerContext = ctx;
  let synced = 0; // the view whose replicas are known to be identical
  const follower = new ViewFollower(transport, emit, (v: MembershipView) => {
    // Measurements are per round: a round is measurable once all its steps are past the view's start.
    view = contextInView(ctx, v, Math.floor(v.startRound / options.localSteps));
  }, joinTransfer(gpu, transport, ctx.ids, state));
  const result: WorkerResult = {};
  // A joiner's resume round is a step (this algorithm's view rounds), possibly inside a round.
  let step = ctx.resume ? (ctx.resume.joined ? ctx.resume.round : ctx.resume.round * options.localSteps) : 0;
  const firstRound = Math.floor(step / options.localSteps);
  const boundary = new RoundBoundary(ctx, firstRound);
  for (let round = firstRound; round < options.rounds; round++) {
    if (await boundary.stopBefore(round, async () => ({ values: {}, sections: [] }))) break;
    let computeMs = 0;
    let commMs = 0;
    for (let s = step - round * options.localSteps; s < options.localSteps; s++) {
      const t0 = performance.now();
      const enc = gpu.beginStep('gradient');
      ctx.batches.encode(enc);
      replica.encodeGradient(enc, { features: ctx.batches.batchFeatures, labels: ctx.batches.batchLabels });
      enc.submit();
      const grads = await gpu.readF32(replica.grads, 0, length);
      const t1 = performance.now();
      let attempts = 0;
      const reduced = await follower.communicate(step, async (v) => {
        if (v.epoch !== synced) {
          await syncFromCanonical(gpu, transport, view.ids, state, { tensor: TENSOR.state, round: step }, v.epoch);
          synced = v.epoch;
        }
        // The all-reduce works in place: a redo starts again from the local gradient.
        const values = attempts++ === 0 ? grads : await gpu.readF32(replica.grads, 0, length);
        await transport.allReduce({ tensor: TENSOR.gradients, round: step }, values, { group: view.ids, viewEpoch: v.epoch });
        return values;
      });
      const t2 = performance.now();
      // Skipped (the others completed this step without us): the local gradient, so step counts
      // (and the learning-rate schedule) stay equal; the next view's sync overwrites the difference.
      if (reduced) gpu.write(replica.grads, 0, reduced);
      const update = gpu.beginStep('optimizer');
      replica.encodeOptimizerStep(update);
      update.submit();
      computeMs += t1 - t0;
      commMs += t2 - t1;
      step++;
    }
    const loss = await replica.takeLoss();
    const event = roundEvent(transport, { worker: id, round, step, loss, communication: 'average', computeMs, commMs });
    const accuracy = await measureRound(view, event, options);
    if (accuracy !== undefined) result.localAccuracy = accuracy;
    emit(event);
  }
  return result;
}
