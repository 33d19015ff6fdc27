// Hosting workers of a distributed run: config → data shard → device → replica → transport →
// algorithm loop → events. This module needs nothing of Node (the browser worker page runs it): the
// data comes loaded (distributed.ts loads it from files in Node; a page fetches it from the run). One process may host several workers sharing its device; each worker
// still has its own transport identity. The Transport is supplied by the caller: NATS in worker
// processes, the in-process network in the simulator, so both run exactly this code.
import { Gpu } from '@gossamer/gpu';
import { GpuBatcher, partitionDataset, workerShard } from '@gossamer/data';
import { Replica, parseModelSpec, uploadEvalSet } from '@gossamer/model';
import {
  gossipTopology,
  parseSchedule,
  runAllReduceSgdWorker,
  runDsgdWorker,
  receiveJoinState,
  replicaState,
  topologyForView,
  workerIds,
  type AlgorithmEvent,
  type CheckpointHook,
  type DsgdOptions,
  type FinalMerge,
  type ResumePoint,
} from '@gossamer/algorithms';
import type { Transport } from '@gossamer/transport';
import { augmentOf, lrScheduleOf, type RunConfig } from './config.js';
import { parseMerge, parseRobust, topologyFor } from './schema.js';

import { isOuterAlgorithm, runOuterAlgorithm } from './outer.js';
import type { TrainTest } from './datasets.js';

/** Seed of worker i's batch order: distinct per worker, fixed by the run seed. */
export function workerBatchSeed(seed: number, index: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca77)) >>> 0;
}

/** The rounds of a distributed run: explicit, or epochs over the average shard. */
export function roundsOf(config: RunConfig, trainSamples: number): number {
  if (config.rounds !== undefined) return config.rounds;
  const perWorker = trainSamples / config.workers;
  return Math.max(1, Math.ceil((config.epochs * perWorker) / (config.batchSize * config.localSteps)));
}

export interface HostedStart {
  type: 'start';
  worker: string;
  model: string;
  parameters: number;
  /** The shard it trains on: its index, or index mod n for a joiner beyond the run's n workers. */
  shard: number;
  shardSamples: number;
  rounds: number;
  algo: string;
  adapter: string;
}

export interface HostedDone {
  type: 'done';
  worker: string;
  localAccuracy?: number;
  mergedAccuracy?: number;
  elapsedMs: number;
}

/** A worker that joined a run in progress: the view that added it and where it took its state. */
export interface HostedJoined {
  type: 'joined';
  worker: string;
  epoch: number;
  members: readonly string[];
  startRound: number;
  /** The member whose parameters and optimizer state it took. */
  source: string;
  /** The batch of its shard it starts at. */
  batch: number;
}

export type WorkerEvent = AlgorithmEvent | HostedStart | HostedDone | HostedJoined;

export interface HostOptions {
  /** Indices (into the run's worker ids) of the workers this process hosts. */
  indices: readonly number[];
  /** The transport of one hosted worker (connected; peers may still be joining). */
  transportFor(id: string, index: number): Promise<Transport>;
  gpu?: Gpu;
  emit?: (event: WorkerEvent) => void;
  signal?: AbortSignal;
  /** Preloaded data (the simulator loads it once for all workers); needed by hostLoadedWorkers. */
  data?: TrainTest;
  /** Called with each worker's final parameters (e.g. to save a checkpoint). */
  onFinalParameters?: (id: string, checkpoint: Uint8Array) => void | Promise<void>;
  /** Resuming a run: the checkpoint (written through saveRoundCheckpoint) each hosted worker starts from. */
  resumeFrom?: (id: string) => Promise<Uint8Array>;
  /** The hosted workers join a run in progress: each waits to be added, then takes its state from a member. */
  join?: boolean;
  /**
   * Stores worker `id`'s checkpoint for a resume at `round`: every config.checkpointEvery rounds,
   * and at the round the workers agree to stop at when `signal` stops them.
   */
  saveRoundCheckpoint?: (id: string, round: number, checkpoint: Uint8Array) => Promise<void>;
}

export interface HostedResult {
  worker: string;
  localAccuracy?: number;
  mergedAccuracy?: number;
  params: Float32Array;
}

/** Runs the hosted workers of a distributed run to the end, on data already loaded. */
export async function hostLoadedWorkers(config: RunConfig, options: HostOptions & { data: TrainTest }): Promise<HostedResult[]> {
  const ids = workerIds(config.workers);
  const emit = options.emit ?? (() => {});
  const data = options.data;
  const spec = parseModelSpec(config.model, data.train.featureShape, data.train.numClasses);
  const partition = partitionDataset(data.train, config.workers, { ...config.partition, seed: config.partition.seed ?? config.seed } as typeof config.partition);
  const rounds = roundsOf(config, data.train.numSamples);
  const lrSchedule = lrScheduleOf(config.lrSchedule, rounds * config.localSteps);
  const augment = augmentOf(config.augment);
  const { schedule, finalMerge } = parseSchedule(config.algo === 'local' ? 'none' : config.schedule);
  const merge = parseMerge(config.merge, finalMerge);
  const topology = config.algo === 'dsgd' && schedule.kind === 'gossip' ? gossipTopology(topologyFor(config.topology, config.workers), config.seed) : undefined;
  const gpu = options.gpu ?? (await Gpu.create());
  const evalSet = uploadEvalSet(gpu, data.test.features, data.test.labels, data.test.numFeatures);
  const start = performance.now();
  try {
    const runOne = async (index: number): Promise<HostedResult> => {
      const id = ids[index] ?? `w${index}`;
      // Data rule: worker w<k> trains on shard k; a joiner beyond the run's size (k ≥ n) shares
      // shard k mod n, with a batch order of its own (docs/elastic.md "Joining").
      const shard = workerShard(data.train, partition, index % config.workers);
      // The same initial parameters on every worker (seed), a different batch order (worker seed).
      const replica = Replica.create(gpu, { spec, optimizer: config.optimizer, lrSchedule, batchSize: config.batchSize, seed: config.seed, name: id });
      const batches = new GpuBatcher(gpu, shard, { batchSize: config.batchSize, seed: workerBatchSeed(config.seed, index), label: id, augment });
      let transport: Transport | undefined;
      try {
        await replica.compile(); // before joining: compiling blocks the event loop (and heartbeats)
        const resume = options.resumeFrom ? resumePoint(id, replica, batches, await options.resumeFrom(id)) : undefined;
        const save = options.saveRoundCheckpoint;
        // With somewhere to save, also without checkpointEvery: a final checkpoint when stopped.
        const checkpoint: CheckpointHook | undefined =
          save
            ? {
                every: config.checkpointEvery ?? 0,
                save: async (round, state) =>
                  save(id, round, await replica.saveCheckpoint({ sections: state.sections, resume: { round, batcherStep: batches.stepsTaken, values: state.values } })),
              }
            : undefined;
        transport = await options.transportFor(id, index);
        const joined = options.join ? await joinRunInProgress(config, ids, transport, gpu, replica, batches) : undefined;
        emit({ type: 'start', worker: id, model: spec.name, parameters: replica.parameterCount, shard: index % config.workers, shardSamples: shard.numSamples, rounds, algo: config.algo, adapter: gpu.adapterDescription });
        if (joined) emit({ type: 'joined', worker: id, ...joined.event });
        const ctx = { gpu, transport, replica, batches, evalSet, ids, index, emit, signal: options.signal, resume: joined?.resume ?? resume, checkpoint };
        const periodic = { rounds, localSteps: config.localSteps, evalEvery: config.evalEvery, consensusEvery: config.consensusEvery };
        const result = isOuterAlgorithm(config.algo)
          ? await runOuterAlgorithm(ctx, config.algo, config.outer, periodic)
          : config.algo === 'allreduce'
            ? await runAllReduceSgdWorker(ctx, { rounds, localSteps: config.localSteps, evalEvery: config.evalEvery, consensusEvery: config.consensusEvery })
            : await runDsgdWorker(ctx, {
                rounds,
                localSteps: config.localSteps,
                schedule,
                topology,
                topologyForView: (workers) => topologyForView(config.topology, workers, config.seed),
                order: config.order,
                finalMerge: merge,
                seed: config.seed,
                evalEvery: config.evalEvery,
                consensusEvery: config.consensusEvery,
                robust: parseRobust(config.robust),
              } satisfies DsgdOptions);
        emit({ type: 'done', worker: id, localAccuracy: result.localAccuracy, mergedAccuracy: result.mergedAccuracy, elapsedMs: performance.now() - start });
        if (options.onFinalParameters) await options.onFinalParameters(id, await replica.saveCheckpoint());
        const params = await replica.getParameters();
        // Finished: peers still merging or measuring keep their view (a Leave 'done' changes none).
        await transport.close({ reason: 'done' });
        return { worker: id, ...result, params };
      } catch (error) {
        // At once, so the peers change their view now instead of after the failure-detection
        // timeout (the other workers of this process go on).
        await transport?.close({ reason: 'failed', detail: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        batches.destroy();
        replica.destroy();
      }
    };
    const settled = await Promise.allSettled(options.indices.map(runOne));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<HostedResult>).value);
  } finally {
    evalSet.destroy();
    if (!options.gpu) gpu.destroy();
  }
}

/** Restores a worker from its checkpoint: replica and batcher now, the algorithm's part returned. */
function resumePoint(id: string, replica: Replica, batches: GpuBatcher, bytes: Uint8Array): ResumePoint {
  const ckpt = replica.loadCheckpoint(bytes, `${id}'s checkpoint`);
  const saved = ckpt.header.resume;
  if (!saved) throw new Error(`${id}'s checkpoint is a final model, not a point to resume a run from (written without checkpointEvery)`);
  batches.seek(saved.batcherStep);
  return { round: saved.round, values: saved.values, sections: ckpt.sections };
}

/**
 * A worker joining a run in progress (docs/elastic.md "Joining"): waits for the view that adds it,
 * takes the parameters and optimizer state of its source member, and starts at the view's start
 * round. Data rule: it trains on its own shard (that of the id it takes), from the batch the run
 * is at, as if it had trained all along.
 */
async function joinRunInProgress(config: RunConfig, ids: readonly string[], transport: Transport, gpu: Gpu, replica: Replica, batches: GpuBatcher) {
  const view = await transport.views.after(0);
  const source = await receiveJoinState(gpu, transport, ids, replicaState(replica), view);
  // The view's rounds are steps for all-reduce SGD, rounds of localSteps steps otherwise.
  const steps = config.algo === 'allreduce' ? view.startRound : view.startRound * config.localSteps;
  batches.seek(steps);
  replica.steps = steps;
  const resume: ResumePoint = { round: view.startRound, values: {}, sections: new Map(), joined: true };
  return { resume, event: { epoch: view.epoch, members: view.members, startRound: view.startRound, source, batch: steps } };
}
