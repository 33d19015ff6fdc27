// Byzantine-robust mixing rules (shaders/robust.wgsl): the aggregation a worker applies to its own
// vector x_0 and the K vectors x_1..x_K it received, in place of plain gossip averaging (mix.ts).
import { defineKernel, STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { checkWritableUnaliased } from './binding-rules.js';
import { robust as source } from './generated/shaders.js';
import { asSpan, grid1d, type F32Span } from './span.js';

type Target = GPUBuffer | F32Span;

/** Elements per workgroup of the distance kernel's first stage (WG · ITEMS in robust.wgsl). */
export const DIST_BLOCK = 4096;
/** Most vectors (K + 1) the distance rules (NNA, geometric median, clipping) take: one workgroup. */
export const MAX_DISTANCE_INPUTS = 256;
/** Most vectors (K + 1) the coordinate-wise rules sort per element (a private array in robust.wgsl). */
export const MAX_SORTED_INPUTS = 32;
const MAX_BLOCKS = 65535;

/**
 * The rules. n = K + 1 counts the own vector; f is the number of Byzantine neighbours tolerated.
 *
 * - `nna` — nearest-neighbour averaging of MoNNA ("Robust Collaborative Learning with Linear Gradient
 *   Overhead", Farhadkhani et al. 2023): the average of the n − f vectors nearest to x_0 in L2,
 *   x_0 included (its distance is 0), ties broken by the lower index:
 *   out = (1/(n − f)) Σ_{j ∈ S} x_j, S = the n − f smallest (‖x_j − x_0‖², j). Needs 0 ≤ f ≤ K.
 * - `trimmed-mean` — per coordinate i, sort x_0[i]..x_K[i], drop the f smallest and f largest, and
 *   average the n − 2f left (summed in sorted order). Needs 2f ≤ K.
 * - `median` — per coordinate, the middle sorted value (n odd) or the mean of the two middle ones.
 * - `geomed` — geometric median argmin_z Σ_j ‖z − x_j‖ by smoothed Weiszfeld (as in RFA, Pillutla,
 *   Kakade & Harchaoui): z_0 = the coordinate-wise median (`start: 'median'`, the default when
 *   K + 1 ≤ 32), NNA with f = ⌊K/2⌋ (`'nna'`, the default above 32) or x_0 (`'own'`), then
 *   `iterations` times
 *   β_j = 1 / max(ν, ‖x_j − z_t‖),  z_{t+1} = Σ_j β_j x_j / Σ_j β_j.
 *   Why not start at x_0: at a data point β_0 = 1/ν dwarfs the rest, the iterate leaves x_0 only
 *   geometrically slowly, and ‖z_t − x_0‖ (a difference of nearly equal floats) is ill-conditioned.
 * - `clip` — self-centred clipping of ClippedGossip (He, Karimireddy & Jaggi 2022, "Byzantine-robust
 *   decentralized learning via ClippedGossip"): out = x_0 + Σ_{j≥1} w_j · clip_τ(x_j − x_0) with
 *   clip_τ(v) = v · min(1, τ/‖v‖). w_j are the mixing weights in mix.ts's layout [w_self, w_1..w_K];
 *   w_self is not read (it is implied: 1 − Σ w_j). τ = Infinity is plain gossip averaging.
 *
 * NaN and ±Inf (the own vector x_0 is trusted to be finite):
 * - nna: a vector with a non-finite squared distance (NaN, Inf, or overflow past 3.4e38) ranks after
 *   every finite one, so it is averaged only if more than f vectors are bad.
 * - trimmed-mean / median: NaN sorts above +∞ (−NaN too); ±∞ sort at the ends. With at most f bad
 *   values per coordinate (for the median: fewer than half) only honest values are kept.
 * - geomed: a vector whose distance to the iterate is not finite gets β_j = 0 (dropped that
 *   iteration); if every β_j is 0 the output is x_0.
 * - clip: a neighbour whose difference has a non-finite norm (NaN, Inf, or ‖v‖² overflowing float32)
 *   is dropped, the τ/‖v‖ → 0 limit; its true clipped contribution would have been at most w_j·τ.
 */
export type RobustRule =
  | { readonly kind: 'nna'; readonly f: number }
  | { readonly kind: 'trimmed-mean'; readonly f: number }
  | { readonly kind: 'median' }
  | { readonly kind: 'geomed'; readonly iterations?: number; readonly nu?: number; readonly start?: GeomedStart }
  | { readonly kind: 'clip'; readonly tau: number };

export interface RobustMixArgs {
  /** The own vector x_0 (P floats). */
  x: Target;
  /** The received vectors stacked as in mixNeighbours: x_j (j ≥ 1) at received.offset + (j − 1)·stride. */
  received: Target;
  /** K ≥ 1, the number of received vectors. */
  count: number;
  /** Elements between consecutive received vectors; default P. */
  stride?: number;
  /** The result (P floats), in a buffer of its own (not x's, received's, weights' or scratch's). */
  out: Target;
  /** `clip` only: [w_self, w_1..w_K] as for mixNeighbours. */
  weights?: Target;
  /**
   * Working space, robustScratchLength(P, K) floats in a buffer of its own: after the step it holds
   * the K + 1 coefficients applied, then the K + 1 squared distances (of the last Weiszfeld
   * iteration). Default: pooled scratch (no allocation once the pool is warm).
   */
  scratch?: F32Span;
}

/** Default Weiszfeld iterations and smoothing. */
export const GEOMED_DEFAULTS = { iterations: 8, nu: 1e-6 } as const;

const distParams = [
  ['n', 'u32'], ['k', 'u32'], ['c_off', 'u32'], ['x_off', 'u32'],
  ['r_off', 'u32'], ['r_stride', 'u32'], ['p_off', 'u32'], ['nb', 'u32'],
] as const;
const finParams = [
  ['k', 'u32'], ['nb', 'u32'], ['s_off', 'u32'], ['w_off', 'u32'], ['rule', 'u32'],
  ['keep', 'u32'], ['inv_keep', 'f32'], ['nu', 'f32'], ['tau', 'f32'], ['tau_inf', 'u32'],
] as const;
const combParams = [
  ['n', 'u32'], ['k', 'u32'], ['x_off', 'u32'], ['r_off', 'u32'],
  ['r_stride', 'u32'], ['coef_off', 'u32'], ['out_off', 'u32'], ['centred', 'u32'],
] as const;
const sortedParams = [
  ['n', 'u32'], ['k', 'u32'], ['x_off', 'u32'], ['r_off', 'u32'],
  ['r_stride', 'u32'], ['out_off', 'u32'], ['lo', 'u32'], ['hi', 'u32'], ['inv_count', 'f32'],
] as const;

export const robustKernels = {
  distPartial: defineKernel({ name: 'robust.dist_partial', source, entryPoint: 'robust_dist_partial', params: distParams, storage: ['read', 'read', 'read', 'read_write'] }),
  finalize: defineKernel({ name: 'robust.finalize', source, entryPoint: 'robust_finalize', params: finParams, storage: ['read', 'read_write'] }),
  combine: defineKernel({ name: 'robust.combine', source, entryPoint: 'robust_combine', params: combParams, storage: ['read', 'read', 'read', 'read_write'] }),
  sorted: defineKernel({ name: 'robust.sorted', source, entryPoint: 'robust_sorted', params: sortedParams, storage: ['read', 'read', 'read_write'] }),
};

const RULE_CODE = { nna: 0, geomed: 1, clip: 2 } as const;

/** Floats of scratch a distance rule needs for P-element vectors and K received ones. */
export function robustScratchLength(p: number, k: number): number {
  return (k + 1) * (2 + distBlocks(p));
}

function distBlocks(p: number): number {
  return Math.max(1, Math.ceil(p / DIST_BLOCK));
}

/** Dispatches robustMix records for a rule (for tests and cost accounting). */
export function robustDispatches(rule: RobustRule, k: number): number {
  if (rule.kind === 'trimmed-mean' || rule.kind === 'median') return 1;
  if (rule.kind === 'geomed') return START_DISPATCHES[geomedStart(rule, k)] + 3 * (rule.iterations ?? GEOMED_DEFAULTS.iterations);
  return 3;
}

/** Where Weiszfeld starts: the coordinate-wise median, NNA with f = ⌊K/2⌋, or x_0. */
export type GeomedStart = 'median' | 'nna' | 'own';
const START_DISPATCHES: Record<GeomedStart, number> = { median: 1, nna: 3, own: 0 };

/** Where Weiszfeld starts for K received vectors: the coordinate-wise median when it fits, else NNA. */
export function geomedStart(rule: { readonly start?: GeomedStart }, k: number): GeomedStart {
  return rule.start ?? (k + 1 <= MAX_SORTED_INPUTS ? 'median' : 'nna');
}

/** Checks a rule's parameters against K; throws with the reason. */
export function validateRobustRule(rule: RobustRule, k: number): void {
  const n = k + 1;
  const int = (v: number) => Number.isInteger(v) && v >= 0;
  switch (rule.kind) {
    case 'nna':
      if (!int(rule.f) || rule.f > k) throw new Error(`robustMix nna: f = ${rule.f} must be an integer in [0, K = ${k}]`);
      break;
    case 'trimmed-mean':
      if (!int(rule.f) || 2 * rule.f > k) throw new Error(`robustMix trimmed-mean: f = ${rule.f} must be an integer with 2f ≤ K = ${k}`);
      break;
    case 'median':
      break;
    case 'geomed': {
      const it = rule.iterations ?? GEOMED_DEFAULTS.iterations;
      const nu = rule.nu ?? GEOMED_DEFAULTS.nu;
      if (!Number.isInteger(it) || it < 1) throw new Error(`robustMix geomed: iterations = ${it} must be an integer ≥ 1`);
      if (!(nu > 0 && Number.isFinite(nu))) throw new Error(`robustMix geomed: ν = ${nu} must be finite and > 0`);
      break;
    }
    case 'clip':
      if (!(rule.tau >= 0)) throw new Error(`robustMix clip: τ = ${rule.tau} must be ≥ 0 (Infinity allowed)`);
      break;
  }
  const sorts = rule.kind === 'trimmed-mean' || rule.kind === 'median' || (rule.kind === 'geomed' && geomedStart(rule, k) === 'median');
  const limit = sorts ? MAX_SORTED_INPUTS : MAX_DISTANCE_INPUTS;
  if (n > limit) throw new Error(`robustMix ${rule.kind}: K + 1 = ${n} vectors exceed the kernel's limit of ${limit}`);
}

/**
 * out ← rule(x_0, x_1..x_K), encoded into `step`. Dispatches: trimmed-mean and median 1; nna and clip
 * 3 (distance partials, finalize, combine); geomed 3 per iteration, plus 1 for a median start or 3
 * for an NNA start.
 */
export function robustMix(gpu: Gpu, step: StepEncoder, rule: RobustRule, args: RobustMixArgs): void {
  const xs = asSpan(args.x);
  const rs = asSpan(args.received);
  const os = asSpan(args.out);
  const p = xs.length;
  const k = args.count;
  const stride = args.stride ?? p;
  if (!Number.isInteger(k) || k < 1) throw new Error(`robustMix: bad count ${k} (need K ≥ 1)`);
  if (!Number.isInteger(stride) || stride < p) throw new Error(`robustMix: stride ${stride} must be an integer ≥ P = ${p}`);
  const needed = (k - 1) * stride + p;
  if (rs.length < needed) throw new Error(`robustMix: received span holds ${rs.length} floats, ${k} vectors need ${needed}`);
  if (os.length !== p) throw new Error(`robustMix: out has ${os.length} floats, x has ${p}`);
  validateRobustRule(rule, k);
  const base = { n: p, k, x_off: xs.offset, r_off: rs.offset, r_stride: stride };

  // Per-coordinate sort, average of sorted positions [f, K + 1 − f): trimmed mean, median (f = ⌊K/2⌋).
  const sortedMean = (f: number) => {
    const [lo, hi] = [f, k + 1 - f];
    checkWritableUnaliased('robustMix', [os], [xs, rs]);
    step.dispatch(
      robustKernels.sorted,
      { ...base, out_off: os.offset, lo, hi, inv_count: 1 / (hi - lo) },
      [xs.buffer, rs.buffer, os.buffer],
      grid1d(p),
    );
  };
  if (rule.kind === 'trimmed-mean' || rule.kind === 'median') {
    sortedMean(rule.kind === 'median' ? Math.floor(k / 2) : rule.f);
    return;
  }

  const nb = distBlocks(p);
  if (nb > MAX_BLOCKS) throw new Error(`robustMix: P = ${p} exceeds ${MAX_BLOCKS * DIST_BLOCK} elements`);
  const length = robustScratchLength(p, k);
  if (args.scratch && args.scratch.length < length) throw new Error(`robustMix: scratch holds ${args.scratch.length} floats, needs ${length}`);
  const pooled = args.scratch ? null : gpu.pool.acquire(length * 4, STORAGE_USAGE, 'scratch:robust');
  const sc: F32Span = args.scratch ?? { buffer: pooled as GPUBuffer, offset: 0, length };
  let ws: F32Span | null = null;
  if (rule.kind === 'clip') {
    if (!args.weights) throw new Error('robustMix clip: weights are required');
    ws = asSpan(args.weights);
    if (ws.length < k + 1) throw new Error(`robustMix clip: ${ws.length} weights for ${k} received vectors (need K + 1)`);
  }
  checkWritableUnaliased('robustMix', [os, sc], [xs, rs, ...(ws ? [ws] : [])]);

  const s_off = sc.offset;
  const distances = (centre: F32Span) =>
    step.dispatch(
      robustKernels.distPartial,
      { ...base, c_off: centre.offset, p_off: s_off + 2 * (k + 1), nb },
      [centre.buffer, xs.buffer, rs.buffer, sc.buffer],
      [nb, k + 1],
    );
  const tau = rule.kind === 'clip' ? rule.tau : 0;
  const finalize = (code: number, keep: number) =>
    step.dispatch(
      robustKernels.finalize,
      {
        k,
        nb,
        s_off,
        w_off: ws ? ws.offset : 0,
        rule: code,
        keep,
        inv_keep: keep > 0 ? 1 / keep : 0,
        nu: rule.kind === 'geomed' ? (rule.nu ?? GEOMED_DEFAULTS.nu) : 0,
        tau: Number.isFinite(tau) ? tau : 0,
        tau_inf: Number.isFinite(tau) ? 0 : 1,
      },
      // The weights binding is unused except for clipping; x's buffer stands in (read-only).
      [ws ? ws.buffer : xs.buffer, sc.buffer],
      1,
    );
  const combine = (centred: boolean) =>
    step.dispatch(
      robustKernels.combine,
      { ...base, coef_off: s_off, out_off: os.offset, centred: centred ? 1 : 0 },
      [xs.buffer, rs.buffer, sc.buffer, os.buffer],
      grid1d(p),
    );

  const nna = (f: number) => {
    distances(xs);
    finalize(RULE_CODE.nna, k + 1 - f);
    combine(false);
  };
  if (rule.kind === 'nna') nna(rule.f);
  else if (rule.kind === 'clip') {
    distances(xs);
    finalize(RULE_CODE.clip, 0);
    combine(true);
  } else {
    const start = geomedStart(rule, k);
    if (start === 'median') sortedMean(Math.floor(k / 2));
    else if (start === 'nna') nna(Math.floor(k / 2));
    const iterations = rule.iterations ?? GEOMED_DEFAULTS.iterations;
    for (let t = 0; t < iterations; t++) {
      // Weiszfeld's iterate lives in `out`: each iteration measures distances to it, then overwrites it.
      distances(t === 0 && start === 'own' ? xs : os);
      finalize(RULE_CODE.geomed, 0);
      combine(false);
    }
  }
  if (pooled) gpu.pool.release(pooled);
}
