import { describe, expect, it } from 'vitest';
import { BpeTokenizer, createTokenizer, encodeCorpus, loadMobyDick, ngramReferences, splitText } from '@gossamer/data';

describe('byte-level BPE', () => {
  it('learns the most frequent pair first and stops when no pair repeats', () => {
    // Pieces "abab" and " abab": (a,b) ×4 → 256; then (256,256) ×2 → 257; then only (' ',257) ×1 is left.
    const tok = BpeTokenizer.train(['abab abab'], { vocabSize: 300 });
    expect(tok.merges).toEqual([
      [97, 98],
      [256, 256],
    ]);
    expect(tok.vocabSize).toBe(258);
    expect(Array.from(tok.encode('abab abab'))).toEqual([257, 32, 257]);
    expect(Array.from(tok.encode('aba'))).toEqual([256, 97]);
  });

  it('round-trips any text, characters never seen in training included (it falls back to bytes)', () => {
    const tok = BpeTokenizer.train(['the whale, the whale! the sea.'], { vocabSize: 280 });
    for (const text of ['the whale', 'Naïve 🐋 — “quoted”\n\ttabs  and   spaces', '']) expect(tok.decode(tok.encode(text))).toBe(text);
    expect(tok.encode('the the').length).toBeLessThan(new TextEncoder().encode('the the').length);
    expect(() => tok.decode([tok.vocabSize])).toThrow(/out of range/);
  });

  it('merges never cross a piece boundary (letters, digits, symbols, whitespace)', () => {
    const tok = BpeTokenizer.train(['ab. ab. ab. ab.'], { vocabSize: 400 });
    for (let id = 256; id < tok.vocabSize; id++) {
      const piece = tok.decode([id]);
      expect(/^ ?[a-z]+$|^ ?[.]+$|^\s+$/.test(piece)).toBe(true);
    }
  });

  it('is deterministic: the same merges whatever the document order, and rejects a vocabulary under 256', () => {
    const docs = ['call me ishmael', 'some years ago', 'never mind how long precisely', 'me me me'];
    const a = BpeTokenizer.train(docs, { vocabSize: 300 });
    const b = BpeTokenizer.train([...docs].reverse(), { vocabSize: 300 });
    expect(a.merges).toEqual(b.merges);
    expect(() => BpeTokenizer.train(docs, { vocabSize: 100 })).toThrow(/vocabSize must be an integer ≥ 256/);
  });

  it('on Moby Dick: 512 tokens, ≈ 2 characters per token, and a bigram that beats the character bigram', async () => {
    const split = splitText(await loadMobyDick());
    const bpe = createTokenizer('bpe', split.train, { bpeVocabSize: 512 });
    expect(bpe.vocabSize).toBe(512);
    const train = encodeCorpus(bpe, split.train);
    const valid = encodeCorpus(bpe, split.valid);
    expect(bpe.decode(valid.tokens) === split.valid.documents[0].text).toBe(true);
    expect(valid.chars / valid.tokens.length).toBeGreaterThan(1.9);
    const [bigram] = ngramReferences(train, valid, { vocabSize: bpe.vocabSize, orders: [2] });
    const chars = createTokenizer('char', split.train);
    const [charBigram] = ngramReferences(encodeCorpus(chars, split.train), encodeCorpus(chars, split.valid), { vocabSize: chars.vocabSize, orders: [2] });
    // A BPE bigram conditions on about two characters of context per token, so per character it is lower.
    expect(bigram.bitsPerChar).toBeLessThan(charBigram.bitsPerChar);
  });
});
