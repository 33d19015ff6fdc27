// Decentralized SGD (ALGORITHMS.md §1) and the single final merge (§2), as one worker's loop over
// rounds, written against the Transport interface only: the same code runs in the in-process
// simulator and over NATS.
//
// Round t (adapt-then-combine):   H local steps on x_i^t → x_i^{t+½};  x_i^{t+1} = Σ_j W_ij x_j^{t+½}
// Round t (overlapped, D-PSGD):   x_i^t goes out before the local steps, which run while it travels;
//                                 x_i^{t+1} = Σ_j W_ij x_j^t + (x_i^{t+½} − x_i^t)
// W is the round's plan (topology gossip, random pairwise averaging, exact averaging, or nothing).
import { STORAGE_USAGE, type Gpu } from '@gossamer/gpu';
import { isPowerOfTwo, onePeerHypercube, type NodeMixing } from '@gossamer/topology';
import type { BatchSource, EvalSet, Replica } from '@gossamer/model';
import type { Transport } from '@gossamer/transport';
import { GossipMixer, TENSOR } from './mixer.js';
import { gossipTopology, planRound, type CommunicationSchedule, type GossipTopology, type PlanContext } from './schedule.js';

/** The final merge: exact (log₂ n hypercube rounds, or an all-reduce), K rounds of exponential gossip, or none. */
export type FinalMerge = { kind: 'none' } | { kind: 'exact' } | { kind: 'gossip'; rounds: number };

export interface DsgdOptions {
  /** Rounds T. */
  rounds: number;
  /** Local optimizer steps per round, H. */
  localSteps: number;
  schedule: CommunicationSchedule;
  /** Needed by the `gossip` schedule. */
  topology?: GossipTopology;
  order: 'adapt-then-combine' | 'overlapped';
  finalMerge: FinalMerge;
  /** Shared by all workers: seeds the random pairings. */
  seed: number;
  /** Evaluate the local model every this many rounds (0: only at the end). */
  evalEvery: number;
  /** Measure the consensus distance every this many rounds (0: never; it costs an all-reduce). */
  consensusEvery: number;
}

export interface WorkerContext {
  gpu: Gpu;
  transport: Transport;
  replica: Replica;
  batches: BatchSource;
  evalSet?: EvalSet;
  /** Worker ids by index: the topology's node numbering and the all-reduce order. */
  ids: readonly string[];
  index: number;
  emit?: (event: AlgorithmEvent) => void;
  signal?: AbortSignal;
}

export interface RoundEvent {
  type: 'round';
  worker: string;
  round: number;
  step: number;
  /** Mean training loss of the round's local steps. */
  loss: number;
  /** Test accuracy / loss of the local model, on evaluation rounds. */
  accuracy?: number;
  testLoss?: number;
  /** Ξ² = (1/n) Σ ‖x_i − x̄‖², on measurement rounds. */
  consensusDistance?: number;
  communication: 'none' | 'mix' | 'average';
  bytesSent: number;
  bytesReceived: number;
  computeMs: number;
  commMs: number;
}

export interface MergedEvent {
  type: 'merged';
  worker: string;
  round: number;
  method: string;
  accuracy?: number;
  testLoss?: number;
  /** Ξ² after the merge (0 for an exact merge, up to float rounding). */
  consensusDistance: number;
  commMs: number;
}

export type AlgorithmEvent = RoundEvent | MergedEvent;

export interface DsgdResult {
  /** Test accuracy of the local model before the merge. */
  localAccuracy?: number;
  /** Test accuracy after the final merge (when there is one). */
  mergedAccuracy?: number;
}

/** A round event with the transport's cumulative byte counters filled in. */
export function roundEvent(transport: Transport, fields: Omit<RoundEvent, 'type' | 'bytesSent' | 'bytesReceived'>): RoundEvent {
  const stats = transport.stats();
  return { type: 'round', ...fields, bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived };
}

/** Ξ² = (1/n) Σ ‖x_i − x̄‖², by two all-reduces (x̄, then the mean of the squared distances). */
export async function consensusDistance(transport: Transport, ids: readonly string[], local: Float32Array, round: number, tensor: number): Promise<number> {
  const mean = Float32Array.from(local);
  await transport.allReduce({ tensor, round }, mean, { group: ids, collectiveId: 1 });
  let d = 0;
  for (let i = 0; i < local.length; i++) d += (local[i] - mean[i]) ** 2;
  const scalar = Float32Array.of(d);
  await transport.allReduce({ tensor, round }, scalar, { group: ids, collectiveId: 2 });
  return scalar[0];
}

export async function readParameters(ctx: WorkerContext): Promise<Float32Array> {
  return ctx.gpu.readF32(ctx.replica.params, 0, ctx.replica.layout.length);
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
    await ctx.transport.allReduce({ tensor: TENSOR.merge, round }, local, { group: ctx.ids });
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
  const { gpu, transport, replica, ids, index } = ctx;
  const id = ids[index];
  const emit = ctx.emit ?? (() => {});
  const plan: PlanContext = { schedule: options.schedule, rounds: options.rounds, workers: ids.length, seed: options.seed, topology: options.topology };
  const pushSum = options.topology?.pushSum === true && options.schedule.kind === 'gossip';
  // Push-sum messages are [w·z, w]: one float longer than the parameters.
  const mixer = new GossipMixer(gpu, transport, ids, replica.layout.length + (pushSum ? 1 : 0));
  const mergeMixer = pushSum ? new GossipMixer(gpu, transport, ids, replica.layout.length) : mixer;
  let pushWeight = 1;
  const anchor = options.order === 'overlapped' ? gpu.createBuffer(4 * replica.layout.length, STORAGE_USAGE, `${id}/anchor`) : undefined;
  const result: DsgdResult = {};
  let step = 0;
  try {
    for (let round = 0; round < options.rounds && !ctx.signal?.aborted; round++) {
      const todo = planRound(plan, round, index);
      const t0 = performance.now();
      let commMs = 0;
      if (todo.kind === 'mix' && options.order === 'overlapped' && anchor && !pushSum) {
        // D-PSGD: x^t leaves before the local steps; the steps run while it is in flight.
        const local = await readParameters(ctx);
        const copy = gpu.beginStep('anchor');
        copy.copy(replica.params, 0, anchor, 0, 4 * replica.layout.length);
        copy.submit();
        const inFlight = mixer.exchange(local, todo.node, { tensor: TENSOR.params, round });
        inFlight.catch(() => undefined); // observed below
        replica.trainSteps(ctx.batches, options.localSteps);
        const loss = await replica.takeLoss();
        const t1 = performance.now();
        const received = await inFlight;
        // x ← x^{t+½} + Σ_j W_ij x_j^t − x^t = 1·x^{t+½} + (w_ii − 1)·x^t + Σ_{j≠i} W_ij x_j^t
        mixer.apply(replica.paramSpan, 1, received, todo.node.recv.map((e) => e.w), [{ values: anchor, weight: todo.node.self - 1 }]);
        commMs = performance.now() - t1;
        step += options.localSteps;
        await finishRound(round, loss, t1 - t0, commMs, 'mix');
        continue;
      }
      replica.trainSteps(ctx.batches, options.localSteps);
      step += options.localSteps;
      const loss = await replica.takeLoss();
      const t1 = performance.now();
      if (todo.kind === 'mix' && pushSum) {
        pushWeight = await pushSumMix(ctx, mixer, todo.node, pushWeight, round);
      } else if (todo.kind === 'mix') {
        await mixer.mix(replica.paramSpan, await readParameters(ctx), todo.node, { tensor: TENSOR.params, round });
      } else if (todo.kind === 'average') {
        const local = await readParameters(ctx);
        await transport.allReduce({ tensor: TENSOR.average, round }, local, { group: ids });
        gpu.write(replica.params, 0, local);
      }
      if (todo.kind !== 'none') await gpu.sync();
      commMs = performance.now() - t1;
      await finishRound(round, loss, t1 - t0, commMs, todo.kind);
    }

    if (ctx.evalSet && result.localAccuracy === undefined) result.localAccuracy = (await replica.evaluate(ctx.evalSet)).accuracy;
    if (options.finalMerge.kind !== 'none') {
      const t0 = performance.now();
      const method = await finalMerge(ctx, mergeMixer, options.finalMerge, options.rounds);
      await gpu.sync();
      const commMs = performance.now() - t0;
      const consensus = await consensusDistance(transport, ids, await readParameters(ctx), options.rounds, TENSOR.metrics);
      const e = ctx.evalSet ? await replica.evaluate(ctx.evalSet) : undefined;
      result.mergedAccuracy = e?.accuracy;
      emit({ type: 'merged', worker: id, round: options.rounds, method, accuracy: e?.accuracy, testLoss: e?.loss, consensusDistance: consensus, commMs });
    }
    return result;
  } finally {
    mixer.destroy();
    if (mergeMixer !== mixer) mergeMixer.destroy();
    anchor?.destroy();
  }

  async function finishRound(round: number, loss: number, computeMs: number, commMs: number, communication: RoundEvent['communication']): Promise<void> {
    const event = roundEvent(transport, { worker: id, round, step, loss, communication, computeMs, commMs });
    const accuracy = await measureRound(ctx, event, options);
    if (accuracy !== undefined) result.localAccuracy = accuracy;
    emit(event);
  }
}

/**
 * Adds the round's measurements to `event`: the consensus distance every `consensusEvery` rounds and
 * the local model's test metrics every `evalEvery` rounds (both also in the last round). Returns the
 * test accuracy of the last round, when measured.
 */
export async function measureRound(
  ctx: WorkerContext,
  event: RoundEvent,
  options: { rounds: number; consensusEvery: number; evalEvery: number },
): Promise<number | undefined> {
  const round = event.round;
  const last = round === options.rounds - 1;
  const every = (n: number) => n > 0 && round % n === n - 1;
  if (options.consensusEvery > 0 && (every(options.consensusEvery) || last)) {
    event.consensusDistance = await consensusDistance(ctx.transport, ctx.ids, await readParameters(ctx), round, TENSOR.metrics);
  }
  if (ctx.evalSet && (every(options.evalEvery) || last)) {
    const e = await ctx.replica.evaluate(ctx.evalSet);
    event.accuracy = e.accuracy;
    event.testLoss = e.loss;
    if (last) return e.accuracy;
  }
  return undefined;
}
