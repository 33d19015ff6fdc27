import { existsSync, mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OptimizerConfig } from '@gossamer/kernels';
import { Gpu } from '@gossamer/gpu';
import { DEFAULT_RUN_CONFIG, RunConfigError, checkRunConfigFiles, loadRunConfig, parseDpSpec, resolveRunConfig, trainSingleWorker, type DatasetSpec, type RunConfig, type RunEvent } from '@gossamer/worker';
import { UsageError, type Command } from '../command.js';
import { startNatsServer, type NatsServer } from '@gossamer/transport';
import { formatRunSummary, launchDistributed, type LaunchSummary } from '../launch.js';
import { checkBrowserWorkers } from '../browser-workers.js';
import { findResumeSource } from '../resume-source.js';
import type { Logger } from '../log.js';
import { millisecondsFlag } from '../nats-join.js';
import { choiceFlag, flagKinds as k, numberFlag, type NumberKind } from '../flags.js';
import { runNetlassoProcesses } from '../netlasso-processes.js';
import { parseLambdas, readProblemSpec } from './netlasso-worker.js';
import { ProgressView } from '../progress.js';
import { percent } from '../format.js';

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A numeric flag, checked by its kind (flags.ts); the config schema checks it again in context. */
function num(values: Values, name: string, kind: NumberKind): number | undefined {
  return numberFlag(values, name, kind);
}

/** mnist | blobs[:samples,classes,features] | csv:<path>[:<label column>] */
export function parseDatasetFlag(text: string): DatasetSpec {
  const [kind, ...rest] = text.split(':');
  if (kind === 'mnist') return { kind: 'mnist' };
  if (kind === 'blobs') {
    const [samples, classes, features] = (rest[0] ?? '2000,4,16').split(',').map(Number);
    if (![samples, classes, features].every((v) => Number.isInteger(v) && v > 0)) {
      throw new UsageError(`--dataset ${text}: expected blobs:<samples>,<classes>,<features>, e.g. blobs:2000,4,16`);
    }
    return { kind: 'blobs', samples, classes, features };
  }
  if (kind === 'csv') {
    if (!rest[0]) throw new UsageError('--dataset csv needs a path: csv:data.csv or csv:data.csv:<label column>');
    const label = rest[1] ?? -1;
    return { kind: 'csv', path: rest[0], label: typeof label === 'string' && /^-?\d+$/.test(label) ? Number(label) : label };
  }
  throw new UsageError(`--dataset ${text}: unknown dataset; use mnist, blobs[:samples,classes,features] or csv:<path>[:<label>]`);
}

/** iid | dirichlet:ALPHA | shards:K */
export function parsePartitionFlag(text: string): RunConfig['partition'] {
  const [kind, arg] = text.split(':');
  if (kind === 'iid') return { kind: 'iid' };
  const v = Number(arg);
  if (kind === 'dirichlet' && v > 0) return { kind: 'dirichlet', alpha: v };
  if (kind === 'shards' && Number.isInteger(v) && v > 0) return { kind: 'shards', shardsPerWorker: v };
  throw new UsageError(`--partition ${text}: use iid, dirichlet:<alpha> (e.g. dirichlet:0.1) or shards:<k>`);
}

const DEFAULT_LR: Record<OptimizerConfig['kind'], number> = { sgd: 0.05, momentum: 0.05, adamw: 1e-3 };

function optimizerFrom(values: Values, base: OptimizerConfig): OptimizerConfig {
  const kind = choiceFlag(values, 'optimizer', ['sgd', 'momentum', 'adamw'], base.kind) ?? base.kind;
  // Keep the base's hyper-parameters when the kind is unchanged; flags override them.
  const config: Record<string, unknown> = kind === base.kind ? { ...base } : { kind };
  config.lr = num(values, 'lr', k.nonNegative) ?? config.lr ?? DEFAULT_LR[kind];
  const weightDecay = num(values, 'weight-decay', k.nonNegative);
  if (weightDecay !== undefined) config.weightDecay = weightDecay;
  if (kind === 'momentum') config.momentum = num(values, 'momentum', k.nonNegative) ?? config.momentum ?? 0.9;
  return config as unknown as OptimizerConfig;
}

/** CO2 / SlowMo flags over the config file's `outer` (undefined when neither sets anything). */
function outerFrom(values: Values, base: RunConfig['outer']): RunConfig['outer'] {
  const outer: NonNullable<RunConfig['outer']> = { ...base };
  const alpha = num(values, 'outer-lr', k.number);
  const beta = num(values, 'outer-momentum', k.nonNegative);
  const gamma = num(values, 'slowmo-gamma', k.positive);
  if (alpha !== undefined) outer.alpha = alpha;
  if (beta !== undefined) outer.beta = beta;
  if (gamma !== undefined) outer.gamma = gamma;
  const resyncEvery = num(values, 'resync-every', k.nonNegativeInteger);
  if (resyncEvery !== undefined) outer.resyncEvery = resyncEvery;
  const penalty = str(values, 'penalty');
  const clip = str(values, 'outer-clip');
  const staleness = choiceFlag(values, 'staleness', ['one-round', 'none']);
  if (penalty) outer.penalty = penalty;
  if (clip) outer.clip = clip;
  if (staleness) outer.staleness = staleness;
  return Object.keys(outer).length > 0 ? outer : undefined;
}

export async function runConfigFrom(values: Values): Promise<RunConfig> {
  const file = str(values, 'config');
  const base: Partial<RunConfig> = file ? await loadRunConfig(file) : {};
  const merged: Partial<RunConfig> = { ...base };
  const set = <K extends keyof RunConfig>(key: K, v: RunConfig[K] | undefined) => {
    if (v !== undefined) merged[key] = v;
  };
  set('workers', num(values, 'workers', k.positiveInteger));
  const dataset = str(values, 'dataset');
  if (dataset) merged.dataset = parseDatasetFlag(dataset);
  set('model', str(values, 'model'));
  set('batchSize', num(values, 'batch', k.positiveInteger));
  set('epochs', num(values, 'epochs', k.positiveInteger));
  set('seed', num(values, 'seed', k.nonNegativeInteger));
  set('logEvery', num(values, 'log-every', k.positiveInteger));
  set('evalEvery', num(values, 'eval-every', k.nonNegativeInteger));
  set('processes', num(values, 'processes', k.positiveInteger));
  set('localSteps', num(values, 'local-steps', k.positiveInteger));
  set('rounds', num(values, 'rounds', k.nonNegativeInteger));
  set('consensusEvery', num(values, 'consensus-every', k.nonNegativeInteger));
  set('checkpointEvery', num(values, 'checkpoint-every', k.nonNegativeInteger));
  set('topology', str(values, 'topology'));
  set('schedule', str(values, 'schedule'));
  set('merge', str(values, 'merge'));
  set('robust', str(values, 'robust'));
  set('lrSchedule', str(values, 'lr-schedule'));
  set('augment', str(values, 'augment'));
  const order = choiceFlag(values, 'order', ['adapt-then-combine', 'overlapped']);
  if (order) merged.order = order;
  const partition = str(values, 'partition');
  if (partition) merged.partition = parsePartitionFlag(partition);
  const algo = choiceFlag(values, 'algo', ALGOS);
  if (algo) merged.algo = algo;
  set('bandwidthMbps', num(values, 'bandwidth', k.positive));
  const outer = outerFrom(values, base.outer);
  if (outer) merged.outer = outer;
  // The file's optimizer is checked with the rest below (resolveRunConfig), flags applied first.
  merged.optimizer = optimizerFrom(values, base.optimizer ?? DEFAULT_RUN_CONFIG.optimizer);
  let config: RunConfig;
  try {
    config = resolveRunConfig(merged);
    checkRunConfigFiles(config); // the workers read them: missing here, missing there
  } catch (e) {
    throw configUsageError(e as Error, values, file);
  }
  return config;
}

const ALGOS = ['local', 'dsgd', 'allreduce', 'co2', 'localsgd', 'slowmo'] as const;

/** The flag that sets each run config field (by its path, or its top-level field). */
const FLAG_OF: Record<string, string> = {
  workers: 'workers', dataset: 'dataset', model: 'model', batchSize: 'batch', epochs: 'epochs', seed: 'seed', logEvery: 'log-every',
  evalEvery: 'eval-every', processes: 'processes', localSteps: 'local-steps', rounds: 'rounds', consensusEvery: 'consensus-every',
  checkpointEvery: 'checkpoint-every', topology: 'topology', schedule: 'schedule', merge: 'merge', robust: 'robust', lrSchedule: 'lr-schedule',
  augment: 'augment', order: 'order', partition: 'partition', algo: 'algo', bandwidthMbps: 'bandwidth', optimizer: 'optimizer',
  'optimizer.lr': 'lr', 'optimizer.weightDecay': 'weight-decay', 'optimizer.momentum': 'momentum', 'outer.alpha': 'outer-lr',
  'outer.beta': 'outer-momentum', 'outer.gamma': 'slowmo-gamma', 'outer.resyncEvery': 'resync-every', 'outer.penalty': 'penalty',
  'outer.clip': 'outer-clip', 'outer.staleness': 'staleness',
};

/** A run config error as the user made it: naming the flag that set the field, else the config file. */
function configUsageError(e: Error, values: Values, file: string | undefined): UsageError {
  if (!(e instanceof RunConfigError)) return new UsageError(e.message);
  const flag = [e.field, e.field.split('.')[0]].map((f) => FLAG_OF[f]).find((f) => f !== undefined && str(values, f) !== undefined);
  if (flag !== undefined) {
    const given = `--${flag} ${str(values, flag)}`;
    return new UsageError(e.detail.startsWith(given) ? e.detail : `${given}: ${e.detail}`);
  }
  return new UsageError(file ? `--config ${file}: ${e.message}` : e.message);
}

/**
 * `--dp`: the spec is checked (a typo is named as such), then the run is refused — DP-SGD's clipped,
 * noised step is not in the training loop yet, and training without it under a --dp flag would
 * claim a privacy guarantee the run does not have.
 */
function refuseDp(text: string | undefined): void {
  if (text === undefined) return;
  try {
    parseDpSpec(text);
  } catch (e) {
    const detail = e instanceof RunConfigError ? e.detail.replace(/^dp "[^"]*": /, '') : (e as Error).message;
    throw new UsageError(`--dp ${text}: ${detail}`);
  }
  throw new UsageError(`--dp ${text}: DP-SGD is not wired into the training step yet (issue 17, item 4); nothing was run`);
}

/** runs/<YYYYMMDD-HHMMSS>-<what>: the default run directory. */
function defaultRunDir(what: string): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `${stamp}-${what.replace(/[^a-z0-9]+/gi, '-')}`);
}

export const train: Command = {
  name: 'train',
  summary: 'train: one worker, or n worker processes over an embedded nats-server (dsgd, allreduce, co2, localsgd, slowmo, local)',
  usage: '[--config run.json] [--algo dsgd --workers 8 --topology ring --schedule gossip] [--dataset mnist] [--model mlp:256,256] [options]',
  options: {
    config: { type: 'string' },
    algo: { type: 'string' },
    workers: { type: 'string' },
    dataset: { type: 'string' },
    model: { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    'lr-schedule': { type: 'string' },
    augment: { type: 'string' },
    dp: { type: 'string' },
    'weight-decay': { type: 'string' },
    momentum: { type: 'string' },
    batch: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    'log-every': { type: 'string' },
    'eval-every': { type: 'string' },
    processes: { type: 'string' },
    partition: { type: 'string' },
    topology: { type: 'string' },
    schedule: { type: 'string' },
    merge: { type: 'string' },
    robust: { type: 'string' },
    order: { type: 'string' },
    'local-steps': { type: 'string' },
    rounds: { type: 'string' },
    'consensus-every': { type: 'string' },
    'outer-lr': { type: 'string' },
    'outer-momentum': { type: 'string' },
    penalty: { type: 'string' },
    'outer-clip': { type: 'string' },
    staleness: { type: 'string' },
    'slowmo-gamma': { type: 'string' },
    'resync-every': { type: 'string' },
    bandwidth: { type: 'string' },
    nats: { type: 'string' },
    'on-failure': { type: 'string' },
    'browser-workers': { type: 'string' },
    resume: { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'peer-timeout': { type: 'string' },
    problem: { type: 'string' },
    lambdas: { type: 'string' },
    out: { type: 'string' },
    adapter: { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
  optionHelp: {
    config: 'run config file: JSON (as written to <run>/config.json) or YAML (*.yaml, *.yml); flags override it',
    algo: 'local (no communication) | dsgd (gossip) | allreduce (synchronous SGD baseline) | co2 | localsgd | slowmo (τ = --local-steps) (default local)',
    workers: 'number of workers (default 1)',
    processes: 'worker processes hosting the workers (default: one per worker)',
    partition: 'iid | dirichlet:<alpha> | shards:<k> (default iid)',
    topology: 'ring | torus | exponential | one-peer-exponential | complete | random-regular:N:D | erdos-renyi:N:P (default ring)',
    schedule: 'gossip | none | constant:R | window:START:LENGTH[:R] | late:POINT[:R] | final-merge[:R] (default gossip)',
    merge: 'final merge: none | exact | gossip:K (default: exact for final-merge schedules)',
    order: 'adapt-then-combine | overlapped (D-PSGD: gossip overlaps the gradient steps)',
    robust: 'dsgd: Byzantine-robust mixing none | nna:<f> | trimmed-mean:<f> | median | geomed[:<iterations>] | clip:<τ|inf> (default none)',
    'local-steps': 'local steps per round, H (τ for co2/localsgd/slowmo) (default 1)',
    rounds: 'rounds (default: --epochs over the average shard)',
    'consensus-every': 'measure the consensus distance every N rounds (an all-reduce; default 0: never)',
    'outer-lr': 'co2/slowmo: outer learning rate α (default 1)',
    'outer-momentum': 'co2/slowmo: outer momentum β (default 0.2)',
    penalty: 'co2: staleness penalty none | constant:<λ> | gap:<κ>[:<ε>] (default none)',
    'outer-clip': 'co2: outer momentum clip none | value:<φ> | norm:<φ> (default value:1)',
    staleness: 'co2: one-round (all-reduce overlaps the next round, default) | none (awaited at once)',
    'slowmo-gamma': 'slowmo: base learning rate γ in u ← βu + (a − x̄)/γ, a ← a − αγu (default 1)',
    'resync-every': 'co2/slowmo: copy the anchors from the canonical worker every N rounds, for workers on different GPUs (default 0: only when membership changes)',
    bandwidth: 'throttle each worker\'s link to this many Mbit/s (default unlimited)',
    nats: 'use this NATS server instead of starting one (distributed runs); with --resume, also look for the run\'s checkpoints in its JetStream object store',
    resume:
      'continue the distributed run in this run directory from the latest round every worker checkpointed: in <run>/checkpoints, or (with --nats) in the server\'s object store; uses its config.json, other flags are ignored',
    'checkpoint-every':
      'distributed runs: every worker writes <run>/checkpoints/round-<k>/<id>.ckpt every N rounds (and into the server\'s JetStream object store, when it has one), to --resume from; Ctrl-C always writes a final one (default 0: only that)',
    'browser-workers':
      'run the last K workers as worker pages in headless Chromium (GOSSAMER_CHROMIUM or the system chromium), over the embedded nats-server\'s websocket listener; their WebGPU is SwiftShader unless --adapter hardware',
    'on-failure': 'a worker process fails: continue (default: the survivors agree on a new view and go on) | abort (stop every worker, exit 1)',
    'peer-timeout': 'ms of silence after which a worker is declared gone (heartbeats every 1000 ms) (default 3000)',
    problem: 'netlasso: the problem spec (JSON: a generator + seed, nodes/edges CSV, or a problem document)',
    lambdas: 'netlasso: λ list (0,0.1,1) or path:<start>,<factor>,<count> (default path:0.01,1.5,12)',
    dataset: 'mnist | blobs[:samples,classes,features] | csv:<path>[:<label column>] (default mnist)',
    model: 'softmax | mlp:<widths>[:gelu] (e.g. mlp:256,256) | cnn (default mlp:256,256)',
    optimizer: 'adamw | sgd | momentum (default adamw)',
    lr: 'learning rate (default 1e-3 for adamw, 0.05 for sgd/momentum)',
    'lr-schedule': 'constant | cosine[:<warmup steps>] (cosine decays the lr to 0 at the last step) (default constant)',
    augment: 'none | shift:<pixels>: move each training image by a random (dx, dy) up to ±pixels, inside the GPU batch gather (default none)',
    dp: 'DP-SGD: clip:<C>,noise:<σ> | epsilon:<ε>,delta:<δ>,clip:<C> — checked, but not wired into the training step yet, so a run with it is refused',
    'weight-decay': 'decoupled weight decay (adamw) or L2 (sgd)',
    momentum: 'momentum coefficient (momentum optimizer, default 0.9)',
    batch: 'batch size per worker (default 128)',
    epochs: 'passes over the training data (default 30)',
    seed: 'seed of init, split and batch order (default 0)',
    'log-every': 'read the loss back every N steps (default 20)',
    'eval-every': 'evaluate on the test set every N epochs (one worker) or rounds (distributed) (default 1)',
    out: 'run directory (default runs/<time>-<algo>-<model>)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    json: 'print events as JSON lines on stdout instead of a progress bar',
    quiet: 'print only the final summary',
  },
  async run(values, _positionals, { log }) {
    refuseDp(str(values, 'dp'));
    if (str(values, 'algo') === 'netlasso') return trainNetlasso(values);
    const resumeDir = str(values, 'resume');
    if (resumeDir !== undefined) {
      if (str(values, 'browser-workers') !== undefined) throw new UsageError('--browser-workers with --resume: worker pages write no round checkpoints, so a run with them cannot be resumed');
      return resumeRun(resolve(resumeDir), values, log);
    }
    const config = await runConfigFrom(values);
    // Checked before the run directory, the server or any worker exists.
    const browserWorkers = browserWorkersFrom(values, config);
    const onFailure = choiceFlag(values, 'on-failure', ['continue', 'abort'], 'continue');
    const peerTimeoutMs = str(values, 'peer-timeout') === undefined ? undefined : millisecondsFlag(values, 'peer-timeout');
    const adapter = str(values, 'adapter');
    const runDir = resolve(str(values, 'out') ?? defaultRunDir(`${config.algo}-${config.model}`));
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const metricsFile = join(runDir, 'metrics.jsonl');
    const json = values.json === true;
    const quiet = values.quiet === true;
    writeFileSync(metricsFile, '');
    const view = json || quiet ? undefined : new ProgressView();
    const onEvent = (e: RunEvent) => {
      const line = JSON.stringify({ time: new Date().toISOString(), ...e });
      appendFileSync(metricsFile, `${line}\n`);
      if (json) process.stdout.write(`${line}\n`);
      view?.handle(e);
    };
    if (config.workers > 1 || config.algo !== 'local') {
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await launchDistributed(config, { runDir, nats: str(values, 'nats'), adapter, json, quiet: values.quiet === true, log, onFailure, peerTimeoutMs, signal: abort.signal, browserWorkers });
        writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ ...summary, runDir }, null, 2)}\n`);
        if (!json) console.log(formatRunSummary(summary, runDir));
        return summary.interrupted ? 130 : 0;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    }
    const gpu = await Gpu.create(adapter ? { adapter } : {});
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const result = await trainSingleWorker(config, { gpu, onEvent, signal: abort.signal });
      writeFileSync(join(runDir, 'model.ckpt'), result.checkpoint);
      const summary = { testAccuracy: result.testAccuracy, testLoss: result.testLoss, steps: result.steps, runDir };
      writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
      if (!json) {
        console.log(
          `done: test accuracy ${percent(result.testAccuracy)}, test loss ${result.testLoss.toFixed(4)} after ${result.steps} steps` +
            `${abort.signal.aborted ? ' (interrupted)' : ''}\nrun directory: ${runDir} (config.json, metrics.jsonl, model.ckpt, summary.json)`,
        );
      }
      return abort.signal.aborted ? 130 : 0;
    } finally {
      process.off('SIGINT', onSigint);
      gpu.destroy();
    }
  },
};


/**
 * `train --algo netlasso`: Network Lasso by decentralized ADMM over --workers netlasso-worker
 * processes and an embedded nats-server (or --nats), on the graph problem of --problem.
 */
async function trainNetlasso(values: Values): Promise<number> {
  const problem = str(values, 'problem');
  if (!problem) throw new UsageError('--algo netlasso needs --problem <spec.json> (see packages/algorithms/src/netlasso/README.md for the formats)');
  const workers = num(values, 'workers', k.positiveInteger) ?? 1;
  if (!existsSync(problem)) throw new UsageError(`--problem ${problem}: no such file (looked for ${resolve(problem)})`);
  // What every worker would refuse, refused here, before any process starts.
  readProblemSpec(problem);
  const lambdas = str(values, 'lambdas') ?? 'path:0.01,1.5,12';
  parseLambdas(lambdas);
  const runDir = resolve(str(values, 'out') ?? defaultRunDir('netlasso'));
  mkdirSync(runDir, { recursive: true });
  const server = str(values, 'nats') ? undefined : await startNatsServer();
  try {
    const run = await runNetlassoProcesses({
      url: str(values, 'nats') ?? (server as NatsServer).url,
      specFile: resolve(problem),
      workers,
      args: ['--lambdas', lambdas],
      dir: runDir,
      label: 'netlasso',
      adapter: str(values, 'adapter'),
    });
    const reports = run.outputs[0].reports;
    const failures = run.failures.map((f) => ({ worker: `w${f.index}`, exit: f.exit }));
    const finished = run.outputs.map((o) => o.worker);
    writeFileSync(
      join(runDir, 'summary.json'),
      `${JSON.stringify({ workers, finished, failures, seconds: run.seconds, workersAgree: run.workersAgree, lambdas: reports.map((r) => ({ lambda: r.lambda, iterations: r.iterations, clusters: r.clusters, objective: r.objective })) }, null, 2)}\n`,
    );
    const who = failures.length > 0 ? `${finished.length} of ${workers} workers (${failures.map((f) => f.worker).join(', ')} failed)` : `${workers} workers`;
    console.log(`done: ${reports.length} λ values, ${who}${run.workersAgree ? ' (identical results on every worker)' : ' (WORKERS DISAGREE)'} in ${run.seconds.toFixed(0)} s\nrun directory: ${runDir} (events.jsonl, w<k>.json, summary.json)`);
    return run.workersAgree ? 0 : 1;
  } finally {
    await server?.close();
  }
}

/** `--browser-workers K`, validated against the run (undefined: none). */
function browserWorkersFrom(values: Values, config: RunConfig): { count: number; chromium: string } | undefined {
  const text = str(values, 'browser-workers');
  if (text === undefined) return undefined;
  if (config.workers < 2 && config.algo === 'local') throw new UsageError('--browser-workers: a single-worker local run has no workers to put in a browser; give --workers and a distributed --algo');
  if (!/^\d+$/.test(text)) throw new UsageError(`--browser-workers ${text}: give a whole number from 1 to the run's ${config.workers} workers`);
  const count = Number(text);
  return { count, chromium: checkBrowserWorkers(count, config, { nats: str(values, 'nats') }) };
}

/** `train --resume <run>`: the run's own config, from the latest checkpoint all its workers wrote. */
async function resumeRun(runDir: string, values: Values, log: Logger): Promise<number> {
  const configFile = join(runDir, 'config.json');
  if (!existsSync(configFile)) throw new UsageError(`--resume ${runDir}: no config.json there (give the run directory a distributed run wrote)`);
  let config: RunConfig;
  try {
    config = resolveRunConfig(await loadRunConfig(configFile));
    checkRunConfigFiles(config);
  } catch (e) {
    throw new UsageError(`--resume ${runDir}: ${(e as Error).message}`);
  }
  const peerTimeoutMs = str(values, 'peer-timeout') === undefined ? undefined : millisecondsFlag(values, 'peer-timeout');
  const nats = str(values, 'nats');
  const from = await findResumeSource(runDir, config.workers, nats);
  const json = values.json === true;
  if (!json) console.log(`resuming ${runDir} at round ${from.round}${from.kind === 'store' ? ` from the object store (bucket ${from.bucket})` : ''}`);
  // Ctrl-C stops a resumed run as it does a first one: every worker writes a final checkpoint.
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let summary: LaunchSummary;
  try {
    summary = await launchDistributed(config, {
      runDir,
      resumeFrom: from.kind === 'files' ? from.dir : undefined,
      resumeFromStore: from.kind === 'store' ? from.round : undefined,
      checkpointBucket: from.bucket,
      nats,
      adapter: str(values, 'adapter'),
      json,
      quiet: values.quiet === true,
      log,
      peerTimeoutMs,
      signal: abort.signal,
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  writeFileSync(join(runDir, 'summary.json'), `${JSON.stringify({ ...summary, runDir, resumedAt: from.round, resumedFrom: from.kind }, null, 2)}\n`);
  if (!json) console.log(formatRunSummary(summary, runDir));
  return summary.interrupted ? 130 : 0;
}
