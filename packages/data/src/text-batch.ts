/**
 * Batches of random windows for next-token training. A batch is B window starts in a worker's token
 * array; window b covers tokens [o_b, o_b + T], its input is the first T and its target the last T
 * (input shifted by one). The starts are a pure function of (seed, step), so any step can be
 * recreated on its own, and they are exposed: a GPU kernel can gather the windows from a token buffer
 * uploaded once, with `gatherWindows` as its CPU reference.
 */

import { Random, deriveSeed } from './random.js';

export interface WindowSamplerOptions {
  /** Windows per batch (B). */
  batchSize: number;
  /** Tokens per window input (T); each window reads T + 1 tokens. */
  contextLength: number;
  /** Base seed; batch `step` uses the stream deriveSeed(seed, 'windows', step). */
  seed: number;
}

export interface WindowBatch {
  readonly step: number;
  /** [B] window starts, each in [0, L − T − 1]. */
  readonly offsets: Uint32Array;
  /** [B·T] row-major: inputs[b·T + t] = tokens[o_b + t]. */
  readonly inputs: Uint32Array;
  /** [B·T]: targets[b·T + t] = tokens[o_b + t + 1]. */
  readonly targets: Uint32Array;
}

export class WindowSampler {
  readonly batchSize: number;
  readonly contextLength: number;
  readonly seed: number;
  /** Window starts are uniform on [0, maxOffset]. */
  readonly maxOffset: number;

  constructor(
    readonly tokens: Uint32Array,
    options: WindowSamplerOptions,
  ) {
    const { batchSize: B, contextLength: T, seed } = options;
    if (!Number.isInteger(B) || B < 1) throw new Error(`WindowSampler: batchSize must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new Error(`WindowSampler: contextLength must be a positive integer, got ${T}`);
    if (!Number.isFinite(seed)) throw new Error(`WindowSampler: seed must be finite, got ${seed}`);
    if (tokens.length < T + 1) {
      throw new Error(`WindowSampler: a window of ${T} + 1 tokens is longer than the shard (${tokens.length} tokens); use a shorter context or fewer workers`);
    }
    this.batchSize = B;
    this.contextLength = T;
    this.seed = seed;
    this.maxOffset = tokens.length - T - 1;
  }

  /** The B window starts of batch `step` (independent, uniform, with replacement). */
  offsets(step: number): Uint32Array {
    if (!Number.isInteger(step) || step < 0) throw new Error(`WindowSampler.offsets: step must be a non-negative integer, got ${step}`);
    const random = new Random(deriveSeed(this.seed, 'windows', step));
    const out = new Uint32Array(this.batchSize);
    for (let b = 0; b < out.length; b++) out[b] = random.int(this.maxOffset + 1);
    return out;
  }

  batch(step: number): WindowBatch {
    const offsets = this.offsets(step);
    const { inputs, targets } = gatherWindows(this.tokens, offsets, this.contextLength);
    return { step, offsets, inputs, targets };
  }
}

/** CPU reference of the GPU gather: inputs and targets [B·T] of the windows at `offsets`. */
export function gatherWindows(tokens: Uint32Array, offsets: ArrayLike<number>, contextLength: number): { inputs: Uint32Array; targets: Uint32Array } {
  const T = contextLength;
  const inputs = new Uint32Array(offsets.length * T);
  const targets = new Uint32Array(offsets.length * T);
  for (let b = 0; b < offsets.length; b++) {
    const o = offsets[b];
    if (!(Number.isInteger(o) && o >= 0 && o + T + 1 <= tokens.length)) {
      throw new Error(`gatherWindows: window ${b} at offset ${o} needs tokens up to ${o + T}, but there are ${tokens.length}`);
    }
    inputs.set(tokens.subarray(o, o + T), b * T);
    targets.set(tokens.subarray(o + 1, o + T + 1), b * T);
  }
  return { inputs, targets };
}
