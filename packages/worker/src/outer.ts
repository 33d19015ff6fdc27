// Run-config glue of the periodic-averaging algorithms (CO2, SlowMo, Local SGD; ALGORITHMS.md §3)
// and of the per-worker link bandwidth limit, kept out of config.ts / distributed.ts so those stay
// small: they only call resolveOuterConfig, bandwidthLimitOf and runOuterAlgorithm.
import {
  CO2_DEFAULTS,
  parseOuterMomentumClip,
  parseStalenessPenalty,
  runCo2Worker,
  runLocalSgdWorker,
  runSlowMoWorker,
  type DsgdResult,
  type PeriodicAveragingOptions,
  type WorkerContext,
} from '@gossamer/algorithms';
import type { BandwidthLimit } from '@gossamer/transport';

/** The algorithms this file dispatches. */
export const OUTER_ALGORITHMS = ['co2', 'localsgd', 'slowmo'] as const;
export type OuterAlgorithm = (typeof OUTER_ALGORITHMS)[number];

/** Options of CO2 and SlowMo in a run config (τ is the config's localSteps). Plain JSON. */
export interface OuterConfig {
  /** α, the outer (slow) learning rate (default 1). */
  alpha?: number;
  /** β, the outer momentum (default 0.2). */
  beta?: number;
  /** CO2's staleness penalty: none | constant:<λ> | gap:<κ>[:<ε>] (default none, i.e. λ = 1). */
  penalty?: string;
  /** CO2's outer momentum clip: none | value:<φ> | norm:<φ> (default value:1). */
  clip?: string;
  /** CO2: one-round (asynchronous all-reduce, default) | none (awaited at once). */
  staleness?: 'one-round' | 'none';
  /** SlowMo's γ, its base learning rate (default 1). */
  gamma?: number;
  /** CO2/SlowMo: copy the anchors from the canonical worker every this many rounds (default 0: only when membership changes); for mixed hardware. */
  resyncEvery?: number;
}

export function isOuterAlgorithm(algo: string): algo is OuterAlgorithm {
  return (OUTER_ALGORITHMS as readonly string[]).includes(algo);
}

/** Checks `outer` (the error names the field); returns it with defaults filled. */
export function resolveOuterConfig(outer: OuterConfig | undefined): Required<OuterConfig> {
  const o = outer ?? {};
  const known = ['alpha', 'beta', 'penalty', 'clip', 'staleness', 'gamma', 'resyncEvery'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new Error(`run config: unknown field "outer.${k}" (known: ${known.join(', ')})`);
  const resolved: Required<OuterConfig> = {
    alpha: o.alpha ?? CO2_DEFAULTS.outerLearningRate,
    beta: o.beta ?? CO2_DEFAULTS.outerMomentum,
    penalty: o.penalty ?? 'none',
    clip: o.clip ?? 'value:1',
    staleness: o.staleness ?? CO2_DEFAULTS.staleness,
    gamma: o.gamma ?? 1,
    resyncEvery: o.resyncEvery ?? 0,
  };
  if (!Number.isFinite(resolved.alpha)) throw new Error(`run config: outer.alpha must be a number, got ${JSON.stringify(o.alpha)}`);
  if (!(resolved.beta >= 0 && resolved.beta < 1)) throw new Error(`run config: outer.beta must be in [0, 1), got ${JSON.stringify(o.beta)}`);
  if (!Number.isInteger(resolved.resyncEvery) || resolved.resyncEvery < 0) throw new Error(`run config: outer.resyncEvery must be a non-negative integer, got ${JSON.stringify(o.resyncEvery)}`);
  if (!(resolved.gamma > 0)) throw new Error(`run config: outer.gamma must be positive, got ${JSON.stringify(o.gamma)}`);
  if (resolved.staleness !== 'one-round' && resolved.staleness !== 'none') throw new Error('run config: outer.staleness must be one-round or none');
  for (const [field, parse] of [
    ['penalty', () => parseStalenessPenalty(resolved.penalty)],
    ['clip', () => parseOuterMomentumClip(resolved.clip)],
  ] as const) {
    try {
      parse();
    } catch (e) {
      throw new Error(`run config: outer.${field}: ${(e as Error).message}`);
    }
  }
  return resolved;
}

/**
 * The token-bucket limit of one worker's link at `mbps` megabits per second. The burst is small
 * (16 KiB) so a link behaves like a wire, not like a buffer that swallows a whole all-reduce.
 * NATS: the limit is on the worker's uplink (all it publishes); in-process: on each directed link.
 * In a ring all-reduce each worker sends to one peer, so the two agree.
 */
export function bandwidthLimitOf(mbps: number | undefined): BandwidthLimit | undefined {
  if (mbps === undefined) return undefined;
  if (!(mbps > 0 && Number.isFinite(mbps))) throw new Error(`run config: bandwidthMbps must be a positive number, got ${mbps}`);
  return { bytesPerSecond: (mbps * 1e6) / 8, burstBytes: 16 * 1024 };
}

/** Runs the algorithm `algo` of a run config for one hosted worker. */
export function runOuterAlgorithm(
  ctx: WorkerContext,
  algo: OuterAlgorithm,
  outer: OuterConfig | undefined,
  base: PeriodicAveragingOptions,
): Promise<DsgdResult> {
  const o = resolveOuterConfig(outer);
  base = { ...base, resyncEvery: o.resyncEvery };
  if (algo === 'localsgd') return runLocalSgdWorker(ctx, base);
  if (algo === 'slowmo') return runSlowMoWorker(ctx, { ...base, slowLearningRate: o.alpha, slowMomentum: o.beta, baseLearningRate: o.gamma });
  return runCo2Worker(ctx, {
    ...base,
    outerLearningRate: o.alpha,
    outerMomentum: o.beta,
    penalty: parseStalenessPenalty(o.penalty),
    clip: parseOuterMomentumClip(o.clip),
    staleness: o.staleness,
  });
}
