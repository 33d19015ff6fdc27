// The run configuration: everything that determines a training run, as plain JSON. `gossamer train`
// builds one from flags or a config file and writes it into the run directory, so any run can be
// repeated exactly with `gossamer train --config <run>/config.json`.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { OptimizerConfig } from '@gossamer/kernels';
import type { PartitionSpec } from '@gossamer/data';
import { checkLearningRateSchedule, type LearningRateSchedule } from '@gossamer/model';
import { OUTER_ALGORITHMS, bandwidthLimitOf, resolveOuterConfig, type OuterConfig } from './outer.js';

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

function fail(message: string): never {
  throw new Error(`run config: ${message}`);
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** `constant` or `cosine[:<warmup steps>]`, parsed; throws, naming the field, for anything else. */
function parseLrSchedule(text: string | undefined): { kind: 'constant' } | { kind: 'cosine'; warmupSteps: number } {
  if (text === undefined || text === 'constant') return { kind: 'constant' };
  const m = /^cosine(?::(\d+))?$/.exec(text);
  if (!m) fail(`lrSchedule must be constant or cosine[:<warmup steps>], got ${JSON.stringify(text)}`);
  return { kind: 'cosine', warmupSteps: m[1] === undefined ? 0 : Number(m[1]) };
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
    fail(`lrSchedule ${text}: ${(e as Error).message} (the run has ${totalSteps} steps)`);
  }
  return schedule;
}

/**
 * The batcher's augmentation for `none` or `shift:<max pixels>` (undefined: none). Throws, naming the
 * field, for anything else.
 */
export function augmentOf(text: string | undefined): { maxShift: number } | undefined {
  if (text === undefined || text === 'none') return undefined;
  const m = /^shift:(\d+)$/.exec(text);
  if (!m) fail(`augment must be none or shift:<max pixels> (e.g. shift:2), got ${JSON.stringify(text)}`);
  return { maxShift: Number(m[1]) };
}

/** Fills defaults and checks every field; the error names the field and what it should be. */
export function resolveRunConfig(partial: Partial<RunConfig>): RunConfig {
  const known = new Set([...Object.keys(DEFAULT_RUN_CONFIG), 'processes', 'merge', 'rounds', 'outer', 'bandwidthMbps', 'lrSchedule', 'augment', 'checkpointEvery']);
  for (const key of Object.keys(partial)) if (!known.has(key)) fail(`unknown field "${key}" (known: ${[...known].join(', ')})`);
  const c: RunConfig = { ...DEFAULT_RUN_CONFIG, ...partial };
  if (!['local', 'dsgd', 'allreduce', ...OUTER_ALGORITHMS].includes(c.algo)) fail(`algo "${String(c.algo)}" is unknown; use local, dsgd, allreduce, co2, localsgd or slowmo`);
  if (c.outer !== undefined) resolveOuterConfig(c.outer);
  parseLrSchedule(c.lrSchedule);
  augmentOf(c.augment);
  bandwidthLimitOf(c.bandwidthMbps);
  positiveInt('workers', c.workers);
  if (c.processes !== undefined) {
    positiveInt('processes', c.processes);
    if (c.processes > c.workers) fail(`processes (${c.processes}) > workers (${c.workers})`);
  }
  if (c.rounds !== undefined && (!Number.isInteger(c.rounds) || c.rounds < 0)) fail(`rounds must be a non-negative integer, got ${c.rounds}`);
  positiveInt('localSteps', c.localSteps);
  if (!Number.isInteger(c.consensusEvery) || c.consensusEvery < 0) fail(`consensusEvery must be a non-negative integer, got ${c.consensusEvery}`);
  if (c.checkpointEvery !== undefined && (!Number.isInteger(c.checkpointEvery) || c.checkpointEvery < 0)) fail(`checkpointEvery must be a non-negative integer, got ${c.checkpointEvery}`);
  if (c.order !== 'adapt-then-combine' && c.order !== 'overlapped') fail('order must be adapt-then-combine or overlapped');
  if (c.order === 'overlapped' && typeof c.topology === 'string' && c.topology.startsWith('push-sum')) {
    fail(`order overlapped is not defined for push-sum (topology ${c.topology}): SGP mixes [w·z, w] after the local steps; use order adapt-then-combine`);
  }
  if (!c.partition || !['iid', 'dirichlet', 'shards'].includes(c.partition.kind)) fail('partition.kind must be iid, dirichlet or shards');
  positiveInt('batchSize', c.batchSize);
  positiveInt('epochs', c.epochs);
  positiveInt('logEvery', c.logEvery);
  if (!Number.isInteger(c.evalEvery) || c.evalEvery < 0) fail(`evalEvery must be a non-negative integer (0: only at the end), got ${c.evalEvery}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) fail(`seed must be a non-negative integer, got ${c.seed}`);
  if (typeof c.model !== 'string' || c.model === '') fail('model must be a string such as "mlp:256,256", "cnn" or "softmax"');
  const kinds = ['mnist', 'blobs', 'csv'];
  if (!c.dataset || !kinds.includes(c.dataset.kind)) fail(`dataset.kind must be one of ${kinds.join(', ')}`);
  const opt = c.optimizer;
  if (!opt || !['sgd', 'momentum', 'adamw'].includes(opt.kind)) fail('optimizer.kind must be sgd, momentum or adamw');
  return c;
}

/**
 * Reads a run config file: YAML when it is named *.yaml or *.yml, JSON otherwise (the run directory's
 * config.json is one). Fields left out take their defaults in resolveRunConfig.
 */
export async function loadRunConfig(path: string): Promise<Partial<RunConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const yaml = /\.ya?ml$/i.test(path);
  let value: unknown;
  try {
    value = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new Error(`config file ${path} is not valid ${yaml ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`config file ${path} must hold one object of run settings (e.g. {"algo": "dsgd", "workers": 4}), not ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`);
  }
  return value as Partial<RunConfig>;
}
