/**
 * A privacy ledger a training loop calls once per noisy step, so ε can be reported as the run goes.
 * Steps with the same (q, σ) in a row form one phase; RDP per step is computed once per distinct
 * (q, σ) and the composed RDP is Σ steps·ε_α over phases.
 */

import { epsilonFromRdp, type Conversion, type EpsilonResult } from './convert.js';
import { DEFAULT_ORDERS, rdpSampledGaussian } from './rdp.js';

export interface PrivacyPhase {
  q: number;
  sigma: number;
  steps: number;
}

export interface PrivacySummary extends EpsilonResult {
  delta: number;
  steps: number;
  conversion: Conversion;
  phases: PrivacyPhase[];
}

export interface PrivacyTrackerOptions {
  orders?: readonly number[];
  conversion?: Conversion;
}

export class PrivacyTracker {
  readonly orders: readonly number[];
  readonly conversion: Conversion;
  private readonly phases: PrivacyPhase[] = [];
  private readonly perStep = new Map<string, number[]>();
  private total = 0;

  constructor(options: PrivacyTrackerOptions = {}) {
    this.orders = Object.freeze([...(options.orders ?? DEFAULT_ORDERS)]);
    if (this.orders.length === 0) throw new RangeError('at least one order is needed');
    for (const a of this.orders) if (!(a > 1)) throw new RangeError(`RDP order α must be > 1, got ${a}`);
    this.conversion = options.conversion ?? 'improved';
  }

  /** A tracker that has already recorded `phases` (e.g. a checkpoint's `summary().phases`, on resume). */
  static fromPhases(phases: readonly PrivacyPhase[], options: PrivacyTrackerOptions = {}): PrivacyTracker {
    const tracker = new PrivacyTracker(options);
    for (const p of phases) tracker.step(p.q, p.sigma, p.steps);
    return tracker;
  }

  /** Records `count` steps with sampling rate q and noise multiplier σ. */
  step(q: number, sigma: number, count = 1): void {
    if (!(Number.isInteger(count) && count >= 0)) throw new RangeError(`count must be an integer ≥ 0, got ${count}`);
    const key = `${q}:${sigma}`;
    // Validate (and cache) at the call, not later at epsilon(), so a bad step is reported where it happens.
    if (!this.perStep.has(key)) this.perStep.set(key, this.orders.map((a) => rdpSampledGaussian(q, sigma, a)));
    if (count === 0) return;
    const last = this.phases[this.phases.length - 1];
    if (last && last.q === q && last.sigma === sigma) last.steps += count;
    else this.phases.push({ q, sigma, steps: count });
    this.total += count;
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.total;
  }

  /** Composed RDP at each order. */
  rdp(): number[] {
    const out = this.orders.map(() => 0);
    for (const p of this.phases) {
      const one = this.perStep.get(`${p.q}:${p.sigma}`)!;
      for (let i = 0; i < out.length; i++) out[i]! += p.steps * one[i]!;
    }
    return out;
  }

  /** ε spent so far at δ, with the order that gives it (0 before any step). */
  epsilon(delta: number): EpsilonResult {
    return epsilonFromRdp(this.orders, this.rdp(), delta, this.conversion);
  }

  /** A plain-data report (phases copied) for events, logs and checkpoints. */
  summary(delta: number): PrivacySummary {
    return {
      ...this.epsilon(delta),
      delta,
      steps: this.total,
      conversion: this.conversion,
      phases: this.phases.map((p) => ({ ...p })),
    };
  }
}
