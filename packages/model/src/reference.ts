// Float64 CPU reference of a model's forward pass and loss, built from the kernels' float64
// references. Tests compare the GPU's gradients with central finite differences of this loss.
import { reference } from '@gossamer/kernels';
import type { ParameterLayout } from './layout.js';
import { outputsPerSample, resolveModel, type ModelSpec } from './network.js';

type Vec = ArrayLike<number>;

function tensor(layout: ParameterLayout, params: Vec, name: string): Float64Array {
  const s = layout.segment(name);
  return Float64Array.from({ length: s.length }, (_, i) => params[s.offset + i]);
}

/** Logits [batch × classes] of `input` [batch × inputs] under flat `params`. */
export function forward(spec: ModelSpec, layout: ParameterLayout, params: Vec, input: Vec, batch: number): Float64Array {
  let x: Vec = input;
  for (const l of resolveModel(spec)) {
    const weight = tensor(layout, params, l.weight);
    const bias = tensor(layout, params, l.bias);
    if (l.kind === 'dense') {
      x = reference.matmul.matmul(x, weight, { m: batch, n: l.units, k: l.inputs, bias, activation: l.activation }).c;
    } else {
      const geo = { batch, height: l.height, width: l.width, channels: l.channels, kernelH: l.kernel, kernelW: l.kernel, stride: l.stride, padding: l.padding };
      const col = reference.conv.im2col(x, geo);
      const rows = batch * l.outHeight * l.outWidth;
      x = reference.matmul.matmul(col, weight, { m: rows, n: l.filters, k: l.kernel * l.kernel * l.channels, bias, activation: l.activation }).c;
    }
    if (x.length !== batch * outputsPerSample(l)) throw new Error('reference.forward: shape bug');
  }
  return Float64Array.from(x);
}

/** Mean softmax cross-entropy of the model on (input, labels). */
export function meanLoss(spec: ModelSpec, layout: ParameterLayout, params: Vec, input: Vec, labels: Vec, batch: number): number {
  const logits = forward(spec, layout, params, input, batch);
  const classes = spec.classes;
  let total = 0;
  for (let r = 0; r < batch; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const max = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
    total += lse - row[labels[r]];
  }
  return total / batch;
}

/** Central finite differences of meanLoss w.r.t. the parameters at `indices` (float64 throughout). */
export function finiteDifferenceGradient(
  spec: ModelSpec,
  layout: ParameterLayout,
  params: Vec,
  input: Vec,
  labels: Vec,
  batch: number,
  indices: readonly number[],
  h = 1e-6,
): Float64Array {
  return centralDifferences((p) => meanLoss(spec, layout, p, input, labels, batch), params, indices, h);
}

/** (f(x + h·e_i) − f(x − h·e_i)) / 2h for each i of `indices`, in float64 (the gradient checks of every model). */
export function centralDifferences(f: (x: Float64Array) => number, params: ArrayLike<number>, indices: readonly number[], h: number): Float64Array {
  const x = Float64Array.from(params);
  return Float64Array.from(indices, (i) => {
    const saved = x[i];
    x[i] = saved + h;
    const up = f(x);
    x[i] = saved - h;
    const down = f(x);
    x[i] = saved;
    return (up - down) / (2 * h);
  });
}
