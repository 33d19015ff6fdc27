// A GPT replica: the flat parameters, gradients and AdamW moments of one GPT on one device, and
// its training graph. A training step is one command buffer and one submit — forward, loss,
// backward, global-norm gradient clipping, AdamW with no weight decay on embeddings, LayerNorm
// parameters and biases — that creates no GPU buffer and reads nothing back.
//
// It is a class of its own rather than a mode of Replica because Replica's batches, evaluation and
// checkpoints are built around a ModelSpec over feature vectors and class labels.
import { STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { adamwStepSelectiveDecay, clipByGlobalNorm, span, validateLabels, type AdamWOptions, type F32Span, type ParamRange } from '@gossamer/kernels';
import { initialParameters } from '../init.js';
import type { ParameterLayout } from '../layout.js';
import { GptGraph, type GptBatch } from './graph.js';
import { gptLayout, gptNoDecayRanges } from './layout.js';
import type { GptConfig } from './spec.js';

export interface GptReplicaOptions {
  config: GptConfig;
  /** AdamW; weightDecay applies to the weight matrices only. */
  optimizer: AdamWOptions;
  /** Sequences per step (each of config.ctx tokens). */
  batchSize: number;
  /** Initialisation seed: the same seed gives bit-identical parameters on every worker. */
  seed: number;
  /** Global L2 norm the gradient is clipped to before AdamW (GPT-2 / nanoGPT: 1). Default 1. */
  clipNorm?: number;
  /** Used in buffer labels. */
  name?: string;
}

export class GptReplica {
  readonly config: GptConfig;
  readonly layout: ParameterLayout;
  readonly batchSize: number;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly expAvg: GPUBuffer;
  readonly expAvgSq: GPUBuffer;
  /** Token ids and next-token targets of the step being encoded, written by setBatch. */
  readonly batch: GptBatch;
  readonly noDecay: readonly ParamRange[];
  readonly clipNorm: number;
  /** AdamW steps taken. */
  steps = 0;
  private readonly graph: GptGraph;
  /** [0]: the gradient norm before clipping of the last step. */
  private readonly scalars: GPUBuffer;
  private lossSteps = 0;
  private readonly owned: GPUBuffer[] = [];

  constructor(
    private readonly gpu: Gpu,
    private readonly options: GptReplicaOptions,
  ) {
    this.config = options.config;
    this.layout = gptLayout(options.config);
    this.batchSize = options.batchSize;
    this.clipNorm = options.clipNorm ?? 1;
    if (!(this.clipNorm > 0)) throw new Error(`GptReplica: clipNorm must be positive, got ${this.clipNorm}`);
    const name = options.name ?? 'gpt';
    const n = this.layout.length;
    const own = (b: GPUBuffer) => {
      this.owned.push(b);
      return b;
    };
    const zeros = (floats: number, what: string) => own(gpu.createBuffer(4 * floats, STORAGE_USAGE, `${name}/${what}`));
    this.params = own(gpu.upload(initialParameters(this.layout, options.seed), `${name}/params`));
    this.grads = zeros(n, 'grads');
    this.expAvg = zeros(n, 'exp-avg');
    this.expAvgSq = zeros(n, 'exp-avg-sq');
    this.scalars = zeros(64, 'scalars');
    const rows = options.batchSize * options.config.ctx;
    const tokens = zeros(2 * rows, 'tokens');
    this.batch = { tokens: span(tokens, 0, rows), targets: span(tokens, rows, rows) };
    this.noDecay = gptNoDecayRanges(this.layout);
    this.graph = new GptGraph(gpu, options.config, this.layout, options.batchSize, true);
  }

  /** The whole flat parameter buffer as a span (for mixing, the wire). */
  get paramSpan(): F32Span {
    return span(this.params, 0, this.layout.length);
  }

  /** Writes one batch (B·T token ids and their next tokens) into the replica's batch buffer. */
  setBatch(tokens: Uint32Array, targets: Uint32Array): void {
    const rows = this.batchSize * this.config.ctx;
    if (tokens.length !== rows || targets.length !== rows) throw new Error(`GptReplica: a batch is ${rows} tokens and targets, got ${tokens.length} and ${targets.length}`);
    validateLabels(tokens, this.config.vocab);
    validateLabels(targets, this.config.vocab);
    const both = new Uint32Array(2 * rows);
    both.set(tokens, 0);
    both.set(targets, rows);
    this.gpu.write(this.batch.tokens.buffer, 0, both);
  }

  /** Encodes forward, loss (summed on the GPU), backward, clipping and AdamW on `batch`. */
  encodeTrainStep(step: StepEncoder, batch: GptBatch = this.batch): void {
    this.graph.encodeForward(step, this.params, batch, { accumulateLoss: true });
    this.graph.encodeBackward(step, this.params, this.grads, batch);
    this.lossSteps++;
    // Padding is zero, so the norm of the whole flat buffer is that of the real gradient.
    const grads = span(this.grads, 0, this.layout.length);
    clipByGlobalNorm(this.gpu, step, grads, this.clipNorm, { norm: span(this.scalars, 0, 1) });
    this.steps++;
    const whole = (b: GPUBuffer) => span(b, 0, this.layout.length);
    adamwStepSelectiveDecay(step, whole(this.params), grads, whole(this.expAvg), whole(this.expAvgSq), this.options.optimizer, this.steps, this.noDecay);
  }

  /** One training step on the batch last given to setBatch: one submit. */
  trainStep(): void {
    const step = this.gpu.beginStep('gpt-train');
    this.encodeTrainStep(step);
    step.submit();
  }

  /** Mean training loss over the steps since the last call (NaN if none): the one readback. */
  async takeLoss(): Promise<number> {
    if (this.lossSteps === 0) return Number.NaN;
    const [sum] = await this.gpu.readF32(this.graph.loss.buffer, 0, 1);
    const mean = sum / this.lossSteps;
    this.lossSteps = 0;
    this.gpu.write(this.graph.loss.buffer, 0, new Float32Array(1));
    return mean;
  }

  /** The gradient's global norm before clipping, of the last step. */
  async lastGradientNorm(): Promise<number> {
    return (await this.gpu.readF32(this.scalars, 0, 1))[0];
  }

  async getParameters(): Promise<Float32Array> {
    return this.gpu.readF32(this.params, 0, this.layout.length);
  }

  destroy(): void {
    this.graph.destroy();
    for (const b of this.owned.splice(0)) b.destroy();
  }
}
