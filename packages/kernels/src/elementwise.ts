import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { elementwise as source } from './generated/shaders.js';
import { asSpan, checkSameLength, grid1d, type F32Span } from './span.js';

const unary = [
  ['n', 'u32'],
  ['x_off', 'u32'],
  ['y_off', 'u32'],
  ['alpha', 'f32'],
] as const;
const binary = [
  ['n', 'u32'],
  ['x_off', 'u32'],
  ['y_off', 'u32'],
  ['z_off', 'u32'],
  ['alpha', 'f32'],
  ['beta', 'f32'],
] as const;

export const elementwiseKernels = {
  fill: defineKernel({ name: 'elementwise.fill', source, entryPoint: 'fill', params: unary, storage: ['read_write'] }),
  scale: defineKernel({ name: 'elementwise.scale', source, entryPoint: 'scale', params: unary, storage: ['read_write'] }),
  copyWithin: defineKernel({ name: 'elementwise.copy_within', source, entryPoint: 'copy_within', params: unary, storage: ['read_write'] }),
  scaleCopy: defineKernel({ name: 'elementwise.scale_copy', source, entryPoint: 'scale_copy', params: unary, storage: ['read', 'read_write'] }),
  axpy: defineKernel({ name: 'elementwise.axpy', source, entryPoint: 'axpy', params: unary, storage: ['read', 'read_write'] }),
  axpby: defineKernel({ name: 'elementwise.axpby', source, entryPoint: 'axpby', params: binary, storage: ['read', 'read', 'read_write'] }),
  reluForward: defineKernel({ name: 'elementwise.relu_forward', source, entryPoint: 'relu_forward', params: unary, storage: ['read', 'read_write'] }),
  reluBackward: defineKernel({ name: 'elementwise.relu_backward', source, entryPoint: 'relu_backward', params: unary, storage: ['read', 'read_write'] }),
  geluForward: defineKernel({ name: 'elementwise.gelu_forward', source, entryPoint: 'gelu_forward', params: unary, storage: ['read', 'read_write'] }),
  geluBackward: defineKernel({ name: 'elementwise.gelu_backward', source, entryPoint: 'gelu_backward', params: unary, storage: ['read', 'read_write'] }),
};

type Target = GPUBuffer | F32Span;

/** y ← value */
export function fill(step: StepEncoder, y: Target, value: number): void {
  const s = asSpan(y);
  step.dispatch(elementwiseKernels.fill, { n: s.length, x_off: 0, y_off: s.offset, alpha: value }, [s.buffer], grid1d(s.length));
}

/** y ← alpha · y */
export function scale(step: StepEncoder, y: Target, alpha: number): void {
  const s = asSpan(y);
  step.dispatch(elementwiseKernels.scale, { n: s.length, x_off: 0, y_off: s.offset, alpha }, [s.buffer], grid1d(s.length));
}

/** y ← alpha · x. Within one buffer, the two ranges must not overlap. */
export function copy(step: StepEncoder, x: Target, y: Target, alpha = 1): void {
  const xs = asSpan(x);
  const ys = asSpan(y);
  const n = checkSameLength('copy', xs, ys);
  if (xs.buffer === ys.buffer) {
    if (alpha !== 1) throw new Error('copy: scaling within one buffer is not supported; use copy then scale');
    if (xs.offset < ys.offset + n && ys.offset < xs.offset + n) throw new Error('copy: overlapping ranges in one buffer');
    step.dispatch(elementwiseKernels.copyWithin, { n, x_off: xs.offset, y_off: ys.offset, alpha: 1 }, [xs.buffer], grid1d(n));
    return;
  }
  step.dispatch(elementwiseKernels.scaleCopy, { n, x_off: xs.offset, y_off: ys.offset, alpha }, [xs.buffer, ys.buffer], grid1d(n));
}

/** y ← y + alpha · x (x and y in different buffers) */
export function axpy(step: StepEncoder, alpha: number, x: Target, y: Target): void {
  const xs = asSpan(x);
  const ys = asSpan(y);
  const n = checkSameLength('axpy', xs, ys);
  step.dispatch(elementwiseKernels.axpy, { n, x_off: xs.offset, y_off: ys.offset, alpha }, [xs.buffer, ys.buffer], grid1d(n));
}

/** z ← alpha · x + beta · y (z in a buffer of its own) */
export function axpby(step: StepEncoder, alpha: number, x: Target, beta: number, y: Target, z: Target): void {
  const [xs, ys, zs] = [asSpan(x), asSpan(y), asSpan(z)];
  const n = checkSameLength('axpby', xs, ys, zs);
  step.dispatch(
    elementwiseKernels.axpby,
    { n, x_off: xs.offset, y_off: ys.offset, z_off: zs.offset, alpha, beta },
    [xs.buffer, ys.buffer, zs.buffer],
    grid1d(n),
  );
}

/** z ← x + y */
export function add(step: StepEncoder, x: Target, y: Target, z: Target): void {
  axpby(step, 1, x, 1, y, z);
}

export type Activation = 'relu' | 'gelu';

/** y ← act(x) */
export function activationForward(step: StepEncoder, act: Activation, x: Target, y: Target): void {
  const [xs, ys] = [asSpan(x), asSpan(y)];
  const n = checkSameLength(`${act}Forward`, xs, ys);
  const k = act === 'relu' ? elementwiseKernels.reluForward : elementwiseKernels.geluForward;
  step.dispatch(k, { n, x_off: xs.offset, y_off: ys.offset, alpha: 0 }, [xs.buffer, ys.buffer], grid1d(n));
}

/** grad ← grad ⊙ act'(preActivation), in place */
export function activationBackward(step: StepEncoder, act: Activation, preActivation: Target, grad: Target): void {
  const [xs, gs] = [asSpan(preActivation), asSpan(grad)];
  const n = checkSameLength(`${act}Backward`, xs, gs);
  const k = act === 'relu' ? elementwiseKernels.reluBackward : elementwiseKernels.geluBackward;
  step.dispatch(k, { n, x_off: xs.offset, y_off: gs.offset, alpha: 0 }, [xs.buffer, gs.buffer], grid1d(n));
}
