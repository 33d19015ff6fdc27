// The kernels of one forward (and backward) pass of a model at a fixed batch size, with every
// activation buffer allocated once up front, so that encoding a step creates no GPU buffer.
//
// Per layer l, for a batch of B samples (the matmul epilogue fuses bias and activation; the backward
// matmuls fuse the bias-gradient column sums and the previous layer's activation derivative):
//   dense   forward  out_l = act(in_l · W + b)                                  1 dispatch
//           backward dW, db = in_lᵀ · dZ_l, Σ dZ_l                             1 dispatch
//                    dZ_{l−1} = dZ_l · Wᵀ ⊙ act'_{l−1}(pre_{l−1})    (l > 0)    1 dispatch
//   conv2d  forward  col_l = im2col(in_l); out_l = act(col_l · W + b)          2 dispatches
//           backward dW, db = col_lᵀ · dZ_l, Σ dZ_l                            1 dispatch
//                    dcol = dZ_l · Wᵀ; dZ_{l−1} = col2im(dcol) ⊙ act'(pre)       2 dispatches
// plus the fused softmax cross-entropy (loss and dZ of the logits, 2 dispatches).
import { STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { col2im, im2col, matmul, span, type Activation, type ConvGeometry, type F32Span, type WordSpan } from '@gossamer/kernels';
import type { ParameterLayout } from './layout.js';
import { outputsPerSample, resolveModel, type ActivationName, type ModelSpec, type ResolvedLayer } from './network.js';

/** One batch as the graph reads it: features [B × inputs] and one u32 label per sample. */
export interface BatchInput {
  readonly features: F32Span;
  readonly labels: WordSpan;
}

interface LayerBuffers {
  /** The layer's output (after the activation); the logits for the last layer. */
  out: GPUBuffer;
  /** The pre-activation, when the layer has an activation (the backward pass needs it). */
  pre?: GPUBuffer;
  /** dLoss/dZ of the layer's pre-activation (training graphs only). */
  delta?: GPUBuffer;
  /** im2col matrix of a convolution's input. */
  col?: GPUBuffer;
  /** dLoss/dcol (training graphs, convolutions after the first layer). */
  dcol?: GPUBuffer;
}

function activationOf(a: ActivationName): Activation | undefined {
  return a === 'none' ? undefined : a;
}

function geometry(l: Extract<ResolvedLayer, { kind: 'conv2d' }>, batch: number): ConvGeometry {
  return {
    batch,
    height: l.height,
    width: l.width,
    channels: l.channels,
    kernelH: l.kernel,
    kernelW: l.kernel,
    stride: l.stride,
    padding: l.padding,
  };
}

export class ModelGraph {
  readonly layers: readonly ResolvedLayer[];
  readonly classes: number;
  readonly inputsPerSample: number;
  private readonly buffers: LayerBuffers[];
  private readonly owned: GPUBuffer[] = [];

  /**
   * @param training also allocate the backward pass's buffers (deltas, dcol).
   */
  constructor(
    private readonly gpu: Gpu,
    spec: ModelSpec,
    private readonly layout: ParameterLayout,
    readonly batch: number,
    readonly training: boolean,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new Error(`ModelGraph: batch must be a positive integer, got ${batch}`);
    this.layers = resolveModel(spec);
    this.classes = spec.classes;
    const first = this.layers[0];
    this.inputsPerSample = first.kind === 'dense' ? first.inputs : first.height * first.width * first.channels;
    const alloc = (floats: number, name: string) => {
      const b = gpu.createBuffer(4 * floats, STORAGE_USAGE, `${spec.name}/${name}`);
      this.owned.push(b);
      return b;
    };
    this.buffers = this.layers.map((l) => {
      const size = batch * outputsPerSample(l);
      const b: LayerBuffers = { out: alloc(size, `layer${l.index}.out`) };
      if (l.activation !== 'none') b.pre = alloc(size, `layer${l.index}.pre`);
      if (training) b.delta = alloc(size, `layer${l.index}.delta`);
      if (l.kind === 'conv2d') {
        const cols = batch * l.outHeight * l.outWidth * l.kernel * l.kernel * l.channels;
        b.col = alloc(cols, `layer${l.index}.col`);
        if (training && l.index > 0) b.dcol = alloc(cols, `layer${l.index}.dcol`);
      }
      return b;
    });
  }

  /** The logits [B × classes] of the last forward pass. */
  get logits(): F32Span {
    return span(this.buffers[this.buffers.length - 1].out, 0, this.batch * this.classes);
  }

  /** Where the loss's gradient w.r.t. the logits goes (training graphs). */
  get logitsGradient(): F32Span {
    const delta = this.buffers[this.buffers.length - 1].delta;
    if (!delta) throw new Error('ModelGraph: an inference graph has no gradients');
    return span(delta, 0, this.batch * this.classes);
  }

  private param(params: GPUBuffer, name: string): F32Span {
    const s = this.layout.segment(name);
    return span(params, s.offset, s.length);
  }

  private inputOf(index: number, input: F32Span): F32Span {
    if (index === 0) return input;
    const prev = this.layers[index - 1];
    return span(this.buffers[index - 1].out, 0, this.batch * outputsPerSample(prev));
  }

  private checkInput(input: F32Span): void {
    const want = this.batch * this.inputsPerSample;
    if (input.length !== want) {
      throw new Error(`ModelGraph: input needs ${this.batch} × ${this.inputsPerSample} = ${want} floats, got a span of ${input.length}`);
    }
  }

  /** Encodes the forward pass of `input` [B × inputs] with the parameters in `params`. */
  encodeForward(step: StepEncoder, params: GPUBuffer, input: F32Span): void {
    this.checkInput(input);
    for (const l of this.layers) {
      const b = this.buffers[l.index];
      const x = this.inputOf(l.index, input);
      const activation = activationOf(l.activation);
      const epilogue = { bias: this.param(params, l.bias), activation: activation ?? ('none' as const), preActivation: b.pre };
      if (l.kind === 'dense') {
        matmul(step, x, this.param(params, l.weight), b.out, { m: this.batch, n: l.units, k: l.inputs, ...epilogue });
      } else {
        const geo = geometry(l, this.batch);
        const col = b.col as GPUBuffer;
        im2col(step, x, col, geo);
        const rows = this.batch * l.outHeight * l.outWidth;
        matmul(step, col, this.param(params, l.weight), b.out, { m: rows, n: l.filters, k: l.kernel * l.kernel * l.channels, ...epilogue });
      }
    }
  }

  /**
   * Encodes the backward pass after `encodeForward` and after the loss wrote `logitsGradient`: every
   * gradient segment of `grads` is overwritten (never accumulated).
   */
  encodeBackward(step: StepEncoder, params: GPUBuffer, grads: GPUBuffer, input: F32Span): void {
    if (!this.training) throw new Error('ModelGraph: encodeBackward on an inference graph');
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const l = this.layers[i];
      const b = this.buffers[i];
      const delta = b.delta as GPUBuffer;
      const x = this.inputOf(i, input);
      const gradW = this.param(grads, l.weight);
      const gradB = this.param(grads, l.bias);
      const prev = i > 0 ? this.layers[i - 1] : undefined;
      const prevBuffers = i > 0 ? this.buffers[i - 1] : undefined;
      const prevActivation = prev ? activationOf(prev.activation) : undefined;
      const throughPrevious = prevActivation && prevBuffers?.pre ? { activation: prevActivation, preActivation: prevBuffers.pre } : undefined;
      if (l.kind === 'dense') {
        matmul(step, x, delta, gradW, { m: l.inputs, n: l.units, k: this.batch, transposeA: true, columnSums: gradB });
        if (prevBuffers) {
          matmul(step, delta, this.param(params, l.weight), prevBuffers.delta as GPUBuffer, {
            m: this.batch,
            n: l.inputs,
            k: l.units,
            transposeB: true,
            activationGradient: throughPrevious,
          });
        }
      } else {
        const rows = this.batch * l.outHeight * l.outWidth;
        const taps = l.kernel * l.kernel * l.channels;
        matmul(step, b.col as GPUBuffer, delta, gradW, { m: taps, n: l.filters, k: rows, transposeA: true, columnSums: gradB });
        if (prevBuffers) {
          const dcol = b.dcol as GPUBuffer;
          matmul(step, delta, this.param(params, l.weight), dcol, { m: rows, n: taps, k: l.filters, transposeB: true });
          col2im(step, dcol, prevBuffers.delta as GPUBuffer, geometry(l, this.batch), { activationGradient: throughPrevious });
        }
      }
    }
  }

  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }
}
