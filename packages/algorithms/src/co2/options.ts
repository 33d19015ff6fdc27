// Options of CO2 and of its two limits (ALGORITHMS.md §3), and the text syntax of the penalty and
// clip used by run configs and CLI flags.
import { checkOuterMomentumClip, checkStalenessPenalty, type OuterMomentumClip, type StalenessPenalty } from '@gossamer/kernels';

/** What every periodic-averaging algorithm (CO2, SlowMo, Local SGD) shares. */
export interface PeriodicAveragingOptions {
  /** Outer rounds T. */
  rounds: number;
  /** Inner optimizer steps per round, τ. */
  localSteps: number;
  /** Evaluate every this many rounds (0: only at the end). */
  evalEvery: number;
  /** Measure the consensus distance every this many rounds (0: never; it costs an all-reduce). */
  consensusEvery: number;
  /**
   * CO2/SlowMo: copy the outer state (anchor, previous anchor, outer momentum) from the canonical
   * worker every this many rounds (default 0: only when the membership changes). For workers on
   * different hardware, whose float rounding differs and whose anchors would otherwise drift apart.
   */
  resyncEvery?: number;
}

/**
 * `one-round`: CO2 proper — round t's all-reduce runs during round t+1's inner steps and is applied
 * at the end of round t+1 (one round stale). `none`: the all-reduce of round t is awaited at once and
 * applied with g = a − x̄_t (the no-staleness mode of the identity tests; SlowMo when β > 0).
 */
export type Staleness = 'one-round' | 'none';

export interface Co2Options extends PeriodicAveragingOptions {
  /** α. */
  outerLearningRate: number;
  /** β. */
  outerMomentum: number;
  penalty: StalenessPenalty;
  clip: OuterMomentumClip;
  staleness: Staleness;
}

/**
 * SlowMo (Wang et al., ICLR 2020): after τ local steps, a blocking all-reduce, then
 * u ← β u + (a − x̄)/γ;  a ← a − α γ u;  x ← a. γ is SlowMo's base (inner) learning rate.
 */
export interface SlowMoOptions extends PeriodicAveragingOptions {
  /** α: slow learning rate. */
  slowLearningRate: number;
  /** β: slow momentum. */
  slowMomentum: number;
  /** γ (default 1: u accumulates the plain pseudo-gradient). */
  baseLearningRate?: number;
}

/** Defaults from ALGORITHMS.md §3: α = 1, β in 0.2–0.5, clipping on with φ = 1, λ = 1 (no penalty). */
export const CO2_DEFAULTS = {
  outerLearningRate: 1,
  outerMomentum: 0.2,
  penalty: { kind: 'none' } as StalenessPenalty,
  clip: { kind: 'value', limit: 1 } as OuterMomentumClip,
  staleness: 'one-round' as Staleness,
} as const;

/** Default ε of the gap penalty (guards ‖g‖ = 0). */
export const GAP_PENALTY_EPSILON = 1e-8;

function numberArg(what: string, text: string, value: string | undefined): number {
  const v = Number(value);
  if (value === undefined || value === '' || !Number.isFinite(v)) throw new Error(`${what} "${text}": expected a number after the colon`);
  return v;
}

/** none | constant:λ | gap:κ[:ε] */
export function parseStalenessPenalty(text: string): StalenessPenalty {
  const [kind, a, b] = text.split(':');
  let penalty: StalenessPenalty;
  if (kind === 'none' && a === undefined) penalty = { kind: 'none' };
  else if (kind === 'constant') penalty = { kind: 'constant', lambda: numberArg('penalty', text, a) };
  else if (kind === 'gap') penalty = { kind: 'gap', kappa: numberArg('penalty', text, a), epsilon: b === undefined ? GAP_PENALTY_EPSILON : numberArg('penalty', text, b) };
  else throw new Error(`penalty "${text}": use none, constant:<λ> or gap:<κ>[:<ε>]`);
  checkStalenessPenalty(penalty);
  return penalty;
}

/** none | value:φ | norm:φ */
export function parseOuterMomentumClip(text: string): OuterMomentumClip {
  const [kind, a] = text.split(':');
  let clip: OuterMomentumClip;
  if (kind === 'none' && a === undefined) clip = { kind: 'none' };
  else if (kind === 'value') clip = { kind: 'value', limit: numberArg('clip', text, a) };
  else if (kind === 'norm') clip = { kind: 'norm', maxNorm: numberArg('clip', text, a) };
  else throw new Error(`clip "${text}": use none, value:<φ> or norm:<φ>`);
  checkOuterMomentumClip(clip);
  return clip;
}

export function describeStalenessPenalty(p: StalenessPenalty): string {
  return p.kind === 'none' ? 'none' : p.kind === 'constant' ? `constant:${p.lambda}` : `gap:${p.kappa}:${p.epsilon}`;
}

export function describeOuterMomentumClip(c: OuterMomentumClip): string {
  return c.kind === 'none' ? 'none' : c.kind === 'value' ? `value:${c.limit}` : `norm:${c.maxNorm}`;
}

/** SlowMo's outer step as CO2's kernel computes it: no staleness, λ = γ, kernel α = α·γ, no clip. */
export function slowMoOuterStep(options: SlowMoOptions): { alpha: number; beta: number; penalty: StalenessPenalty; clip: OuterMomentumClip } {
  const gamma = options.baseLearningRate ?? 1;
  if (!(gamma > 0)) throw new Error(`SlowMo: the base learning rate γ must be positive, got ${gamma}`);
  return {
    alpha: options.slowLearningRate * gamma,
    beta: options.slowMomentum,
    penalty: gamma === 1 ? { kind: 'none' } : { kind: 'constant', lambda: gamma },
    clip: { kind: 'none' },
  };
}
