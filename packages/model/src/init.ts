import type { Initializer, ParameterLayout } from './layout.js';

/**
 * Deterministic initialisation: the same (seed, layout) gives bit-identical parameters on every
 * worker, machine and GPU, because values are generated on the CPU from integer arithmetic only
 * (no Math.sin/log, whose last bit may differ between engines) and uploaded once.
 *
 * Each tensor draws from its own stream, keyed by the seed and the tensor's name, so adding a tensor
 * does not change the initial values of the others.
 */
export function initialParameters(layout: ParameterLayout, seed: number): Float32Array {
  const flat = new Float32Array(layout.length);
  for (const s of layout.segments) {
    const out = flat.subarray(s.offset, s.offset + s.length);
    fillTensor(out, s.init, streamSeed(seed, s.name));
  }
  return flat;
}

function fillTensor(out: Float32Array, init: Initializer, seed: number): void {
  switch (init.kind) {
    case 'zeros':
      out.fill(0);
      return;
    case 'constant':
      out.fill(init.value);
      return;
    case 'uniform':
      fillUniform(out, init.bound, seed);
      return;
    case 'he-uniform':
      fillUniform(out, Math.sqrt(6 / init.fanIn), seed);
      return;
    case 'glorot-uniform':
      fillUniform(out, Math.sqrt(6 / (init.fanIn + init.fanOut)), seed);
      return;
    case 'normal':
      fillNormal(out, init.std, seed);
      return;
  }
}

function fillUniform(out: Float32Array, bound: number, seed: number): void {
  const next = sfc32(seed);
  for (let i = 0; i < out.length; i++) {
    // 24 random bits → a float32-exact fraction in [0, 1), then scaled to [−bound, bound).
    const u = (next() >>> 8) / 16777216;
    out[i] = (2 * u - 1) * bound;
  }
}

function fillNormal(out: Float32Array, std: number, seed: number): void {
  const next = sfc32(seed);
  for (let i = 0; i < out.length; i++) {
    // 12 draws of 24 bits summed exactly (an integer < 2^28), so the result is the same bits everywhere.
    let sum = 0;
    for (let j = 0; j < 12; j++) sum += next() >>> 8;
    out[i] = (sum / 16777216 - 6) * std;
  }
}

/** FNV-1a of the name mixed with the seed: one independent stream per tensor. */
export function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** sfc32 (Small Fast Counting) PRNG: 32-bit outputs, integer-only, good statistical quality. */
export function sfc32(seed: number): () => number {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
