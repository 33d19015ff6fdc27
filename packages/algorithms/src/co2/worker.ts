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
//
// Elastic (ALGORITHMS.md "elastic runs"): a round's all-reduce, CO2's in-flight stale one included,
// that a failure interrupts is recomputed over the survivors from the same snapshot; at the first
// all-reduce of a new view the outer state (anchor, previous anchor, outer momentum) is copied from
// the canonical member, so anchors stay equal whoever completed the interrupted all-reduce. A worker
// that skipped a round (the others had completed it) restarts it at its anchor.
import type { OuterStepConfig } from '@gossamer/kernels';
import type { MembershipView } from '@gossamer/transport';
import type { RoundEvent, WorkerContext, WorkerResult } from '../common/context.js';
import { consensusDistance, contextInView, measurable, readParameters, roundEvent } from '../common/measure.js';
import { TENSOR } from '../common/tensors.js';
import { isViewFault, ViewFollower } from '../elastic.js';
import { joinTransfer, replicaState, syncFromCanonical, type StateRange } from '../heal.js';
import { savedSection, type AlgorithmState } from '../resume.js';
import { RoundBoundary } from '../boundary.js';
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
export async function runPeriodicAveragingWorker(ctx: WorkerContext, options: PeriodicAveragingOptions, rule: OuterRule): Promise<WorkerResult> {
  const { gpu, transport, replica } = ctx;
  const id = ctx.transport.id;
  const emit = ctx.emit ?? (() => {});
  const outer = rule.kind === 'outer' ? new OuterState(gpu, replica, id) : undefined;
  const result: WorkerResult = {};
  let view: WorkerContext = ctx;
  const follower = new ViewFollower(transport, emit, (v: MembershipView) => (view = contextInView(ctx, v)), joinTransfer(gpu, transport, ctx.ids, replicaState(replica)));
  // The outer state by checkpoint section name; Local SGD has none (and needs no sync: its next
  // average makes the replicas equal again).
  const outerBuffers = outer ? { 'outer.anchor': outer.anchor, 'outer.previous-anchor': outer.previousAnchor, 'outer.momentum': outer.momentum } : {};
  const outerState: StateRange[] = Object.values(outerBuffers).map((buffer) => ({ buffer, offset: 0, length: replica.layout.length }));
  let synced = 0;
  /** Round `round`'s all-reduce of `snapshot` in the current view (redone in the next, or skipped: undefined). */
  const allReduce = (snapshot: Float32Array, round: number): Promise<Float32Array | undefined> =>
    follower.communicate(round, async (v) => {
      if (v.epoch !== synced) {
        if (outerState.length > 0) await syncFromCanonical(gpu, transport, view.ids, outerState, { tensor: TENSOR.state, round }, v.epoch);
        synced = v.epoch;
      }
      // The all-reduce works in place; a redo starts again from the snapshot.
      const values = snapshot.slice();
      await transport.allReduce({ tensor: TENSOR.average, round }, values, { group: view.ids, viewEpoch: v.epoch });
      return values;
    });
  let pending: Promise<Float32Array | undefined> | undefined;
  // The snapshot whose all-reduce is pending: part of a checkpoint taken while it is in flight.
  let pendingSnapshot: Float32Array | undefined;
  const firstRound = ctx.resume?.round ?? 0;
  let step = firstRound * options.localSteps;
  let trainMs = 0;
  try {
    // A joiner's anchors start at the parameters it received; the first all-reduce of its view
    // copies the canonical outer state over them.
    if (ctx.resume === undefined || ctx.resume.joined) outer?.begin();
    else {
      for (const [name, buffer] of Object.entries(outerBuffers)) gpu.write(buffer, 0, savedSection(ctx.resume, name, replica.layout.length));
      const saved = ctx.resume.sections.get('co2.pending');
      if (saved) {
        // Launched where the interrupted run had it in flight: before this round's steps.
        pendingSnapshot = saved;
        pending = allReduce(saved, firstRound - 1);
        pending.catch(() => undefined);
      }
    }
    // A checkpoint's own part: the outer state, and the snapshot whose all-reduce is in flight.
    const checkpointState = async (): Promise<AlgorithmState> => {
      const state: AlgorithmState = { values: {}, sections: [] };
      for (const [name, buffer] of Object.entries(outerBuffers)) state.sections.push({ name, data: await gpu.readF32(buffer, 0, replica.layout.length) });
      if (pending && pendingSnapshot) state.sections.push({ name: 'co2.pending', data: pendingSnapshot });
      return state;
    };
    const boundary = new RoundBoundary(ctx, firstRound);
    for (let round = firstRound; round < options.rounds; round++) {
      if (await boundary.stopBefore(round, checkpointState)) break;
      if (options.resyncEvery && outerState.length > 0 && round > firstRound && round % options.resyncEvery === 0 && !transport.views.changing) {
        // Anchors must be equal on every worker; hardware that rounds differently drifts them apart.
        try {
          await syncFromCanonical(gpu, transport, view.ids, outerState, { tensor: TENSOR.resync, round }, follower.epoch);
        } catch (error) {
          if (!isViewFault(error)) throw error; // the new view's first all-reduce syncs anyway
        }
      }
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
        const average = await allReduce(snapshot, round);
        if (average) gpu.write(replica.params, 0, average);
        applied = average ? 'current' : 'none';
      } else if (!rule.stale) {
        const average = await allReduce(snapshot, round);
        if (average) (outer as OuterState).apply(average, { ...rule.step, stale: false });
        else (outer as OuterState).restartAtAnchor();
        applied = average ? 'current' : 'none';
      } else {
        const state = outer as OuterState;
        const average = pending ? await pending : undefined;
        if (average) {
          state.apply(average, { ...rule.step, stale: true });
          applied = 'previous';
        } else {
          state.restartAtAnchor();
          applied = 'none';
        }
        pending = undefined;
        pendingSnapshot = undefined;
        // No work may be lost: the last round's average is awaited and applied the same way.
        if (last) {
          const final = await allReduce(snapshot, round);
          if (final) state.apply(final, { ...rule.step, stale: true });
        }
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
      if (options.consensusEvery > 0 && (round % options.consensusEvery === options.consensusEvery - 1 || last) && measurable(view, round)) {
        try {
          event.consensusDistance = await consensusDistance(transport, view.ids, await readParameters(ctx), round, TENSOR.metrics, view.viewEpoch);
        } catch (error) {
          if (!isViewFault(error)) throw error; // a measurement is not redone
        }
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
        pendingSnapshot = snapshot;
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
export function runCo2Worker(ctx: WorkerContext, options: Co2Options): Promise<WorkerResult> {
  return runPeriodicAveragingWorker(ctx, options, {
    kind: 'outer',
    step: { alpha: options.outerLearningRate, beta: options.outerMomentum, penalty: options.penalty, clip: options.clip },
    stale: options.staleness === 'one-round',
  });
}

/** SlowMo: blocking all-reduce every τ steps, then the slow-momentum outer step. */
export function runSlowMoWorker(ctx: WorkerContext, options: SlowMoOptions): Promise<WorkerResult> {
  return runPeriodicAveragingWorker(ctx, options, { kind: 'outer', step: slowMoOuterStep(options), stale: false });
}

/** Local SGD: blocking all-reduce of the parameters every τ steps (x ← x̄). */
export function runLocalSgdWorker(ctx: WorkerContext, options: PeriodicAveragingOptions): Promise<WorkerResult> {
  return runPeriodicAveragingWorker(ctx, options, { kind: 'average' });
}
