import { mkdirSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { OptimizerConfig } from '@gossamer/kernels';
import { Gpu } from '@gossamer/gpu';
import { loadRunConfig, resolveRunConfig, trainSingleWorker, type DatasetSpec, type RunConfig, type RunEvent } from '@gossamer/worker';
import { UsageError, type Command } from '../command.js';
import { ProgressView } from '../progress.js';

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

function num(values: Values, name: string, integer: boolean): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'}, got "${v}"`);
  return n;
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

const DEFAULT_LR: Record<OptimizerConfig['kind'], number> = { sgd: 0.05, momentum: 0.05, adamw: 1e-3 };

function optimizerFrom(values: Values, base: OptimizerConfig): OptimizerConfig {
  const kind = str(values, 'optimizer') ?? base.kind;
  if (kind !== 'sgd' && kind !== 'momentum' && kind !== 'adamw') throw new UsageError(`--optimizer ${kind}: use sgd, momentum or adamw`);
  // Keep the base's hyper-parameters when the kind is unchanged; flags override them.
  const config: Record<string, unknown> = kind === base.kind ? { ...base } : { kind };
  config.lr = num(values, 'lr', false) ?? config.lr ?? DEFAULT_LR[kind];
  const weightDecay = num(values, 'weight-decay', false);
  if (weightDecay !== undefined) config.weightDecay = weightDecay;
  if (kind === 'momentum') config.momentum = num(values, 'momentum', false) ?? config.momentum ?? 0.9;
  return config as unknown as OptimizerConfig;
}

export async function runConfigFrom(values: Values): Promise<RunConfig> {
  const file = str(values, 'config');
  const base: Partial<RunConfig> = file ? await loadRunConfig(file) : {};
  const merged: Partial<RunConfig> = { ...base };
  const set = <K extends keyof RunConfig>(key: K, v: RunConfig[K] | undefined) => {
    if (v !== undefined) merged[key] = v;
  };
  set('workers', num(values, 'workers', true));
  const dataset = str(values, 'dataset');
  if (dataset) merged.dataset = parseDatasetFlag(dataset);
  set('model', str(values, 'model'));
  set('batchSize', num(values, 'batch', true));
  set('epochs', num(values, 'epochs', true));
  set('seed', num(values, 'seed', true));
  set('logEvery', num(values, 'log-every', true));
  set('evalEvery', num(values, 'eval-every', true));
  const algo = str(values, 'algo');
  if (algo) merged.algo = algo as RunConfig['algo'];
  const base0 = resolveRunConfig({ ...base, algo: 'local', workers: 1 });
  merged.optimizer = optimizerFrom(values, base.optimizer ?? base0.optimizer);
  try {
    return resolveRunConfig(merged);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function defaultRunDir(config: RunConfig): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return join('runs', `${stamp}-${config.algo}-${config.model.replace(/[^a-z0-9]+/gi, '-')}`);
}

export const train: Command = {
  name: 'train',
  summary: 'train a model: one worker locally (more algorithms and workers arrive with the transport)',
  usage: '[--config run.json] [--dataset mnist] [--model mlp:256,256] [--epochs 30] [options]',
  options: {
    config: { type: 'string' },
    algo: { type: 'string' },
    workers: { type: 'string' },
    dataset: { type: 'string' },
    model: { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    'weight-decay': { type: 'string' },
    momentum: { type: 'string' },
    batch: { type: 'string' },
    epochs: { type: 'string' },
    seed: { type: 'string' },
    'log-every': { type: 'string' },
    'eval-every': { type: 'string' },
    out: { type: 'string' },
    adapter: { type: 'string' },
    json: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
  optionHelp: {
    config: 'run config file (JSON, as written to <run>/config.json); flags override it',
    algo: 'training algorithm: local (default)',
    workers: 'number of workers (1)',
    dataset: 'mnist | blobs[:samples,classes,features] | csv:<path>[:<label column>] (default mnist)',
    model: 'softmax | mlp:<widths>[:gelu] (e.g. mlp:256,256) | cnn (default mlp:256,256)',
    optimizer: 'adamw | sgd | momentum (default adamw)',
    lr: 'learning rate (default 1e-3 for adamw, 0.05 for sgd/momentum)',
    'weight-decay': 'decoupled weight decay (adamw) or L2 (sgd)',
    momentum: 'momentum coefficient (momentum optimizer, default 0.9)',
    batch: 'batch size per worker (default 128)',
    epochs: 'passes over the training data (default 30)',
    seed: 'seed of init, split and batch order (default 0)',
    'log-every': 'read the loss back every N steps (default 20)',
    'eval-every': 'evaluate on the test set every N epochs (default 1)',
    out: 'run directory (default runs/<time>-<algo>-<model>)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    json: 'print events as JSON lines on stdout instead of a progress bar',
    quiet: 'print only the final summary',
  },
  async run(values) {
    const config = await runConfigFrom(values);
    const adapter = str(values, 'adapter');
    const runDir = resolve(str(values, 'out') ?? defaultRunDir(config));
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const metricsFile = join(runDir, 'metrics.jsonl');
    writeFileSync(metricsFile, '');
    const json = values.json === true;
    const quiet = values.quiet === true;
    const view = json || quiet ? undefined : new ProgressView();
    const onEvent = (e: RunEvent) => {
      const line = JSON.stringify({ time: new Date().toISOString(), ...e });
      appendFileSync(metricsFile, `${line}\n`);
      if (json) process.stdout.write(`${line}\n`);
      view?.handle(e);
    };
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
          `done: test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, test loss ${result.testLoss.toFixed(4)} after ${result.steps} steps` +
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

