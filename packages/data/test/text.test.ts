import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ByteTokenizer,
  CharTokenizer,
  countChars,
  createTokenizer,
  encodeCorpus,
  loadMobyDick,
  loadSotu,
  loadTextFile,
  loadTextSource,
  parseTextSource,
  prepareTextData,
  splitText,
  type TextCorpus,
} from '@gossamer/data';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gossamer-text-'));
});

describe('text sources', () => {
  it('parses source names and rejects unknown ones', () => {
    expect(parseTextSource('moby-dick')).toEqual({ kind: 'moby-dick' });
    expect(parseTextSource('sotu')).toEqual({ kind: 'sotu' });
    expect(parseTextSource('text:a/b.txt')).toEqual({ kind: 'file', path: 'a/b.txt' });
    expect(() => parseTextSource('text:')).toThrow(/needs a file path/);
    expect(() => parseTextSource('mnist')).toThrow(/unknown text source "mnist"; use moby-dick, sotu or text:<file>/);
  });

  it('loads Moby Dick in both editions', async () => {
    const plain = await loadMobyDick();
    expect(plain.documents).toHaveLength(1);
    const text = plain.documents[0].text;
    expect(countChars(text)).toBe(1_190_317);
    expect(text.startsWith('CHAPTER 1. Loomings.\n\nCall me Ishmael.')).toBe(true);
    const sections = await loadMobyDick({ edition: 'sections' });
    // Large strings are compared as booleans so a failure does not print the novel.
    expect(sections.documents[0].text.startsWith('CONTENTS')).toBe(true);
    expect(sections.documents[0].text.includes('Epilogue "AND I ONLY AM ESCAPED ALONE TO TELL THEE"')).toBe(true);
    expect(text.includes('Epilogue')).toBe(false); // the plain edition ends with chapter 135
    expect((await loadTextSource('moby-dick')).documents[0].text === text).toBe(true);
  });

  it('loads the State of the Union addresses with president and year', async () => {
    const sotu = await loadSotu();
    expect(sotu.documents.length).toBe(233);
    const first = sotu.documents[0];
    expect(first.speaker).toBe('George Washington');
    expect(first.year).toBe(1790);
    expect(first.text).toMatch(/^Fellow-Citizens of the Senate and House of Representatives/);
    expect(new Set(sotu.documents.map((d) => d.speaker)).size).toBe(43);
  });

  it('reads a UTF-8 file, and says clearly what is wrong with a bad one', async () => {
    const good = join(dir, 'good.txt');
    await writeFile(good, 'héllo 🐋\n');
    expect((await loadTextFile(good)).documents[0].text).toBe('héllo 🐋\n');
    expect((await loadTextSource(`text:${good}`)).name).toBe(`text:${good}`);

    await expect(loadTextFile(join(dir, 'missing.txt'))).rejects.toThrow(/missing\.txt: no such file/);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '');
    await expect(loadTextFile(empty)).rejects.toThrow(/empty\.txt: the file is empty/);
    const bad = join(dir, 'latin1.txt');
    await writeFile(bad, Uint8Array.from([0x61, 0x62, 0xe9, 0x63])); // "abéc" in Latin-1
    await expect(loadTextFile(bad)).rejects.toThrow(/latin1\.txt: not valid UTF-8 \(invalid byte sequence at or just before offset 3\)/);
    await expect(loadTextFile(dir)).rejects.toThrow(/is a directory/);
  });
});

describe('train/validation split', () => {
  const corpus: TextCorpus = { name: 'toy', documents: [{ text: 'abcdefghij'.repeat(10) }] };

  it('one document: first 90 % / last 10 % of characters, contiguous, nothing in both', async () => {
    const { documents } = await loadMobyDick();
    const text = documents[0].text;
    const { train, valid } = splitText({ name: 'm', documents });
    const n = countChars(text);
    expect(countChars(train.documents[0].text)).toBe(Math.floor(n * 0.9));
    expect(countChars(valid.documents[0].text)).toBe(n - Math.floor(n * 0.9));
    expect(train.documents[0].text + valid.documents[0].text === text).toBe(true);
  });

  it('the fraction is configurable and a surrogate pair is never cut', () => {
    const s = splitText(corpus, { validFraction: 0.25 });
    expect(s.train.documents[0].text.length).toBe(75);
    const emoji = splitText({ name: 'e', documents: [{ text: '🐋🐋🐋🐋🐋🐋🐋🐋🐋🐋' }] });
    expect(emoji.train.documents[0].text).toBe('🐋'.repeat(9));
    expect(emoji.valid.documents[0].text).toBe('🐋');
    expect(() => splitText(corpus, { validFraction: 1 })).toThrow(/validFraction must be in \(0, 1\)/);
  });

  it('SOTU within documents: every address split 90/10, speaker kept on both sides', async () => {
    const sotu = await loadSotu();
    const { train, valid } = splitText(sotu);
    expect(train.documents).toHaveLength(233);
    sotu.documents.forEach((d, i) => {
      expect(train.documents[i].text + valid.documents[i].text === d.text).toBe(true);
      expect(train.documents[i].speaker).toBe(d.speaker);
      expect(valid.documents[i].year).toBe(d.year);
    });
  });

  it('SOTU whole documents: each address on one side only, about 10 % of characters in validation, seeded', async () => {
    const sotu = await loadSotu();
    const a = splitText(sotu, { mode: 'whole-documents', seed: 3 });
    const b = splitText(sotu, { mode: 'whole-documents', seed: 3 });
    const c = splitText(sotu, { mode: 'whole-documents', seed: 4 });
    const key = (s: TextCorpus) => s.documents.map((d) => `${d.year} ${d.speaker}`);
    expect(key(a.valid)).toEqual(key(b.valid));
    expect(key(a.valid)).not.toEqual(key(c.valid));
    const trainKeys = new Set(key(a.train));
    expect(key(a.valid).some((k) => trainKeys.has(k))).toBe(false);
    expect(a.train.documents.length + a.valid.documents.length).toBe(233);
    const chars = (s: TextCorpus) => s.documents.reduce((t, d) => t + d.text.length, 0);
    const share = chars(a.valid) / (chars(a.train) + chars(a.valid));
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
  });
});

describe('tokenizers', () => {
  const sample = 'Call me Ishmael — “whale” 🐋 naïve\n';

  it('char-level: vocabulary = distinct training characters by code point, plus one unknown id', () => {
    const tok = CharTokenizer.fromTexts([sample]);
    const distinct = [...new Set(sample)];
    expect(tok.vocabSize).toBe(distinct.length + 1);
    expect(tok.unknownId).toBe(distinct.length);
    expect(Array.from(tok.codePoints)).toEqual(distinct.map((c) => c.codePointAt(0)).sort((a, b) => a! - b!));
    const ids = tok.encode(sample);
    expect(ids.length).toBe(countChars(sample)); // the whale is one token, not two UTF-16 units
    expect(tok.decode(ids)).toBe(sample);
    // Characters seen only in validation become the unknown id.
    const unseen = tok.encode('Q!');
    expect(Array.from(unseen)).toEqual([tok.unknownId, tok.unknownId]);
    expect(tok.decode(unseen)).toBe('\ufffd\ufffd');
    expect(tok.countUnknown('QaQ')).toBe(2);
    expect(() => tok.decode([tok.vocabSize])).toThrow(/out of range/);
  });

  it('char-level: the same text gives the same vocabulary whatever the document order', () => {
    const a = CharTokenizer.fromTexts(['the cat', 'sat on', 'the mat']);
    const b = CharTokenizer.fromTexts(['the mat', 'the cat', 'sat on'].reverse());
    expect(Array.from(a.codePoints)).toEqual(Array.from(b.codePoints));
    expect(Array.from(a.encode('mat cast'))).toEqual(Array.from(b.encode('mat cast')));
    expect(Array.from(a.encode('a c'))).toEqual([1, 0, 2]); // ' ' < 'a' < 'c'
  });

  it('byte-level: UTF-8 bytes, vocabulary 256, round trip', () => {
    const tok = new ByteTokenizer();
    const ids = tok.encode(sample);
    expect(tok.vocabSize).toBe(256);
    expect(Array.from(ids)).toEqual(Array.from(new TextEncoder().encode(sample)));
    expect(tok.decode(ids)).toBe(sample);
    expect(() => tok.decode([256])).toThrow(/not a byte/);
  });

  it('a corpus becomes one stream with document ranges and a separator between documents', () => {
    const corpus: TextCorpus = { name: 'c', documents: [{ text: 'ab\n\nc', speaker: 'X' }, { text: 'ba', speaker: 'Y', year: 2 }] };
    const tok = createTokenizer('char', corpus);
    const stream = encodeCorpus(tok, corpus);
    expect(tok.decode(stream.tokens)).toBe('ab\n\nc\n\nba');
    expect(stream.documents).toEqual([
      { start: 0, end: 7, chars: 5, speaker: 'X' },
      { start: 7, end: 9, chars: 2, speaker: 'Y', year: 2 },
    ]);
    expect(stream.chars).toBe(9);
    expect(() => createTokenizer('wordpiece' as 'char', corpus)).toThrow(/unknown tokenizer "wordpiece"; use char, byte or bpe/);
  });
});

describe('prepareTextData', () => {
  it('learns the vocabulary on the training split only and counts unseen validation characters', () => {
    const corpus: TextCorpus = { name: 'toy', documents: [{ text: 'abababababababababXY' }] };
    const data = prepareTextData(corpus, { validFraction: 0.1 });
    expect(data.tokenizer.vocabSize).toBe(3); // a, b + unknown
    expect(data.unknownInValid).toBe(2);
    expect(Array.from(data.valid.tokens)).toEqual([2, 2]);
    expect(data.train.tokens.length).toBe(18);
    const bytes = prepareTextData(corpus, { tokenizer: 'byte' });
    expect(bytes.unknownInValid).toBe(0);
    expect(bytes.tokenizer.decode(bytes.valid.tokens)).toBe('XY');
    // One character: ⌊0.9⌋ = 0 characters to train on.
    expect(() => prepareTextData({ name: 'tiny', documents: [{ text: 'a' }] })).toThrow(/tiny\): the training split is empty/);
    expect(() => prepareTextData({ name: 'tiny', documents: [{ text: 'a' }, { text: 'b' }] }, { mode: 'whole-documents' })).not.toThrow();
  });
});
