/**
 * Count-based language-model references: n-gram models with add-α (Lidstone) smoothing,
 *   p(x_i | x_{i−n+1..i−1}) = (c(context, x_i) + α) / (c(context) + α·V),
 * V the full vocabulary (unknown id included). They give the cross-entropy a transformer should beat
 * on the same split. α may be fixed or chosen on the training data alone: counts from the first 90 %
 * of the training tokens, α the grid value with the lowest cross-entropy on the last 10 %, then the
 * final counts from all training tokens; validation is never looked at to choose α.
 */

import type { TokenStream } from './tokenizer.js';

/** Default α grid for `alpha: 'tune'`: half-decades from 10⁻³ to 1. */
export const DEFAULT_ALPHA_GRID: readonly number[] = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];

/** n-gram counts: c(context, next) and c(context) over one token array. */
export class NgramCounts {
  readonly order: number;
  readonly vocabSize: number;
  /** Positions counted: L − order + 1. */
  readonly total: number;
  private readonly contexts: number;
  // Dense typed arrays while V^n is small (char and byte vocabularies up to trigrams), else Maps keyed by the integer code.
  private readonly denseFull?: Uint32Array;
  private readonly denseContext?: Uint32Array;
  private readonly sparseFull?: Map<number, number>;
  private readonly sparseContext?: Map<number, number>;

  constructor(tokens: Uint32Array, order: number, vocabSize: number) {
    checkOrder(order, vocabSize);
    this.order = order;
    this.vocabSize = vocabSize;
    this.contexts = vocabSize ** (order - 1);
    const keys = this.contexts * vocabSize;
    if (keys <= DENSE_LIMIT) {
      this.denseFull = new Uint32Array(keys);
      this.denseContext = new Uint32Array(this.contexts);
    } else {
      this.sparseFull = new Map();
      this.sparseContext = new Map();
    }
    let context = 0;
    let counted = 0;
    for (let i = 0; i < tokens.length; i++) {
      const x = tokens[i];
      if (x >= vocabSize) throw new Error(`NgramCounts: token ${x} at ${i} is not below vocabSize ${vocabSize}`);
      if (i >= order - 1) {
        const key = context * vocabSize + x;
        if (this.denseFull) {
          this.denseFull[key]++;
          this.denseContext![context]++;
        } else {
          this.sparseFull!.set(key, (this.sparseFull!.get(key) ?? 0) + 1);
          this.sparseContext!.set(context, (this.sparseContext!.get(context) ?? 0) + 1);
        }
        counted++;
      }
      // The context of the next position: the last order − 1 tokens, as a base-V number.
      if (order > 1) context = (context * vocabSize + x) % this.contexts;
    }
    this.total = counted;
  }

  full(context: number, next: number): number {
    const key = context * this.vocabSize + next;
    return this.denseFull ? this.denseFull[key] : (this.sparseFull!.get(key) ?? 0);
  }

  context(context: number): number {
    return this.denseContext ? this.denseContext[context] : (this.sparseContext!.get(context) ?? 0);
  }

  /**
   * Per scored position of `tokens` (each i ≥ order − 1, its context inside `tokens`): the counts
   * (c(context, x_i), c(context)), so many α can be scored with one pass over the counts.
   */
  lookup(tokens: Uint32Array): { full: Float64Array; context: Float64Array } {
    const n = Math.max(0, tokens.length - this.order + 1);
    const full = new Float64Array(n);
    const ctx = new Float64Array(n);
    let context = 0;
    for (let i = 0; i < tokens.length; i++) {
      const x = tokens[i];
      if (x >= this.vocabSize) throw new Error(`NgramCounts.lookup: token ${x} at ${i} is not below vocabSize ${this.vocabSize}`);
      if (i >= this.order - 1) {
        const j = i - this.order + 1;
        full[j] = this.full(context, x);
        ctx[j] = this.context(context);
      }
      if (this.order > 1) context = (context * this.vocabSize + x) % this.contexts;
    }
    return { full, context: ctx };
  }

  /** Mean add-α cross-entropy in nats per scored token of `tokens`. */
  crossEntropy(tokens: Uint32Array, alpha: number): number {
    return meanNll(this.lookup(tokens), alpha, this.vocabSize);
  }
}

const DENSE_LIMIT = 1 << 24;

function meanNll(counts: { full: Float64Array; context: Float64Array }, alpha: number, vocabSize: number): number {
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`n-gram: alpha must be positive and finite, got ${alpha}`);
  const { full, context } = counts;
  if (full.length === 0) throw new Error('n-gram: no position to score (the text is shorter than the order)');
  let sum = 0;
  for (let j = 0; j < full.length; j++) sum -= Math.log((full[j] + alpha) / (context[j] + alpha * vocabSize));
  return sum / full.length;
}

function checkOrder(order: number, vocabSize: number): void {
  if (!Number.isInteger(order) || order < 1) throw new Error(`n-gram: order must be a positive integer, got ${order}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new Error(`n-gram: vocabSize must be a positive integer, got ${vocabSize}`);
  if (vocabSize ** order > Number.MAX_SAFE_INTEGER) throw new Error(`n-gram: ${vocabSize}^${order} keys do not fit an integer code`);
}

export interface AlphaChoice {
  readonly alpha: number;
  /** Cross-entropy (nats/token) of each grid value on the held-out end of the training tokens. */
  readonly grid: readonly { readonly alpha: number; readonly natsPerToken: number }[];
}

/** α from `grid` by held-out likelihood on the training tokens only (first 90 % count, last 10 % score). */
export function tuneAlpha(train: Uint32Array, order: number, vocabSize: number, grid: readonly number[] = DEFAULT_ALPHA_GRID): AlphaChoice {
  if (grid.length === 0) throw new Error('tuneAlpha: empty grid');
  const cut = Math.floor(train.length * 0.9);
  const counts = new NgramCounts(train.subarray(0, cut), order, vocabSize);
  const held = counts.lookup(train.subarray(cut));
  const scored = grid.map((alpha) => ({ alpha, natsPerToken: meanNll(held, alpha, vocabSize) }));
  // Lowest held-out loss; ties to the smaller α (grid order is irrelevant to the result).
  const best = scored.reduce((a, b) => (b.natsPerToken < a.natsPerToken || (b.natsPerToken === a.natsPerToken && b.alpha < a.alpha) ? b : a));
  return { alpha: best.alpha, grid: scored };
}

export interface NgramReference {
  readonly order: number;
  readonly alpha: number;
  /** Present when α was tuned: the held-out grid on the training tokens. */
  readonly alphaGrid?: AlphaChoice['grid'];
  /** Mean validation cross-entropy per scored token (nats). */
  readonly natsPerToken: number;
  /** Per character: natsPerToken × tokens / chars (= natsPerToken for char-level tokens). */
  readonly natsPerChar: number;
  readonly bitsPerChar: number;
  /** Validation tokens scored (the first order − 1 have no full context inside validation and are skipped). */
  readonly scoredTokens: number;
}

export interface NgramReferenceOptions {
  vocabSize: number;
  /** Default [1, 2, 3]. */
  orders?: readonly number[];
  /** A fixed α, or `tune` (default) to choose it per order on the training tokens from `alphaGrid`. */
  alpha?: number | 'tune';
  alphaGrid?: readonly number[];
}

/** Unigram/bigram/trigram (by default) validation cross-entropy on a train/validation pair. */
export function ngramReferences(train: TokenStream, valid: TokenStream, options: NgramReferenceOptions): NgramReference[] {
  const { vocabSize } = options;
  const charsPerToken = valid.chars / valid.tokens.length;
  if (!(charsPerToken > 0)) throw new Error('ngramReferences: the validation stream is empty');
  return (options.orders ?? [1, 2, 3]).map((order) => {
    const choice = options.alpha === undefined || options.alpha === 'tune' ? tuneAlpha(train.tokens, order, vocabSize, options.alphaGrid) : undefined;
    const alpha = choice ? choice.alpha : (options.alpha as number);
    const counts = new NgramCounts(train.tokens, order, vocabSize);
    const looked = counts.lookup(valid.tokens);
    const natsPerToken = meanNll(looked, alpha, vocabSize);
    const natsPerChar = natsPerToken / charsPerToken;
    return {
      order,
      alpha,
      ...(choice ? { alphaGrid: choice.grid } : {}),
      natsPerToken,
      natsPerChar,
      bitsPerChar: natsPerChar / Math.LN2,
      scoredTokens: looked.full.length,
    };
  });
}
