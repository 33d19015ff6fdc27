import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import type { Activation } from './elementwise.js';
import { conv as source } from './generated/shaders.js';
import { asSpan, grid1d, type F32Span } from './span.js';

// Params of shaders/conv.wgsl, in struct order.
const convParams = [
  ['batch', 'u32'],
  ['height', 'u32'],
  ['width', 'u32'],
  ['channels', 'u32'],
  ['kernel_h', 'u32'],
  ['kernel_w', 'u32'],
  ['stride', 'u32'],
  ['padding', 'u32'],
  ['out_h', 'u32'],
  ['out_w', 'u32'],
  ['in_off', 'u32'],
  ['out_off', 'u32'],
  ['pre_off', 'u32'],
] as const;

export const convKernels = {
  im2col: defineKernel({ name: 'conv.im2col', source, entryPoint: 'im2col', params: convParams, storage: ['read', 'read_write'] }),
  col2im: defineKernel({ name: 'conv.col2im', source, entryPoint: 'col2im', params: convParams, storage: ['read', 'read', 'read_write'] }),
};

type Target = GPUBuffer | F32Span;

/** Geometry of a 2-D convolution over NHWC images (square stride and padding). */
export interface ConvGeometry {
  batch: number;
  height: number;
  width: number;
  channels: number;
  kernelH: number;
  kernelW: number;
  stride: number;
  padding: number;
}

/** Output height and width: ⌊(H + 2P − K) / S⌋ + 1. */
export function convOutputSize(g: ConvGeometry): { outH: number; outW: number } {
  for (const [name, v] of Object.entries(g)) {
    if (!Number.isInteger(v) || v < (name === 'padding' ? 0 : 1)) throw new Error(`conv: ${name} must be a ${name === 'padding' ? 'non-negative' : 'positive'} integer, got ${v}`);
  }
  const outH = Math.floor((g.height + 2 * g.padding - g.kernelH) / g.stride) + 1;
  const outW = Math.floor((g.width + 2 * g.padding - g.kernelW) / g.stride) + 1;
  if (outH < 1 || outW < 1) {
    throw new Error(`conv: a ${g.kernelH}×${g.kernelW} kernel does not fit a ${g.height}×${g.width} image with padding ${g.padding}`);
  }
  return { outH, outW };
}

/** Floats of the im2col matrix: (B·OH·OW) × (KH·KW·C). */
export function im2colLength(g: ConvGeometry): number {
  const { outH, outW } = convOutputSize(g);
  return g.batch * outH * outW * g.kernelH * g.kernelW * g.channels;
}

function params(g: ConvGeometry, inOff: number, outOff: number, preOff: number) {
  const { outH, outW } = convOutputSize(g);
  return {
    batch: g.batch,
    height: g.height,
    width: g.width,
    channels: g.channels,
    kernel_h: g.kernelH,
    kernel_w: g.kernelW,
    stride: g.stride,
    padding: g.padding,
    out_h: outH,
    out_w: outW,
    in_off: inOff,
    out_off: outOff,
    pre_off: preOff,
  };
}

function expectLength(op: string, what: string, s: F32Span, want: number): void {
  if (s.length !== want) throw new Error(`${op}: ${what} needs ${want} floats, got a span of ${s.length}`);
}

/** col ← im2col(images), images NHWC [B × H × W × C]; one dispatch. */
export function im2col(step: StepEncoder, images: Target, col: Target, geometry: ConvGeometry): void {
  const [x, out] = [asSpan(images), asSpan(col)];
  expectLength('im2col', 'images', x, geometry.batch * geometry.height * geometry.width * geometry.channels);
  const n = im2colLength(geometry);
  expectLength('im2col', 'col', out, n);
  if (x.buffer === out.buffer) throw new Error('im2col: images and col must be in different buffers');
  step.dispatch(convKernels.im2col, params(geometry, x.offset, out.offset, 0), [x.buffer, out.buffer], grid1d(n));
}

export interface Col2imOptions {
  /**
   * Multiply by act'(preActivation) (laid out as the images): the gradient through the activation
   * of the layer that produced the convolution's input, fused into the same dispatch.
   */
  activationGradient?: { activation: Activation; preActivation: Target };
}

const ACTIVATION_CODE: Record<Activation, number> = { relu: 1, gelu: 2 };

/** dImages ← col2im(dcol) (the adjoint of im2col), optionally ⊙ act'(pre); one dispatch. */
export function col2im(step: StepEncoder, dcol: Target, dImages: Target, geometry: ConvGeometry, options: Col2imOptions = {}): void {
  const [src, out] = [asSpan(dcol), asSpan(dImages)];
  const n = geometry.batch * geometry.height * geometry.width * geometry.channels;
  expectLength('col2im', 'dcol', src, im2colLength(geometry));
  expectLength('col2im', 'dImages', out, n);
  const grad = options.activationGradient;
  const pre = grad ? asSpan(grad.preActivation) : undefined;
  if (pre) expectLength('col2im', 'activationGradient.preActivation', pre, n);
  for (const input of [src, pre]) {
    if (input && input.buffer === out.buffer) throw new Error('col2im: dImages must be in a different buffer than its inputs');
  }
  const code = grad ? ACTIVATION_CODE[grad.activation] : 0;
  if (code === undefined) throw new Error(`col2im: unknown activation ${String(grad?.activation)}`);
  step.dispatch(
    convKernels.col2im,
    params(geometry, src.offset, out.offset, pre?.offset ?? 0),
    // Without an activation the pre binding is never read; bind dcol there.
    [src.buffer, pre?.buffer ?? src.buffer, out.buffer],
    grid1d(n),
    { ACTIVATION: code },
  );
}
