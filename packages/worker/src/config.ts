// The run configuration: everything that determines a training run, as plain JSON. `gossamer train`
// builds one from flags or a config file and writes it into the run directory, so any run can be
// repeated exactly with `gossamer train --config <run>/config.json`.
import type { OptimizerConfig } from '@gossamer/kernels';
import type { PartitionSpec } from '@gossamer/data';
import { checkLearningRateSchedule, type LearningRateSchedule } from '@gossamer/model';
import type { OuterConfig } from './outer.js';
import { RunConfigError, augmentOf, checkRunConfig, parseLrSchedule } from './schema.js';

export { augmentOf } from './schema.js';

export type DatasetSpec =
  | { kind: 'mnist'; testSize?: number; normalization?: 'none' | 'standard' }
  | { kind: 'blobs'; samples: number; classes: number; features: number; separation?: number; testFraction?: number }
  | { kind: 'csv'; path: string; label: string | number; testFraction?: number };

export type Algorithm = 'local' | 'dsgd' | 'allreduce' | 'co2' | 'localsgd' | 'slowmo';

export interface RunConfig {
  /**
   * local: workers train alone (one worker: plain training); dsgd: decentralized SGD with the
   * schedule and topology below; allreduce: synchronous all-reduce SGD (the parameter-server baseline);
   * co2: local steps + asynchronous all-reduce overlapped with the next round (ALGORITHMS.md §3);
   * localsgd: blocking averaging every localSteps; slowmo: blocking averaging + outer momentum.
   */
  algo: Algorithm;
  workers: number;
  /** OS processes hosting the workers (each with its own device and NATS connections); default: one per worker. */
  processes?: number;
  /** How the training set is split across workers. */
  partition: PartitionSpec;
  /** Gossip topology (`ring`, `torus:4x4`, `exponential`, `one-peer-exponential`, `complete`, ...); `:n` is added when missing. */
  topology: string;
  /** Communication schedule: gossip, none, constant:R, window:START:LENGTH[:R], late:POINT[:R], final-merge[:R]. */
  schedule: string;
  /** Final merge: none, exact, or gossip:K (K rounds of exponential-graph gossip). Default: exact for final-merge schedules, else none. */
  merge?: string;
  order: 'adapt-then-combine' | 'overlapped';
  /** D-SGD's Byzantine-robust mixing: none, nna:f, trimmed-mean:f, median, geomed[:T] or clip:τ (default none: plain averaging). */
  robust?: string;
  /** Local steps per round, H. */
  localSteps: number;
  /** Rounds of the distributed algorithms; default: epochs over the average shard, ⌈epochs·(N/n)/(B·H)⌉. */
  rounds?: number;
  /** Measure the consensus distance every this many rounds (0: never; costs an all-reduce). */
  consensusEvery: number;
  /** Distributed runs: every worker writes a checkpoint to resume from every this many rounds (0 or absent: never). */
  checkpointEvery?: number;
  dataset: DatasetSpec;
  /** Model as the CLI's --model syntax: softmax, mlp:256,256, mlp:128:gelu, cnn. */
  model: string;
  optimizer: OptimizerConfig;
  /** The lr over the run: constant (default) or cosine[:<warmup steps>] (decays to 0 at the run's last step). */
  lrSchedule?: string;
  /** Training-batch augmentation: none (default) or shift:<pixels> (random translations of image samples). */
  augment?: string;
  batchSize: number;
  /** Passes over the (worker's) training data. */
  epochs: number;
  /** Seeds initialisation, data split and batch order. */
  seed: number;
  /** Read the training loss back every this many steps (the only sync point of a step loop). */
  logEvery: number;
  /** Evaluate on the test set every this many epochs (one worker) or rounds (distributed), and at the end. */
  evalEvery: number;
  /** co2 / slowmo options (α, β, penalty, clip, staleness, γ); τ is localSteps. */
  outer?: OuterConfig;
  /** Throttle each worker's link to this many Mbit/s (token bucket; default unlimited). */
  bandwidthMbps?: number;
}

export const DEFAULT_RUN_CONFIG: RunConfig = {
  algo: 'local',
  workers: 1,
  partition: { kind: 'iid' },
  topology: 'ring',
  schedule: 'gossip',
  order: 'adapt-then-combine',
  localSteps: 1,
  consensusEvery: 0,
  dataset: { kind: 'mnist' },
  model: 'mlp:256,256',
  optimizer: { kind: 'adamw', lr: 1e-3 },
  batchSize: 128,
  epochs: 30,
  seed: 0,
  logEvery: 20,
  evalEvery: 1,
};

export function fail(message: string, field = ''): never {
  throw new RunConfigError(field, message);
}

/**
 * The schedule of `constant` or `cosine[:<warmup steps>]` for a run of `totalSteps` optimizer steps
 * per worker. Throws, naming the field, for anything else or a warm-up as long as the run.
 */
export function lrScheduleOf(text: string | undefined, totalSteps: number): LearningRateSchedule {
  const parsed = parseLrSchedule(text);
  if (parsed.kind === 'constant') return parsed;
  const schedule: LearningRateSchedule = { ...parsed, totalSteps: Math.max(1, totalSteps) };
  try {
    checkLearningRateSchedule(schedule);
  } catch (e) {
    fail(`lrSchedule ${text}: ${(e as Error).message} (the run has ${totalSteps} steps)`, 'lrSchedule');
  }
  return schedule;
}

/** Fills defaults and checks every field (runConfigSchema); the error names the field and what it may be. */
export function resolveRunConfig(partial: Partial<RunConfig>): RunConfig {
  const c: RunConfig = { ...DEFAULT_RUN_CONFIG, ...partial };
  checkRunConfig(c);
  if (c.order === 'overlapped' && c.topology.startsWith('push-sum')) {
    fail(`order overlapped is not defined for push-sum (topology ${c.topology}): SGP mixes [w·z, w] after the local steps; use order adapt-then-combine`, 'order');
  }
  return c;
}
