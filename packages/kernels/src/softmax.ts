// Row softmax and fused softmax + cross-entropy (loss per row, mean loss on the GPU, and the gradient
// with respect to the logits in the same pass). See shaders/softmax.wgsl for the numerics.
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { softmax as source } from './generated/shaders.js';
import {
  acquireScratch,
  encodeScalarReduce,
  outputSpan,
  overlaps,
  rowsOf,
  rowWorkgroupSize,
  scalarSpan,
  writeVia,
  type IndexTarget,
  type ScalarTarget,
  type Target,
} from './reduce-encode.js';
import { asSpan, grid1d, type F32Span } from './span.js';

const rowParams = [
  ['rows', 'u32'],
  ['cols', 'u32'],
  ['z_off', 'u32'],
  ['label_off', 'u32'],
  ['loss_off', 'u32'],
  ['out_off', 'u32'],
  ['grad_scale', 'f32'],
] as const;

export const softmaxKernels = {
  xentLoss: defineKernel({ name: 'softmax.xent_loss', source, entryPoint: 'xent_loss', params: rowParams, storage: ['read', 'read', 'read_write'] }),
  xentLossGrad: defineKernel({
    name: 'softmax.xent_loss_grad',
    source,
    entryPoint: 'xent_loss_grad',
    params: rowParams,
    storage: ['read', 'read', 'read_write', 'read_write'],
  }),
  xentLossGradShared: defineKernel({
    name: 'softmax.xent_loss_grad_shared',
    source,
    entryPoint: 'xent_loss_grad_shared',
    params: rowParams,
    storage: ['read_write', 'read', 'read_write'],
  }),
  softmaxRows: defineKernel({ name: 'softmax.softmax_rows', source, entryPoint: 'softmax_rows', params: rowParams, storage: ['read', 'read_write'] }),
  softmaxRowsShared: defineKernel({
    name: 'softmax.softmax_rows_shared',
    source,
    entryPoint: 'softmax_rows_shared',
    params: rowParams,
    storage: ['read_write'],
  }),
};

/**
 * Throws a RangeError naming the first label that is not an integer in [0, classes). Labels on the
 * GPU cannot be checked without a readback; the kernels give such rows a NaN loss and a NaN gradient.
 */
export function validateLabels(labels: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`label ${i} is ${v}: labels must be integers in [0, ${classes})`);
    }
  }
}

/** Uploads class labels as u32 after checking them against `classes`. */
export function uploadLabels(gpu: Gpu, labels: ArrayLike<number>, classes: number, label = 'labels'): GPUBuffer {
  validateLabels(labels, classes);
  return gpu.upload(Uint32Array.from(labels), label);
}

export interface SoftmaxCrossEntropyArgs {
  /** [rows × classes] logits, row-major (rows = logits.length / classes). */
  logits: Target;
  /** One u32 class per row. A label ≥ classes yields NaN loss and NaN gradient for its row. */
  labels: IndexTarget;
  classes: number;
  /**
   * dlogits ← (softmax(z) − onehot(label)) · gradScale. May be the logits span itself (in place) or
   * any range of another buffer; omit it for evaluation (loss only).
   */
  grad?: Target;
  /** Default 1/rows: the gradient of the mean loss. */
  gradScale?: number;
  /** Per-row loss, logsumexp(z) − z[label]. */
  rowLoss?: Target;
  /** One element receiving the mean loss over the rows. */
  meanLoss?: ScalarTarget;
  /** Add the mean loss to meanLoss's current value (read it back every k steps, divide by k). */
  accumulateMeanLoss?: boolean;
}

/**
 * Fused softmax + cross-entropy: one workgroup per row computes the stable row statistics, the loss
 * and (optionally) the gradient in one dispatch; a second one-workgroup dispatch folds the per-row
 * losses into meanLoss. Nothing is read back.
 */
export function softmaxCrossEntropy(gpu: Gpu, step: StepEncoder, args: SoftmaxCrossEntropyArgs): void {
  const op = 'softmaxCrossEntropy';
  const z = asSpan(args.logits);
  const cols = args.classes;
  const rows = rowsOf(op, z, cols);
  if (rows === 0) throw new Error(`${op}: empty batch`);
  const labels = outputSpan(op, 'labels', args.labels, rows);
  const grad = args.grad === undefined ? undefined : outputSpan(op, 'grad', args.grad, rows * cols);
  if (grad) {
    if (grad.buffer === labels.buffer) throw new Error(`${op}: grad must not share a buffer with labels`);
    if (overlaps(grad, z) && grad.offset !== z.offset) throw new Error(`${op}: grad overlaps logits without being the same range`);
  }
  const bound = grad ? [z.buffer, labels.buffer, grad.buffer] : [z.buffer, labels.buffer];
  const gradScale = args.gradScale ?? 1 / rows;
  const workgroups = grid1d(rows, 1);
  const constants = { WG: rowWorkgroupSize(cols) };

  const encodeRows = (loss: F32Span) => {
    const params = {
      rows,
      cols,
      z_off: z.offset,
      label_off: labels.offset,
      loss_off: loss.offset,
      out_off: grad?.offset ?? 0,
      grad_scale: gradScale,
    };
    const k = softmaxKernels;
    if (!grad) step.dispatch(k.xentLoss, params, [z.buffer, labels.buffer, loss.buffer], workgroups, constants);
    else if (grad.buffer === z.buffer) step.dispatch(k.xentLossGradShared, params, [z.buffer, labels.buffer, loss.buffer], workgroups, constants);
    else step.dispatch(k.xentLossGrad, params, [z.buffer, labels.buffer, loss.buffer, grad.buffer], workgroups, constants);
  };

  let scratch: GPUBuffer | undefined;
  let rowLoss: F32Span;
  if (args.rowLoss !== undefined) {
    rowLoss = outputSpan(op, 'rowLoss', args.rowLoss, rows);
    writeVia(gpu, step, rowLoss, bound, encodeRows);
  } else {
    scratch = acquireScratch(gpu, rows, 'scratch:row-loss');
    rowLoss = { buffer: scratch, offset: 0, length: rows };
    encodeRows(rowLoss);
  }
  if (args.meanLoss !== undefined) {
    encodeScalarReduce(gpu, step, 'sum', [{ x: rowLoss }], scalarSpan(op, 'meanLoss', args.meanLoss), {
      scale: 1 / rows,
      accumulate: args.accumulateMeanLoss,
    });
  }
  if (scratch) gpu.pool.release(scratch);
}

/**
 * probs ← softmax of each row of a [rows × classes] matrix (evaluation). `probs` may be the logits
 * span itself (in place) or any range of another buffer.
 */
export function softmaxRows(step: StepEncoder, logits: Target, classes: number, probs: Target): void {
  const op = 'softmaxRows';
  const z = asSpan(logits);
  const rows = rowsOf(op, z, classes);
  const out = outputSpan(op, 'probs', probs, z.length);
  if (overlaps(out, z) && out.offset !== z.offset) throw new Error(`${op}: probs overlaps logits without being the same range`);
  const params = { rows, cols: classes, z_off: z.offset, label_off: 0, loss_off: 0, out_off: out.offset, grad_scale: 1 };
  const constants = { WG: rowWorkgroupSize(classes) };
  if (out.buffer === z.buffer) step.dispatch(softmaxKernels.softmaxRowsShared, params, [z.buffer], grid1d(rows, 1), constants);
  else step.dispatch(softmaxKernels.softmaxRows, params, [z.buffer, out.buffer], grid1d(rows, 1), constants);
}
