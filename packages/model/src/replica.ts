// A model replica: one flat parameter buffer, one flat gradient buffer and the optimizer's state
// buffers on one device, plus the graphs that train and evaluate it. A training step is one command
// buffer (batch gather, forward, loss, backward, optimizer) and one submit; it creates no GPU buffer
// and reads nothing back. The loss accumulates on the GPU and is read only when asked for.
import { STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import {
  countCorrectFromLogits,
  describeOptimizer,
  optimizerStep,
  reduceSum,
  softmaxCrossEntropy,
  span,
  type F32Span,
  type Optimizer,
  type OptimizerConfig,
  type OptimizerState,
  type WordSpan,
} from '@gossamer/kernels';
import { assertCompatible, decodeCheckpoint, encodeCheckpoint, CheckpointError, type Checkpoint, type ResumeState } from './checkpoint.js';
import { ModelGraph, type BatchInput } from './graph.js';
import { initialParameters } from './init.js';
import type { ParameterLayout } from './layout.js';
import { modelLayout, type ModelSpec } from './network.js';
import { checkLearningRateSchedule, learningRateFactor, type LearningRateSchedule } from './schedule.js';

export interface ReplicaOptions {
  spec: ModelSpec;
  optimizer: OptimizerConfig;
  /** Training batch size (the graph's activation buffers are sized for it). */
  batchSize: number;
  /** Initialisation seed: the same seed gives bit-identical parameters on every worker. */
  seed: number;
  /** Name used in buffer labels and errors (e.g. the worker id). */
  name?: string;
  /** The optimizer's lr over steps (default constant). */
  lrSchedule?: LearningRateSchedule;
}

/** Something that writes one batch into the step and says where it is (e.g. data's GpuBatcher). */
export interface BatchSource {
  readonly batchFeatures: F32Span;
  readonly batchLabels: WordSpan;
  encode(step: StepEncoder): unknown;
}

/** A held-out set uploaded once: features [n × inputs] and u32 labels. */
export interface EvalSet {
  readonly features: GPUBuffer;
  readonly labels: GPUBuffer;
  readonly numSamples: number;
  readonly numFeatures: number;
  destroy(): void;
}

export function uploadEvalSet(gpu: Gpu, features: Float32Array, labels: Uint32Array, numFeatures: number): EvalSet {
  if (labels.length === 0 || features.length !== labels.length * numFeatures) {
    throw new Error(`uploadEvalSet: ${features.length} features for ${labels.length} samples of ${numFeatures}`);
  }
  const f = gpu.upload(features, 'eval/features');
  const l = gpu.upload(labels, 'eval/labels');
  return {
    features: f,
    labels: l,
    numSamples: labels.length,
    numFeatures,
    destroy: () => {
      f.destroy();
      l.destroy();
    },
  };
}

export interface Evaluation {
  /** Mean cross-entropy over the set. */
  loss: number;
  /** Fraction classified correctly. */
  accuracy: number;
  samples: number;
}

/** Section names of optimizer state in checkpoints. */
const STATE_SECTION = (name: string) => `optimizer.${name}`;

export class Replica {
  readonly layout: ParameterLayout;
  readonly spec: ModelSpec;
  readonly optimizer: Optimizer;
  readonly lrSchedule: LearningRateSchedule;
  readonly batchSize: number;
  /** The flat parameters (layout.length floats). */
  readonly params: GPUBuffer;
  /** The flat gradients of the last step, laid out as params. */
  readonly grads: GPUBuffer;
  readonly state: OptimizerState;
  /** Optimizer steps taken (AdamW's t after the next step is steps + 1). */
  steps = 0;
  private readonly graph: ModelGraph;
  private readonly evalGraphs = new Map<number, ModelGraph>();
  /** [0]: Σ of per-step mean losses since the last takeLoss; [1], [2]: evaluation loss sum, correct count. */
  private readonly scalars: GPUBuffer;
  private readonly rowLoss: GPUBuffer;
  private lossSteps = 0;
  private readonly owned: GPUBuffer[] = [];

  private constructor(
    private readonly gpu: Gpu,
    options: ReplicaOptions,
  ) {
    this.spec = options.spec;
    this.layout = modelLayout(options.spec);
    this.batchSize = options.batchSize;
    this.optimizer = describeOptimizer(options.optimizer, this.layout.length);
    this.lrSchedule = options.lrSchedule ?? { kind: 'constant' };
    checkLearningRateSchedule(this.lrSchedule);
    const name = options.name ?? options.spec.name;
    const own = (b: GPUBuffer) => {
      this.owned.push(b);
      return b;
    };
    this.params = own(gpu.upload(initialParameters(this.layout, options.seed), `${name}/params`));
    this.grads = own(gpu.createBuffer(4 * this.layout.length, STORAGE_USAGE, `${name}/grads`));
    const state: OptimizerState = {};
    for (const s of this.optimizer.state) state[s.name] = own(gpu.createBuffer(4 * s.length, STORAGE_USAGE, `${name}/${s.name}`));
    this.state = state;
    this.graph = new ModelGraph(gpu, options.spec, this.layout, options.batchSize, true);
    this.scalars = own(gpu.createBuffer(4 * 64, STORAGE_USAGE, `${name}/scalars`));
    this.rowLoss = own(gpu.createBuffer(4 * options.batchSize, STORAGE_USAGE, `${name}/row-loss`));
  }

  static create(gpu: Gpu, options: ReplicaOptions): Replica {
    return new Replica(gpu, options);
  }

  get parameterCount(): number {
    return this.layout.parameterCount;
  }

  /** The whole flat parameter buffer as a span (for mixing, clipping, the wire). */
  get paramSpan(): F32Span {
    return span(this.params, 0, this.layout.length);
  }

  /**
   * Encodes one training step on `batch` into `step`: forward, loss (accumulated on the GPU),
   * backward, optimizer. No buffer is created and nothing is read back.
   */
  encodeTrainStep(step: StepEncoder, batch: BatchInput): void {
    this.encodeGradient(step, batch);
    this.encodeOptimizerStep(step);
  }

  /** Encodes forward, loss and backward only: the gradient of `batch` lands in `grads`. */
  encodeGradient(step: StepEncoder, batch: BatchInput): void {
    const g = this.graph;
    g.encodeForward(step, this.params, batch.features);
    softmaxCrossEntropy(this.gpu, step, {
      logits: g.logits,
      labels: batch.labels,
      classes: g.classes,
      grad: g.logitsGradient,
      gradScale: 1 / this.batchSize,
      rowLoss: this.rowLoss,
      meanLoss: span(this.scalars, 0, 1),
      accumulateMeanLoss: true,
    });
    g.encodeBackward(step, this.params, this.grads, batch.features);
    this.lossSteps++;
  }

  /**
   * Compiles every pipeline of a training step by running forward, loss and backward once on a zero
   * batch, and waits for it. Parameters, optimizer state and the step count are left as they were;
   * call it before training (it clears the loss accumulator). Pipeline creation blocks the JavaScript thread on some WebGPU implementations
   * (seconds on a CPU adapter): do it before joining a run, so heartbeats are not starved mid-round.
   */
  async compile(): Promise<void> {
    const features = this.gpu.createBuffer(4 * this.batchSize * this.graph.inputsPerSample, STORAGE_USAGE, 'compile/features');
    const labels = this.gpu.createBuffer(4 * this.batchSize, STORAGE_USAGE, 'compile/labels');
    try {
      const step = this.gpu.beginStep('compile');
      this.encodeGradient(step, { features: span(features), labels: { buffer: labels, offset: 0, length: this.batchSize } });
      step.submit();
      await this.gpu.sync();
      this.lossSteps--;
      this.gpu.write(this.scalars, 0, new Float32Array(1));
    } finally {
      features.destroy();
      labels.destroy();
    }
  }

  /** The learning rate of optimizer step t (1-based), after the schedule. */
  learningRate(t: number): number {
    return this.optimizer.config.lr * learningRateFactor(this.lrSchedule, t);
  }

  /** Encodes one optimizer update of params from grads (t = steps + 1), at the scheduled lr. */
  encodeOptimizerStep(step: StepEncoder): void {
    this.steps++;
    const optimizer = this.lrSchedule.kind === 'constant' ? this.optimizer : { ...this.optimizer, config: { ...this.optimizer.config, lr: this.learningRate(this.steps) } };
    optimizerStep(step, optimizer, this.params, this.grads, this.state, this.steps);
  }

  /** `count` training steps from `source`, one submit each. Resolves once they are submitted. */
  trainSteps(source: BatchSource, count: number): void {
    for (let i = 0; i < count; i++) {
      const step = this.gpu.beginStep('train');
      source.encode(step);
      this.encodeTrainStep(step, { features: source.batchFeatures, labels: source.batchLabels });
      step.submit();
    }
  }

  /**
   * The mean training loss over the steps since the last call (NaN if none), read back now: the only
   * sync point of training, so call it every k steps, not every step.
   */
  async takeLoss(): Promise<number> {
    if (this.lossSteps === 0) return Number.NaN;
    const [sum] = await this.gpu.readF32(this.scalars, 0, 1);
    const mean = sum / this.lossSteps;
    this.lossSteps = 0;
    this.gpu.write(this.scalars, 0, new Float32Array(1));
    return mean;
  }

  private evalGraph(rows: number): ModelGraph {
    let g = this.evalGraphs.get(rows);
    if (!g) {
      g = new ModelGraph(this.gpu, this.spec, this.layout, rows, false);
      this.evalGraphs.set(rows, g);
    }
    return g;
  }

  /**
   * Loss and accuracy on a held-out set with the current parameters (or `params`, a buffer laid out
   * as this replica's, e.g. a merged model), batched on the GPU: chunks of `batch` rows read the set
   * in place, sums accumulate on the GPU, and one readback ends it.
   */
  async evaluate(set: EvalSet, options: { batch?: number; params?: GPUBuffer } = {}): Promise<Evaluation> {
    const g0 = this.graph;
    if (set.numFeatures !== g0.inputsPerSample) throw new Error(`evaluate: the set has ${set.numFeatures} features per sample, the model reads ${g0.inputsPerSample}`);
    const params = options.params ?? this.params;
    if (params.size < this.layout.length * 4) throw new Error(`evaluate: params buffer holds ${params.size / 4} floats, the layout needs ${this.layout.length}`);
    const batch = Math.min(options.batch ?? 500, set.numSamples);
    const step = this.gpu.beginStep('evaluate');
    step.clear(this.scalars, 4, 8);
    for (let start = 0; start < set.numSamples; start += batch) {
      const rows = Math.min(batch, set.numSamples - start);
      const g = this.evalGraph(rows);
      const input = span(set.features, start * set.numFeatures, rows * set.numFeatures);
      const labels = { buffer: set.labels, offset: start, length: rows };
      g.encodeForward(step, params, input);
      const { rowLoss, predictions } = this.evalScratch(batch, rows);
      softmaxCrossEntropy(this.gpu, step, { logits: g.logits, labels, classes: g.classes, rowLoss });
      reduceSum(this.gpu, step, rowLoss, span(this.scalars, 1, 1), { accumulate: true });
      countCorrectFromLogits(this.gpu, step, g.logits, g.classes, labels, span(this.scalars, 2, 1), { accumulate: true, predictions });
    }
    const result = step.readback(this.scalars, 4, 8);
    step.submit();
    const [lossSum, correct] = new Float32Array(await result);
    return { loss: lossSum / set.numSamples, accuracy: correct / set.numSamples, samples: set.numSamples };
  }

  /**
   * The evaluation's per-row losses and predictions: two halves of one buffer the replica keeps, at
   * offsets that stay put, so repeated evaluations reuse their bind groups (pooled scratch would
   * not). Grows when a larger batch is asked for.
   */
  private evalScratchBuffer?: GPUBuffer;
  private evalScratch(batch: number, rows: number): { rowLoss: F32Span; predictions: F32Span } {
    if (!this.evalScratchBuffer || this.evalScratchBuffer.size < 8 * batch) {
      this.evalScratchBuffer?.destroy();
      this.evalScratchBuffer = this.gpu.createBuffer(8 * batch, STORAGE_USAGE, 'eval/scratch');
    }
    const half = this.evalScratchBuffer.size / 8;
    return { rowLoss: span(this.evalScratchBuffer, 0, rows), predictions: span(this.evalScratchBuffer, half, rows) };
  }

  /** A host copy of the flat parameters. */
  async getParameters(): Promise<Float32Array> {
    return this.gpu.readF32(this.params, 0, this.layout.length);
  }

  /** Replaces the parameters (e.g. with a merged model). */
  setParameters(values: Float32Array): void {
    if (values.length !== this.layout.length) throw new Error(`setParameters: got ${values.length} floats, the layout has ${this.layout.length}`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) throw new Error(`setParameters: value ${i} is ${values[i]}; refusing non-finite parameters`);
    }
    this.gpu.write(this.params, 0, values);
  }

  /**
   * Parameters, optimizer state and step count as checkpoint bytes (see checkpoint.ts), with a
   * distributed worker's `extra` sections (an algorithm's state) and resume point.
   */
  async saveCheckpoint(extra: { sections?: readonly { name: string; data: Float32Array }[]; resume?: ResumeState } = {}): Promise<Uint8Array> {
    const sections = [{ name: 'params', data: await this.getParameters() }];
    for (const s of this.optimizer.state) {
      sections.push({ name: STATE_SECTION(s.name), data: await this.gpu.readF32(this.state[s.name] as GPUBuffer, 0, s.length) });
    }
    sections.push(...(extra.sections ?? []));
    const resume = extra.resume ? { resume: extra.resume } : {};
    return encodeCheckpoint({ model: this.spec, layout: this.layout.describe(), optimizer: this.optimizer.config, step: this.steps, ...resume }, sections);
  }

  /**
   * Restores a checkpoint of the same model; throws CheckpointError on a wrong model or corruption.
   * Returns it decoded, for the sections and resume point beyond the replica's own.
   */
  loadCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
    const ckpt = decodeCheckpoint(bytes, source);
    assertCompatible(ckpt.header, this.spec, this.layout.describe(), source);
    const params = ckpt.sections.get('params') as Float32Array;
    const restored: [GPUBuffer, Float32Array][] = [[this.params, params]];
    for (const s of this.optimizer.state) {
      const data = ckpt.sections.get(STATE_SECTION(s.name));
      if (!data) throw new CheckpointError(`${source}: has no ${s.name} state for the ${this.optimizer.config.kind} optimizer (saved with ${JSON.stringify(ckpt.header.optimizer)})`);
      if (data.length !== s.length) throw new CheckpointError(`${source}: ${s.name} has ${data.length} floats, expected ${s.length}`);
      restored.push([this.state[s.name] as GPUBuffer, data]);
    }
    for (const [buffer, data] of restored) this.gpu.write(buffer, 0, data);
    this.steps = ckpt.header.step;
    return ckpt;
  }

  destroy(): void {
    this.graph.destroy();
    for (const g of this.evalGraphs.values()) g.destroy();
    this.evalGraphs.clear();
    this.evalScratchBuffer?.destroy();
    for (const b of this.owned.splice(0)) b.destroy();
  }
}
