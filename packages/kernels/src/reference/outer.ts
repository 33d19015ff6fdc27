// Float64 reference of shaders/outer.wgsl (CO2's outer update, ALGORITHMS.md §3), one named function
// per formula. Tests compare the kernel against outerStep; the CO2 tests replay whole runs with it.
import type { OuterMomentumClip, OuterStepConfig, StalenessPenalty } from '../outer.js';

type Vec = ArrayLike<number>;

export interface Segment {
  offset: number;
  length: number;
}

/** g = r − x̄: the round's pseudo-gradient (r = the anchor the averaged round started from). */
export function pseudoGradient(reference: Vec, average: Vec): Float64Array {
  return Float64Array.from(reference, (r, i) => r - average[i]);
}

function segmentNorm(v: Vec, { offset, length }: Segment): number {
  let s = 0;
  for (let i = offset; i < offset + length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

/**
 * The factor the staleness penalty multiplies one tensor's g by: 1 (none), 1/λ (constant), or
 * 1 / (1 + κ ‖a − x̄‖ / (‖g‖ + ε)) (gap, an interpretation of the paper's Λ_t).
 */
export function stalenessPenaltyFactor(penalty: StalenessPenalty, gapNorm: number, pseudoGradientNorm: number): number {
  if (penalty.kind === 'constant') return 1 / penalty.lambda;
  if (penalty.kind === 'gap') return 1 / (1 + (penalty.kappa * gapNorm) / (pseudoGradientNorm + penalty.epsilon));
  return 1;
}

export interface PenalizedGradient {
  values: Float64Array;
  /** Per segment: ‖a − x̄‖ and ‖g‖ before the penalty. */
  gapNorms: Float64Array;
  pseudoGradientNorms: Float64Array;
}

/** Penalty(g) per segment, with gap = a − x̄ (the current anchor's distance from the stale average). */
export function stalenessPenalty(g: Vec, gap: Vec, segments: readonly Segment[], penalty: StalenessPenalty): PenalizedGradient {
  const values = Float64Array.from(g);
  const gapNorms = Float64Array.from(segments, (s) => segmentNorm(gap, s));
  const pseudoGradientNorms = Float64Array.from(segments, (s) => segmentNorm(g, s));
  segments.forEach((s, k) => {
    const f = stalenessPenaltyFactor(penalty, gapNorms[k], pseudoGradientNorms[k]);
    for (let i = s.offset; i < s.offset + s.length; i++) values[i] = g[i] * f;
  });
  return { values, gapNorms, pseudoGradientNorms };
}

/** Clip(m): element-wise clamp to [−φ, φ] (value) or m · min(1, φ/‖m‖) over the segments (norm). */
export function outerMomentumClip(m: Vec, clip: OuterMomentumClip, segments: readonly Segment[]): { values: Float64Array; norm: number } {
  let ss = 0;
  for (const s of segments) ss += segmentNorm(m, s) ** 2;
  const norm = Math.sqrt(ss);
  if (clip.kind === 'value') return { values: Float64Array.from(m, (v) => Math.min(Math.max(v, -clip.limit), clip.limit)), norm };
  if (clip.kind === 'norm') {
    const f = norm > clip.maxNorm ? clip.maxNorm / norm : 1;
    return { values: Float64Array.from(m, (v) => v * f), norm };
  }
  return { values: Float64Array.from(m), norm };
}

/** m ← β m + g. */
export function outerMomentum(momentum: Vec, g: Vec, beta: number): Float64Array {
  return Float64Array.from(g, (v, i) => beta * momentum[i] + v);
}

/** a ← a − α m. */
export function anchorUpdate(anchor: Vec, momentum: Vec, alpha: number): Float64Array {
  return Float64Array.from(anchor, (a, i) => a - alpha * momentum[i]);
}

export interface OuterState {
  anchor: Vec;
  previousAnchor: Vec;
  momentum: Vec;
}

export interface OuterStepResult {
  anchor: Float64Array;
  previousAnchor: Float64Array;
  momentum: Float64Array;
  gapNorms: Float64Array;
  pseudoGradientNorms: Float64Array;
  /** ‖m‖ before the clip. */
  momentumNorm: number;
}

/**
 * One outer step (the kernel's formula): g = (stale ? a_prev : a) − x̄; g ← Penalty(g);
 * m ← Clip(βm + g); a_prev ← a; a ← a − αm. Elements outside `segments` keep their values.
 */
export function outerStep(state: OuterState, average: Vec, segments: readonly Segment[], config: OuterStepConfig): OuterStepResult {
  const g = pseudoGradient(config.stale ? state.previousAnchor : state.anchor, average);
  const gap = pseudoGradient(state.anchor, average);
  const inside = new Uint8Array(g.length);
  for (const s of segments) inside.fill(1, s.offset, s.offset + s.length);
  const penalized = stalenessPenalty(g, gap, segments, config.penalty);
  const clipped = outerMomentumClip(outerMomentum(state.momentum, penalized.values, config.beta), config.clip, segments);
  const updated = anchorUpdate(state.anchor, clipped.values, config.alpha);
  const keep = (next: Float64Array, old: Vec) => Float64Array.from(next, (v, i) => (inside[i] ? v : old[i]));
  return {
    anchor: keep(updated, state.anchor),
    previousAnchor: keep(Float64Array.from(state.anchor), state.previousAnchor),
    momentum: keep(clipped.values, state.momentum),
    gapNorms: penalized.gapNorms,
    pseudoGradientNorms: penalized.pseudoGradientNorms,
    momentumNorm: clipped.norm,
  };
}
