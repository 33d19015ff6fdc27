import { beforeAll, describe, expect, it } from 'vitest';
import {
  NgramCounts,
  Random,
  createTokenizer,
  encodeCorpus,
  loadMobyDick,
  ngramReferences,
  splitText,
  tuneAlpha,
  type Tokenizer,
  type TokenStream,
} from '@gossamer/data';

/** Add-α cross-entropy straight from the definition, with string keys: the reference for NgramCounts. */
function bruteForce(train: Uint32Array, valid: Uint32Array, order: number, vocabSize: number, alpha: number): number {
  const full = new Map<string, number>();
  const ctx = new Map<string, number>();
  for (let i = order - 1; i < train.length; i++) {
    const c = Array.from(train.subarray(i - order + 1, i)).join(',');
    full.set(`${c}|${train[i]}`, (full.get(`${c}|${train[i]}`) ?? 0) + 1);
    ctx.set(c, (ctx.get(c) ?? 0) + 1);
  }
  let sum = 0;
  let n = 0;
  for (let i = order - 1; i < valid.length; i++) {
    const c = Array.from(valid.subarray(i - order + 1, i)).join(',');
    sum -= Math.log(((full.get(`${c}|${valid[i]}`) ?? 0) + alpha) / ((ctx.get(c) ?? 0) + alpha * vocabSize));
    n++;
  }
  return sum / n;
}

describe('n-gram counts', () => {
  it('match the definition on random tokens, dense and sparse storage alike', () => {
    const random = new Random(5);
    for (const vocabSize of [5, 300]) {
      // 300³ keys exceed the dense limit, so the trigram goes through the Map path.
      const train = Uint32Array.from({ length: 3000 }, () => random.int(Math.min(vocabSize, 7)));
      const valid = Uint32Array.from({ length: 500 }, () => random.int(Math.min(vocabSize, 8)));
      for (const order of [1, 2, 3]) {
        const counts = new NgramCounts(train, order, vocabSize);
        expect(counts.total).toBe(train.length - order + 1);
        for (const alpha of [0.01, 1]) {
          expect(counts.crossEntropy(valid, alpha)).toBeCloseTo(bruteForce(train, valid, order, vocabSize, alpha), 10);
        }
      }
    }
  });

  it('a uniform model: α → ∞ gives log V; an unseen context gives log V for any α', () => {
    const train = Uint32Array.from([0, 1, 2, 0, 1, 2]);
    expect(new NgramCounts(train, 2, 4).crossEntropy(Uint32Array.from([3, 3]), 0.5)).toBeCloseTo(Math.log(4), 12);
    expect(new NgramCounts(train, 1, 4).crossEntropy(Uint32Array.from([0, 1, 3]), 1e9)).toBeCloseTo(Math.log(4), 6);
  });

  it('rejects bad input', () => {
    expect(() => new NgramCounts(Uint32Array.from([0, 5]), 2, 5)).toThrow(/token 5 at 1 is not below vocabSize 5/);
    expect(() => new NgramCounts(new Uint32Array(4), 0, 5)).toThrow(/order must be a positive integer/);
    expect(() => new NgramCounts(new Uint32Array(4), 1, 5).crossEntropy(new Uint32Array(2), 0)).toThrow(/alpha must be positive/);
    expect(() => tuneAlpha(new Uint32Array(100), 1, 2, [])).toThrow(/empty grid/);
  });
});

describe('count-based references on Moby Dick (90/10 character split)', () => {
  let tokenizer: Tokenizer;
  let train: TokenStream;
  let valid: TokenStream;
  beforeAll(async () => {
    const split = splitText(await loadMobyDick(), { validFraction: 0.1 });
    tokenizer = createTokenizer('char', split.train);
    train = encodeCorpus(tokenizer, split.train);
    valid = encodeCorpus(tokenizer, split.valid);
  });

  it('reproduces ALGORITHMS.md §9: unigram 3.12, bigram 2.46, trigram 2.01 nats/char', () => {
    // 83 characters in the training split + the unknown id; the validation split has no unseen character.
    expect(tokenizer.vocabSize).toBe(84);
    const refs = ngramReferences(train, valid, { vocabSize: tokenizer.vocabSize });
    // The published figures are rounded to 0.01, so the computed value must lie within ±0.005 of
    // each: a tolerance of the rounding alone (toBeCloseTo(x, 2) checks |Δ| < 0.005).
    expect(refs.map((r) => r.order)).toEqual([1, 2, 3]);
    expect(refs[0].natsPerChar).toBeCloseTo(3.12, 2);
    expect(refs[1].natsPerChar).toBeCloseTo(2.46, 2);
    expect(refs[2].natsPerChar).toBeCloseTo(2.01, 2);
    for (const r of refs) {
      expect(r.natsPerChar).toBe(r.natsPerToken); // char-level: one token per character
      expect(r.bitsPerChar).toBeCloseTo(r.natsPerChar / Math.LN2, 12);
      expect(r.scoredTokens).toBe(valid.tokens.length - r.order + 1);
      // α was chosen on the training tokens from the grid, which the result reports.
      expect(r.alphaGrid!.some((g) => g.alpha === r.alpha)).toBe(true);
    }
  });

  it('the tuned α beats both ends of the grid on validation for the trigram', () => {
    const [tuned] = ngramReferences(train, valid, { vocabSize: tokenizer.vocabSize, orders: [3] });
    for (const alpha of [0.001, 1]) {
      const [fixed] = ngramReferences(train, valid, { vocabSize: tokenizer.vocabSize, orders: [3], alpha });
      expect(fixed.natsPerChar).toBeGreaterThan(tuned.natsPerChar);
    }
  });

  it('byte-level references report bits per character, not per byte', async () => {
    const split = splitText(await loadMobyDick());
    const bytes = createTokenizer('byte', split.train);
    const bTrain = encodeCorpus(bytes, split.train);
    const bValid = encodeCorpus(bytes, split.valid);
    expect(bValid.tokens.length).toBeGreaterThan(bValid.chars); // em dashes and curly quotes take 3 bytes
    const [uni] = ngramReferences(bTrain, bValid, { vocabSize: 256, orders: [1] });
    expect(uni.natsPerChar).toBeCloseTo((uni.natsPerToken * bValid.tokens.length) / bValid.chars, 12);
    expect(uni.natsPerChar).toBeGreaterThan(uni.natsPerToken);
  });
});
