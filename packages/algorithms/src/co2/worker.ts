// CO2 (Sun et al., ICLR 2024; ALGORITHMS.md §3) and its two limits, written once as one loop over
// outer rounds against the Transport interface (the same code in the simulator and over NATS):
//
//   every round: τ inner steps from the anchor (inner optimizer state is never averaged), then
//   - Local SGD: blocking all-reduce of x, x ← x̄;
//   - SlowMo:    blocking all-reduce, fused outer step with g = a − x̄ (no staleness);
//   - CO2:       the all-reduce of round t−1 has been in flight during this round's inner steps; await
//                it, apply the fused outer step with g = a_prev − x̄_{t−1} (one round stale), then
//                launch this round's all-reduce, which runs during round t+1. After the last round
//                its all-reduce is awaited and applied the same way, so no work is lost.
//
// At most one all-reduce is pending at a time. Per round the worker reports compute time (inner steps
// up to the snapshot), time blocked waiting for communication, and bytes.
import type { OuterStepConfig } from '@gossamer/kernels';
import { TENSOR } from '../dsgd/mixer.js';
import { consensusDistance, readParameters, roundEvent, type DsgdResult, type RoundEvent, type WorkerContext } from '../dsgd/worker.js';
import { slowMoOuterStep, type Co2Options, type PeriodicAveragingOptions, type SlowMoOptions } from './options.js';
import { OuterState } from './outer-state.js';

/** A round of a periodic-averaging algorithm: RoundEvent plus the overlap measurements. */
export interface OuterRoundEvent extends RoundEvent {
  /** Time blocked waiting for an all-reduce this round (equal to commMs). */
  waitMs: number;
  /** Time since the worker's loop started, evaluations and metrics excluded. */
  trainMs: number;
  /** Which average the round applied: the current round's, the previous round's, or none (CO2's round 0). */
  applied: 'current' | 'previous' | 'none';
}

/** How a round's average is used. */
export type OuterRule =
  /** Local SGD: x ← x̄. */
  | { kind: 'average' }
  /** CO2's fused outer step; `stale` picks the one-round-late all-reduce (CO2 proper) or the blocking one. */
  | { kind: 'outer'; step: Omit<OuterStepConfig, 'stale'>; stale: boolean };

/**
 * The shared loop of CO2, SlowMo and Local SGD (see the file comment). Exposed for tests and
 * variants; prefer runCo2Worker, runSlowMoWorker and runLocalSgdWorker.
 */
export async function runPeriodicAveragingWorker(ctx: WorkerContext, options: PeriodicAveragingOptions, rule: OuterRule): Promise<DsgdResult> {
  const { gpu, transport, replica, ids, index } = ctx;
  const id = ids[index];
  const emit = ctx.emit ?? (() => {});
  const outer = rule.kind === 'outer' ? new OuterState(gpu, replica, id) : undefined;
  const result: DsgdResult = {};
  const allReduce = (values: Float32Array, round: number) => transport.allReduce({ tensor: TENSOR.average, round }, values, { group: ids });
  let pending: Promise<Float32Array> | undefined;
  let step = 0;
  let trainMs = 0;
  try {
    outer?.begin();
    for (let round = 0; round < options.rounds && !ctx.signal?.aborted; round++) {
      const last = round === options.rounds - 1;
      const t0 = performance.now();
      replica.trainSteps(ctx.batches, options.localSteps);
      step += options.localSteps;
      // Awaiting the loss (and the snapshot) yields the event loop: a pending all-reduce makes
      // progress while the GPU runs the inner steps.
      const loss = await replica.takeLoss();
      const snapshot = await readParameters(ctx);
      const t1 = performance.now();
      let applied: OuterRoundEvent['applied'];
      if (rule.kind === 'average') {
        gpu.write(replica.params, 0, await allReduce(snapshot, round));
        applied = 'current';
      } else if (!rule.stale) {
        (outer as OuterState).apply(await allReduce(snapshot, round), { ...rule.step, stale: false });
        applied = 'current';
      } else {
        const state = outer as OuterState;
        if (pending) {
          state.apply(await pending, { ...rule.step, stale: true });
          applied = 'previous';
        } else {
          state.restartAtAnchor();
          applied = 'none';
        }
        pending = undefined;
        // No work may be lost: the last round's average is awaited and applied the same way.
        if (last) state.apply(await allReduce(snapshot, round), { ...rule.step, stale: true });
      }
      const t2 = performance.now();
      trainMs += t2 - t0;
      const event: OuterRoundEvent = {
        ...roundEvent(transport, { worker: id, round, step, loss, communication: 'average', computeMs: t1 - t0, commMs: t2 - t1 }),
        waitMs: t2 - t1,
        trainMs,
        applied,
      };
      // Metrics and evaluation run while nothing is in flight (CO2 launches its all-reduce after
      // them), so they neither hide communication time nor share the link with it.
      if (options.consensusEvery > 0 && (round % options.consensusEvery === options.consensusEvery - 1 || last)) {
        event.consensusDistance = await consensusDistance(transport, ids, await readParameters(ctx), round, TENSOR.metrics);
      }
      if (ctx.evalSet && ((options.evalEvery > 0 && round % options.evalEvery === options.evalEvery - 1) || last)) {
        const e = await replica.evaluate(ctx.evalSet);
        event.accuracy = e.accuracy;
        event.testLoss = e.loss;
        if (last) result.localAccuracy = e.accuracy;
      }
      emit(event);
      if (rule.kind === 'outer' && rule.stale && !last) {
        const t3 = performance.now();
        pending = allReduce(snapshot, round);
        // Observed when awaited next round; this keeps an early failure from being unhandled.
        pending.catch(() => undefined);
        trainMs += performance.now() - t3;
      }
    }
    return result;
  } finally {
    if (pending) await pending.catch(() => undefined);
    outer?.destroy();
  }
}

/** CO2: local steps and an asynchronous all-reduce that overlaps the next round's computation. */
export function runCo2Worker(ctx: WorkerContext, options: Co2Options): Promise<DsgdResult> {
  return runPeriodicAveragingWorker(ctx, options, {
    kind: 'outer',
    step: { alpha: options.outerLearningRate, beta: options.outerMomentum, penalty: options.penalty, clip: options.clip },
    stale: options.staleness === 'one-round',
  });
}

/** SlowMo: blocking all-reduce every τ steps, then the slow-momentum outer step. */
export function runSlowMoWorker(ctx: WorkerContext, options: SlowMoOptions): Promise<DsgdResult> {
  return runPeriodicAveragingWorker(ctx, options, { kind: 'outer', step: slowMoOuterStep(options), stale: false });
}

/** Local SGD: blocking all-reduce of the parameters every τ steps (x ← x̄). */
export function runLocalSgdWorker(ctx: WorkerContext, options: PeriodicAveragingOptions): Promise<DsgdResult> {
  return runPeriodicAveragingWorker(ctx, options, { kind: 'average' });
}
