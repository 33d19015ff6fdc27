// CO2's outer update (shaders/outer.wgsl; ALGORITHMS.md §3): pseudo-gradient, staleness penalty,
// outer momentum, clipping and the anchor update in ONE fused kernel, preceded only by the reductions
// that the chosen penalty / clip needs (per-tensor norms for the gap penalty, the global momentum
// norm for norm clipping). SlowMo's outer step and Local SGD's averaging are its limits.
import { defineKernel, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { outer as source } from './generated/shaders.js';
import { checkWritableUnaliased } from './binding-rules.js';
import { acquireScratch, foldPartials, reduceKernels, type SegmentTable } from './reduce-encode.js';
import { grid1d, type F32Span } from './span.js';

/**
 * The staleness gap penalty applied to the pseudo-gradient g before the momentum.
 * - `none`: g unchanged.
 * - `constant`: g/λ — the released CO2 code's `gap_penalty` (its default λ = 1 is `none`).
 * - `gap`: per tensor ℓ, g^ℓ / (1 + κ ‖a^ℓ − x̄^ℓ‖ / (‖g^ℓ‖ + ε)) — an INTERPRETATION of the paper's
 *   Λ_t (its text was not available): the stale update shrinks as the current anchor a drifts from
 *   the stale average x̄, relative to the update's own size.
 */
export type StalenessPenalty = { kind: 'none' } | { kind: 'constant'; lambda: number } | { kind: 'gap'; kappa: number; epsilon: number };

/**
 * Outer momentum clipping after m ← βm + g.
 * - `value`: element-wise clamp to [−φ, φ] — what the released CO2 code means (its own call discards
 *   the clamp's result, a no-op bug; this one applies it).
 * - `norm`: m · min(1, φ/‖m‖₂) over the whole flat vector.
 */
export type OuterMomentumClip = { kind: 'none' } | { kind: 'value'; limit: number } | { kind: 'norm'; maxNorm: number };

export interface OuterStepConfig {
  /** α: outer learning rate. */
  alpha: number;
  /** β: outer momentum. */
  beta: number;
  penalty: StalenessPenalty;
  clip: OuterMomentumClip;
  /**
   * true: g = a_prev − x̄ (x̄ is the previous round's average, a_prev the anchor that round started
   * from); false: g = a − x̄ (no staleness: x̄ is this round's average).
   */
  stale: boolean;
}

export interface OuterStepBuffers {
  /** The tensors of the flat vectors (offsets relative to each span below). */
  table: SegmentTable;
  /** x̄: the all-reduced average (read). */
  average: F32Span;
  /** m: outer momentum (read, written). */
  momentum: F32Span;
  /** a: the anchor (read, written: a − α m). */
  anchor: F32Span;
  /** a_prev: the previous anchor (read when stale, written: the old a). */
  previousAnchor: F32Span;
  /** x: the live parameters, set to the new anchor. */
  params: F32Span;
  /** outerStatsLength(table) floats: per-tensor ‖a − x̄‖, per-tensor ‖g‖ (gap penalty), ‖m‖ before the clip (norm clip). */
  stats: F32Span;
}

const outerParams = [
  ['count', 'u32'],
  ['seg_count', 'u32'],
  ['avg_off', 'u32'],
  ['m_off', 'u32'],
  ['a_off', 'u32'],
  ['prev_off', 'u32'],
  ['x_off', 'u32'],
  ['stats_off', 'u32'],
  ['stale', 'u32'],
  ['penalty', 'u32'],
  ['clip', 'u32'],
  ['inv_lambda', 'f32'],
  ['kappa', 'f32'],
  ['epsilon', 'f32'],
  ['beta', 'f32'],
  ['alpha', 'f32'],
  ['phi', 'f32'],
] as const;

export const outerKernels = {
  gapSumSquaresBlocks: defineKernel({
    name: 'outer.gap_sumsq_blocks',
    source,
    entryPoint: 'gap_sumsq_blocks',
    params: outerParams,
    storage: ['read', 'read', 'read', 'read', 'read_write'],
  }),
  momentumSumSquaresBlocks: defineKernel({
    name: 'outer.momentum_sumsq_blocks',
    source,
    entryPoint: 'momentum_sumsq_blocks',
    params: outerParams,
    storage: ['read', 'read', 'read', 'read', 'read', 'read', 'read_write'],
  }),
  update: defineKernel({
    name: 'outer.outer_update',
    source,
    entryPoint: 'outer_update',
    params: outerParams,
    storage: ['read', 'read', 'read', 'read_write', 'read_write', 'read_write', 'read_write'],
  }),
};

/** Floats of the stats span: S gap norms, S pseudo-gradient norms, one momentum norm. */
export function outerStatsLength(table: SegmentTable): number {
  return 2 * table.segmentCount + 1;
}

const PENALTY_CODE = { none: 0, constant: 1, gap: 2 } as const;
const CLIP_CODE = { none: 0, value: 1, norm: 2 } as const;

/** Throws unless the penalty's parameters are usable (λ > 0; κ ≥ 0, ε > 0). */
export function checkStalenessPenalty(penalty: StalenessPenalty): void {
  if (penalty.kind === 'constant' && !(penalty.lambda > 0 && Number.isFinite(penalty.lambda))) throw new Error(`staleness penalty: λ must be positive, got ${penalty.lambda}`);
  if (penalty.kind === 'gap') {
    if (!(penalty.kappa >= 0 && Number.isFinite(penalty.kappa))) throw new Error(`staleness penalty: κ must be ≥ 0, got ${penalty.kappa}`);
    if (!(penalty.epsilon > 0 && Number.isFinite(penalty.epsilon))) throw new Error(`staleness penalty: ε must be positive, got ${penalty.epsilon}`);
  }
}

/** Throws unless the clip threshold φ is positive. */
export function checkOuterMomentumClip(clip: OuterMomentumClip): void {
  const phi = clip.kind === 'value' ? clip.limit : clip.kind === 'norm' ? clip.maxNorm : 1;
  if (!(phi > 0 && Number.isFinite(phi))) throw new Error(`outer momentum clip: φ must be positive, got ${phi}`);
}

/**
 * Encodes one outer step into `step`: the reductions the penalty and clip need, then the fused
 * update (m, a_prev, a and x written). No readback; stats stay on the GPU for metrics.
 */
export function encodeOuterStep(gpu: Gpu, step: StepEncoder, buffers: OuterStepBuffers, config: OuterStepConfig): void {
  const op = 'encodeOuterStep';
  const { table, average, momentum, anchor, previousAnchor, params, stats } = buffers;
  checkStalenessPenalty(config.penalty);
  checkOuterMomentumClip(config.clip);
  if (!Number.isFinite(config.alpha) || !Number.isFinite(config.beta)) throw new Error(`${op}: α and β must be finite, got ${config.alpha}, ${config.beta}`);
  for (const [name, s] of Object.entries({ average, momentum, anchor, previousAnchor, params })) table.base(`${op}: ${name}`, s);
  if (stats.length !== outerStatsLength(table)) throw new Error(`${op}: stats has ${stats.length} floats, expected ${outerStatsLength(table)}`);
  checkWritableUnaliased(op, [momentum, anchor, previousAnchor, params], [average, stats]);
  const S = table.segmentCount;
  const p = {
    count: table.blockCount,
    seg_count: S,
    avg_off: average.offset,
    m_off: momentum.offset,
    a_off: anchor.offset,
    prev_off: previousAnchor.offset,
    x_off: params.offset,
    stats_off: stats.offset,
    stale: config.stale ? 1 : 0,
    penalty: PENALTY_CODE[config.penalty.kind],
    clip: CLIP_CODE[config.clip.kind],
    inv_lambda: config.penalty.kind === 'constant' ? 1 / config.penalty.lambda : 1,
    kappa: config.penalty.kind === 'gap' ? config.penalty.kappa : 0,
    epsilon: config.penalty.kind === 'gap' ? config.penalty.epsilon : 1,
    beta: config.beta,
    alpha: config.alpha,
    phi: config.clip.kind === 'value' ? config.clip.limit : config.clip.kind === 'norm' ? config.clip.maxNorm : 0,
  };
  const grid = grid1d(table.blockCount, 1);
  if (config.penalty.kind === 'gap') {
    // Per-tensor ‖a − x̄‖ and ‖g‖: block partials (2 per block), then one segment fold for each.
    const partials = acquireScratch(gpu, 2 * table.blockCount, 'scratch:outer-gap-partials');
    step.dispatch(outerKernels.gapSumSquaresBlocks, { ...p, x_off: 0 }, [table.buffer, average.buffer, anchor.buffer, previousAnchor.buffer, partials], grid);
    for (const k of [0, 1]) {
      step.dispatch(
        reduceKernels.segmentFinish,
        { count: S, x_off: k * table.blockCount, seg_base: table.segmentBase, out_off: stats.offset + k * S, scale: 1, finalize: 1, accumulate: 0 },
        [table.buffer, partials, stats.buffer],
        grid1d(S, 1),
        { ROOT: true },
      );
    }
    gpu.pool.release(partials);
  }
  if (config.clip.kind === 'norm') {
    const partials = acquireScratch(gpu, table.blockCount, 'scratch:outer-momentum-partials');
    step.dispatch(
      outerKernels.momentumSumSquaresBlocks,
      { ...p, x_off: 0 },
      [table.buffer, stats.buffer, average.buffer, momentum.buffer, anchor.buffer, previousAnchor.buffer, partials],
      grid,
    );
    foldPartials(step, partials, 0, table.blockCount, { buffer: stats.buffer, offset: stats.offset + 2 * S, length: 1 }, { root: true });
    gpu.pool.release(partials);
  }
  step.dispatch(outerKernels.update, p, [table.buffer, stats.buffer, average.buffer, momentum.buffer, anchor.buffer, previousAnchor.buffer, params.buffer], grid);
}
