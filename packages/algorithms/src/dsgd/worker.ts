// Decentralized SGD (ALGORITHMS.md §1) and the single final merge (§2), as one worker's loop over
// rounds, written against the Transport interface only: the same code runs in the in-process
// simulator and over NATS.
//
// Round t (adapt-then-combine):   H local steps on x_i^t → x_i^{t+½};  x_i^{t+1} = Σ_j W_ij x_j^{t+½}
// Round t (overlapped, D-PSGD):   x_i^t goes out before the local steps, which run while it travels;
//                                 x_i^{t+1} = Σ_j W_ij x_j^t + (x_i^{t+½} − x_i^t)
// W is the round's plan (topology gossip, random pairwise averaging, exact averaging, or nothing).
import { STORAGE_USAGE } from '@gossamer/gpu';
import { span, type RobustRule } from '@gossamer/kernels';
import { isPowerOfTwo, onePeerHypercube, type NodeMixing } from '@gossamer/topology';
import { isViewFault, ViewFollower } from '../elastic.js';
import { joinTransfer, replicaState } from '../heal.js';
import { RoundBoundary } from '../boundary.js';
import type { RoundEvent, WorkerContext, WorkerResult } from '../common/context.js';
import { consensusDistance, contextInView, measurable, measureRound, readParameters, roundEvent } from '../common/measure.js';
import { TENSOR } from '../common/tensors.js';
import { committedMerge } from './merge-commit.js';
import { GossipMixer } from './mixer.js';
import { gossipTopology, planRound, type CommunicationSchedule, type GossipTopology, type PlanContext } from './schedule.js';

/** The final merge: exact (log₂ n hypercube rounds, or an all-reduce), K rounds of exponential gossip, or none. */
export type FinalMerge = { kind: 'none' } | { kind: 'exact' } | { kind: 'gossip'; rounds: number };

/** D-SGD's result: the shared worker result (common/context.ts), under the name this module has always exported. */
export type DsgdResult = WorkerResult;

export interface DsgdOptions {
  /** Rounds T. */
  rounds: number;
  /** Local optimizer steps per round, H. */
  localSteps: number;
  schedule: CommunicationSchedule;
  /** Needed by the `gossip` schedule. */
  topology?: GossipTopology;
  /** The topology over the members of a later view (default: none; a gossip run then cannot shrink). */
  topologyForView?: (workers: number) => GossipTopology;
  order: 'adapt-then-combine' | 'overlapped';
  finalMerge: FinalMerge;
  /** Shared by all workers: seeds the random pairings. */
  seed: number;
  /** Evaluate the local model every this many rounds (0: only at the end). */
  evalEvery: number;
  /** Measure the consensus distance every this many rounds (0: never; it costs an all-reduce). */
  consensusEvery: number;
  /**
   * Byzantine-robust mixing (kernels' robust.ts) in place of Σ_j W_ij x_j in the gossip rounds
   * (adapt-then-combine, not push-sum); default: plain gossip averaging. The final merge stays exact
   * averaging.
   */
  robust?: RobustRule;
}










/** Average of all workers' parameters written back into each replica: the final merge. */
export async function finalMerge(ctx: WorkerContext, mixer: GossipMixer, merge: FinalMerge, round: number): Promise<string> {
  const n = ctx.ids.length;
  const x = ctx.replica.paramSpan;
  if (merge.kind === 'none' || n < 2) return 'none';
  if (merge.kind === 'exact') {
    if (isPowerOfTwo(n)) {
      // log₂ n rounds of one-peer hypercube gossip: pairs average symmetrically, so after the last
      // round every worker holds the same bits, the exact mean up to float rounding.
      const schedule = onePeerHypercube(n);
      for (let k = 0; k < Math.log2(n); k++) {
        await mixer.mix(x, await readParameters(ctx), schedule.node(k, ctx.index), { tensor: TENSOR.merge, round: round * 64 + k });
      }
      return `exact (${Math.log2(n)} rounds of one-peer hypercube gossip)`;
    }
    const local = await readParameters(ctx);
    await ctx.transport.allReduce({ tensor: TENSOR.merge, round }, local, { group: ctx.ids, viewEpoch: ctx.viewEpoch });
    ctx.gpu.write(ctx.replica.params, 0, local);
    return 'exact (all-reduce)';
  }
  const exponential = gossipTopology(`exponential:${n}`);
  for (let k = 0; k < merge.rounds; k++) {
    await mixer.mix(x, await readParameters(ctx), exponential.node(k, ctx.index), { tensor: TENSOR.merge, round: round * 64 + k });
  }
  return `${merge.rounds} rounds of exponential-graph gossip`;
}

/**
 * The final merge after push-sum: the network average is Σ w_i z_i / Σ w_i (the numerators x_i = w_i
 * z_i carry the mass, the weights w_i how much of it), not the plain mean of the z_i. The merge
 * averages [w·z, w] (exact: one all-reduce, the same bits on every member; gossip: the exponential
 * graph's rounds over the push-sum mixer) and de-biases once at the end.
 */
export async function pushSumMerge(ctx: WorkerContext, mixer: GossipMixer, merge: FinalMerge, round: number, weight: number): Promise<string> {
  const n = ctx.ids.length;
  if (merge.kind === 'none' || n < 2) return 'none';
  const z = await readParameters(ctx);
  const length = z.length;
  let message: Float32Array = new Float32Array(length + 1);
  for (let i = 0; i < length; i++) message[i] = weight * z[i];
  message[length] = weight;
  let method: string;
  if (merge.kind === 'exact') {
    await ctx.transport.allReduce({ tensor: TENSOR.merge, round }, message, { group: ctx.ids, viewEpoch: ctx.viewEpoch });
    method = 'exact (all-reduce of the push-sum numerators and weights)';
  } else {
    const buffer = ctx.gpu.upload(message, 'push-sum-merge');
    try {
      const exponential = gossipTopology(`exponential:${n}`);
      for (let k = 0; k < merge.rounds; k++) {
        await mixer.mix(span(buffer, 0, length + 1), await ctx.gpu.readF32(buffer, 0, length + 1), exponential.node(k, ctx.index), { tensor: TENSOR.merge, round: round * 64 + k });
      }
      message = await ctx.gpu.readF32(buffer, 0, length + 1);
    } finally {
      buffer.destroy();
    }
    method = `${merge.rounds} rounds of exponential-graph gossip of the push-sum numerators and weights`;
  }
  const merged = new Float32Array(length);
  for (let i = 0; i < length; i++) merged[i] = message[i] / message[length];
  ctx.gpu.write(ctx.replica.params, 0, merged);
  return method;
}

/**
 * One push-sum (SGP, Assran et al. 2019) gossip step. The replica holds the de-biased z = x / w and
 * the worker the scalar w. It sends [w·z, w] to its out-peers (the receiver applies P_ij), and sets
 * w' = P_ii·w + Σ P_ij·w_j and z' = (P_ii·w·z + Σ P_ij·x_j) / w' in one mixing dispatch (the
 * scaling folded into the weights). Interpretation: the inner optimizer updates z directly, which
 * for SGD is SGP with step η·w_i; on doubly stochastic schedules w stays 1 and the two coincide.
 */
export async function pushSumMix(ctx: WorkerContext, mixer: GossipMixer, node: NodeMixing, weight: number, round: number): Promise<number> {
  const z = await readParameters(ctx);
  const message = new Float32Array(z.length + 1);
  for (let i = 0; i < z.length; i++) message[i] = weight * z[i];
  message[z.length] = weight;
  const received = await mixer.exchange(message, node, { tensor: TENSOR.params, round });
  let next = node.self * weight;
  received.forEach((r, k) => (next += node.recv[k].w * r[z.length]));
  mixer.apply(
    ctx.replica.paramSpan,
    (node.self * weight) / next,
    received,
    node.recv.map((e) => e.w / next),
  );
  return next;
}

export async function runDsgdWorker(ctx: WorkerContext, options: DsgdOptions): Promise<DsgdResult> {
  const { gpu, transport, replica } = ctx;
  const id = ctx.transport.id;
  const emit = ctx.emit ?? (() => {});
  const pushSum = options.topology?.pushSum === true && options.schedule.kind === 'gossip';
  if (options.robust && (pushSum || options.order === 'overlapped' || options.schedule.kind !== 'gossip')) {
    throw new Error(`${id}: robust mixing needs the gossip schedule with order 'adapt-then-combine', without push-sum`);
  }
  if (pushSum && options.order === 'overlapped') throw new Error(`${id}: order 'overlapped' is not defined for push-sum (its messages are [w·z, w], mixed after the local steps); use 'adapt-then-combine'`);
  // Push-sum messages are [w·z, w]: one float longer than the parameters.
  const length = replica.layout.length + (pushSum ? 1 : 0);
  // What depends on the members, built for each view this worker is in (ALGORITHMS.md "elastic
  // runs"); view 0 is the run as configured.
  let view: WorkerContext = ctx;
  // (assigned by the follower's first onView, in its constructor)
  let plan!: PlanContext;
  let mixer!: GossipMixer;
  let mergeMixer!: GossipMixer;
  const destroyMixers = (): void => {
    (mixer as GossipMixer | undefined)?.destroy();
    if (mergeMixer !== mixer) (mergeMixer as GossipMixer | undefined)?.destroy();
  };
  const follower = new ViewFollower(transport, emit, (v) => {
    view = contextInView(ctx, v);
    const members = view.ids;
    const gossip = options.schedule.kind === 'gossip';
    const topology = v.epoch === 0 || !gossip ? options.topology : options.topologyForView?.(members.length);
    if (gossip && topology === undefined) throw new Error(`${id}: the run's workers changed and its gossip topology has no rule to re-form (topologyForView)`);
    plan = { schedule: options.schedule, rounds: options.rounds, workers: members.length, seed: options.seed, topology };
    destroyMixers();
    mixer = new GossipMixer(gpu, transport, members, length, v.epoch);
    mergeMixer = pushSum ? new GossipMixer(gpu, transport, members, replica.layout.length, v.epoch) : mixer;
  }, joinTransfer(gpu, transport, ctx.ids, replicaState(replica)));
  // Push-sum's weight is the only state a round hands to the next beyond the replica (the overlapped
  // anchor is rewritten every round).
  let pushWeight = ctx.resume?.values.pushWeight ?? 1;
  const anchor = options.order === 'overlapped' ? gpu.createBuffer(4 * replica.layout.length, STORAGE_USAGE, `${id}/anchor`) : undefined;
  const result: DsgdResult = {};
  const firstRound = ctx.resume?.round ?? 0;
  let step = firstRound * options.localSteps;
  const boundary = new RoundBoundary(ctx, firstRound);
  try {
    for (let round = firstRound; round < options.rounds; round++) {
      if (await boundary.stopBefore(round, async () => ({ values: { pushWeight }, sections: [] }))) break;
      await follower.settle();
      const t0 = performance.now();
      if (options.order === 'overlapped' && anchor && !pushSum && planRound(plan, round, view.index).kind === 'mix') {
        // D-PSGD: x^t leaves before the local steps; the steps run while it is in flight.
        const local = await readParameters(view);
        const copy = gpu.beginStep('anchor');
        copy.copy(replica.params, 0, anchor, 0, 4 * replica.layout.length);
        copy.submit();
        // Redone in a later view from the same x^t, if one interrupts it.
        const inFlight = follower.communicate(round, async () => {
          const todo = planRound(plan, round, view.index);
          return todo.kind === 'mix' ? { node: todo.node, received: await mixer.exchange(local, todo.node, { tensor: TENSOR.params, round }) } : undefined;
        });
        inFlight.catch(() => undefined); // observed below
        replica.trainSteps(ctx.batches, options.localSteps);
        const loss = await replica.takeLoss();
        const t1 = performance.now();
        const mixed = await inFlight;
        // x ← x^{t+½} + Σ_j W_ij x_j^t − x^t = 1·x^{t+½} + (w_ii − 1)·x^t + Σ_{j≠i} W_ij x_j^t
        if (mixed) mixer.apply(replica.paramSpan, 1, mixed.received, mixed.node.recv.map((e) => e.w), [{ values: anchor, weight: mixed.node.self - 1 }]);
        const commMs = performance.now() - t1;
        step += options.localSteps;
        await finishRound(round, loss, t1 - t0, commMs, mixed ? 'mix' : 'none');
        continue;
      }
      replica.trainSteps(ctx.batches, options.localSteps);
      step += options.localSteps;
      const loss = await replica.takeLoss();
      const t1 = performance.now();
      const communication = await follower.communicate(round, async (): Promise<RoundEvent['communication']> => {
        const todo = planRound(plan, round, view.index);
        if (todo.kind === 'mix' && pushSum) {
          pushWeight = await pushSumMix(view, mixer, todo.node, pushWeight, round);
        } else if (todo.kind === 'mix') {
          await mixer.mix(replica.paramSpan, await readParameters(view), todo.node, { tensor: TENSOR.params, round }, options.robust);
        } else if (todo.kind === 'average') {
          const local = await readParameters(view);
          await transport.allReduce({ tensor: TENSOR.average, round }, local, { group: view.ids, viewEpoch: view.viewEpoch });
          gpu.write(replica.params, 0, local);
        }
        return todo.kind;
      });
      if (communication !== undefined && communication !== 'none') await gpu.sync();
      const commMs = performance.now() - t1;
      await finishRound(round, loss, t1 - t0, commMs, communication ?? 'none');
    }

    if (ctx.evalSet && result.localAccuracy === undefined) result.localAccuracy = (await replica.evaluate(ctx.evalSet)).accuracy;
    if (options.finalMerge.kind !== 'none') {
      const t0 = performance.now();
      const method = await committedMerge(follower, ctx, () => view, options.rounds, () =>
        pushSum ? pushSumMerge(view, mixer, options.finalMerge, options.rounds, pushWeight) : finalMerge(view, mergeMixer, options.finalMerge, options.rounds),
      );
      await gpu.sync();
      const commMs = performance.now() - t0;
      const merged = await readParameters(view);
      const consensus = measurable(view, options.rounds) ? await follower.measure(() => consensusDistance(transport, view.ids, merged, options.rounds, TENSOR.metrics, view.viewEpoch)) : undefined;
      const e = ctx.evalSet ? await replica.evaluate(ctx.evalSet) : undefined;
      result.mergedAccuracy = e?.accuracy;
      const members = follower.epoch > 0 ? { members: view.ids } : {};
      emit({ type: 'merged', worker: id, round: options.rounds, method: method ?? 'none (the run had merged without it)', accuracy: e?.accuracy, testLoss: e?.loss, consensusDistance: consensus, commMs, ...members });
    }
    return result;
  } finally {
    destroyMixers();
    anchor?.destroy();
  }

  async function finishRound(round: number, loss: number, computeMs: number, commMs: number, communication: RoundEvent['communication']): Promise<void> {
    const event = roundEvent(transport, { worker: id, round, step, loss, communication, computeMs, commMs });
    const accuracy = await measureRound(view, event, options);
    if (accuracy !== undefined) result.localAccuracy = accuracy;
    emit(event);
  }
}


