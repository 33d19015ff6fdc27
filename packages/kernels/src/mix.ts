// Gossip mixing (shaders/mix.wgsl): x ← w_self·x + Σ_k w_k·r_k over K received vectors, one dispatch.
import { defineKernel, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { mix as source } from './generated/shaders.js';
import { asSpan, grid1d, type F32Span } from './span.js';

type Target = GPUBuffer | F32Span;

const mixParams = [
  ['n', 'u32'],
  ['k', 'u32'],
  ['x_off', 'u32'],
  ['out_off', 'u32'],
  ['r_off', 'u32'],
  ['r_stride', 'u32'],
  ['w_off', 'u32'],
] as const;

export const mixKernels = {
  inPlace: defineKernel({ name: 'mix.mix_in_place', source, entryPoint: 'mix_in_place', params: mixParams, storage: ['read_write', 'read', 'read'] }),
  into: defineKernel({ name: 'mix.mix_into', source, entryPoint: 'mix_into', params: mixParams, storage: ['read', 'read', 'read', 'read_write'] }),
  pushSumDebias: defineKernel({
    name: 'mix.push_sum_debias',
    source,
    entryPoint: 'push_sum_debias',
    params: [
      ['n', 'u32'],
      ['s_off', 'u32'],
      ['out_off', 'u32'],
    ],
    storage: ['read', 'read_write'],
  }),
};

export interface MixNeighboursArgs {
  /** The local vector (n floats); updated in place unless `out` is given. */
  x: Target;
  /**
   * The received vectors stacked as they arrived: vector k (0-based) is the n floats at
   * `received.offset + k·stride`. The span may be longer than needed (a staging buffer sized for the
   * largest degree).
   */
  received: Target;
  /** How many received vectors to mix (K ≥ 0). */
  count: number;
  /** Elements between consecutive received vectors; default n. */
  stride?: number;
  /**
   * K + 1 mixing weights [w_self, w_1, ..., w_K] (float32). Written with `gpu.write` before the
   * step's submit; since all writes land before the submit, two dispatches of one step that need
   * different weights need different weight spans.
   */
  weights: Target;
  /** Where the mixed vector goes (n floats, a buffer other than x's); default: x in place. */
  out?: Target;
}

/**
 * x ← w_self·x + Σ_k w_k·r_k (D-PSGD / gossip averaging), in one dispatch, summed in index order k.
 *
 * Push-sum (SGP) uses the same call: keep its state as an (n + 1)-vector [x_0 .. x_{n−1}, w] (see
 * pushSumLength), receive messages in the same layout, and the push-sum weight is mixed with the
 * same coefficients as x; pushSumDebias then gives z = x / w.
 */
export function mixNeighbours(step: StepEncoder, args: MixNeighboursArgs): void {
  const xs = asSpan(args.x);
  const rs = asSpan(args.received);
  const ws = asSpan(args.weights);
  const n = xs.length;
  const k = args.count;
  const stride = args.stride ?? n;
  if (!Number.isInteger(k) || k < 0) throw new Error(`mixNeighbours: bad count ${k}`);
  if (!Number.isInteger(stride) || stride < n) throw new Error(`mixNeighbours: stride ${stride} must be an integer ≥ n = ${n}`);
  const needed = k === 0 ? 0 : (k - 1) * stride + n;
  if (rs.length < needed) throw new Error(`mixNeighbours: received span holds ${rs.length} floats, ${k} vectors need ${needed}`);
  if (ws.length < k + 1) throw new Error(`mixNeighbours: ${ws.length} weights for ${k} received vectors (need K + 1)`);
  const params = { n, k, x_off: xs.offset, out_off: 0, r_off: rs.offset, r_stride: stride, w_off: ws.offset };
  if (args.out === undefined) {
    checkWritableUnaliased('mixNeighbours', [xs], [rs, ws]);
    step.dispatch(mixKernels.inPlace, params, [xs.buffer, rs.buffer, ws.buffer], grid1d(n));
    return;
  }
  const os = asSpan(args.out);
  if (os.length !== n) throw new Error(`mixNeighbours: out has ${os.length} floats, x has ${n}`);
  checkWritableUnaliased('mixNeighbours', [os], [xs, rs, ws]);
  step.dispatch(mixKernels.into, { ...params, out_off: os.offset }, [xs.buffer, rs.buffer, ws.buffer, os.buffer], grid1d(n));
}

/** Weights in the layout mixNeighbours reads: [w_self, w_1, ..., w_K]. */
export function mixingWeights(selfWeight: number, neighbourWeights: ArrayLike<number>): Float32Array {
  const w = new Float32Array(neighbourWeights.length + 1);
  w[0] = selfWeight;
  w.set(Array.from(neighbourWeights), 1);
  return w;
}

/** Floats of a push-sum state (and message) for n values: [x_0 .. x_{n−1}, w]. */
export function pushSumLength(n: number): number {
  return n + 1;
}

/** z ← x / w for a push-sum state [x, w] (n + 1 floats) into `out` (n floats, another buffer). */
export function pushSumDebias(step: StepEncoder, state: Target, out: Target): void {
  const ss = asSpan(state);
  const os = asSpan(out);
  const n = ss.length - 1;
  if (n < 0 || os.length !== n) throw new Error(`pushSumDebias: state of ${ss.length} floats needs out of ${n}, got ${os.length}`);
  checkWritableUnaliased('pushSumDebias', [os], [ss]);
  step.dispatch(mixKernels.pushSumDebias, { n, s_off: ss.offset, out_off: os.offset }, [ss.buffer, os.buffer], grid1d(n));
}
