/**
 * Tokenizers for language modelling, and the token stream of a corpus. Character-level: one token
 * per Unicode code point, the vocabulary the distinct code points of the TRAINING text sorted by code
 * point (so it is the same on every machine), plus one unknown id, the last, that every character not
 * in the vocabulary maps to (characters seen only in validation; decoded as U+FFFD). Byte-level: the
 * UTF-8 bytes, vocabulary 256, nothing unknown.
 */

import { BpeTokenizer } from './bpe.js';
import { countChars, type TextCorpus, type TextDocument } from './text.js';

export interface Tokenizer {
  readonly kind: 'char' | 'byte' | 'bpe';
  /** Ids are in [0, vocabSize). */
  readonly vocabSize: number;
  /** The id of characters outside the vocabulary (char-level only). */
  readonly unknownId?: number;
  encode(text: string): Uint32Array;
  decode(ids: ArrayLike<number>): string;
}

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  readonly unknownId: number;
  /** The vocabulary's code points, ascending; id = index. */
  readonly codePoints: Uint32Array;
  private readonly ids = new Map<number, number>();

  constructor(codePoints: ArrayLike<number>) {
    this.codePoints = Uint32Array.from(codePoints).sort();
    for (let i = 0; i < this.codePoints.length; i++) {
      const cp = this.codePoints[i];
      if (cp > 0x10ffff || (i > 0 && cp === this.codePoints[i - 1])) throw new Error(`CharTokenizer: bad or repeated code point ${cp}`);
      this.ids.set(cp, i);
    }
    this.unknownId = this.codePoints.length;
    this.vocabSize = this.codePoints.length + 1;
  }

  /** The vocabulary of `texts` (normally the training split's documents). */
  static fromTexts(texts: Iterable<string>): CharTokenizer {
    const seen = new Set<number>();
    for (const text of texts) for (const ch of text) seen.add(ch.codePointAt(0)!);
    if (seen.size === 0) throw new Error('CharTokenizer.fromTexts: no characters to build a vocabulary from');
    return new CharTokenizer([...seen]);
  }

  encode(text: string): Uint32Array {
    const out = new Uint32Array(text.length); // ≥ the number of code points
    let n = 0;
    for (const ch of text) out[n++] = this.ids.get(ch.codePointAt(0)!) ?? this.unknownId;
    return n === out.length ? out : out.slice(0, n);
  }

  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!(id >= 0 && id < this.vocabSize) || !Number.isInteger(id)) throw new Error(`CharTokenizer.decode: id ${id} out of range [0, ${this.vocabSize})`);
      s += id === this.unknownId ? '\ufffd' : String.fromCodePoint(this.codePoints[id]);
    }
    return s;
  }

  /** How many characters of `text` are outside the vocabulary. */
  countUnknown(text: string): number {
    let n = 0;
    for (const ch of text) if (!this.ids.has(ch.codePointAt(0)!)) n++;
    return n;
  }
}

export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte';
  readonly vocabSize = 256;
  private readonly encoder = new TextEncoder();

  encode(text: string): Uint32Array {
    return Uint32Array.from(this.encoder.encode(text));
  }

  /** Invalid UTF-8 (e.g. a window cut inside a character) decodes to U+FFFD, not an error. */
  decode(ids: ArrayLike<number>): string {
    const bytes = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      if (!(ids[i] >= 0 && ids[i] < 256) || !Number.isInteger(ids[i])) throw new Error(`ByteTokenizer.decode: id ${ids[i]} is not a byte`);
      bytes[i] = ids[i];
    }
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export type TokenizerKind = 'char' | 'byte' | 'bpe';

export interface CreateTokenizerOptions {
  /** BPE only: 256 bytes + merges. Default 512. */
  bpeVocabSize?: number;
}

/** A tokenizer for `kind`, its vocabulary (char-level, BPE) learned from `train` only. */
export function createTokenizer(kind: TokenizerKind, train: TextCorpus, options: CreateTokenizerOptions = {}): Tokenizer {
  if (kind === 'char') return CharTokenizer.fromTexts(train.documents.map((d) => d.text));
  if (kind === 'byte') return new ByteTokenizer();
  if (kind === 'bpe') return BpeTokenizer.train(train.documents.map((d) => d.text), { vocabSize: options.bpeVocabSize ?? 512 });
  throw new Error(`unknown tokenizer ${JSON.stringify(kind)}; use char, byte or bpe`);
}

/** One document's place in a token stream. */
export interface TokenDocument {
  /** [start, end) in `TokenStream.tokens`, including the separator that follows it (if any). */
  readonly start: number;
  readonly end: number;
  /** Characters (code points) of the document itself. */
  readonly chars: number;
  readonly speaker?: string;
  readonly year?: number;
}

/** A corpus as one token array, documents back to back; the GPU uploads `tokens` once. */
export interface TokenStream {
  readonly tokens: Uint32Array;
  readonly documents: readonly TokenDocument[];
  /** Characters (code points) the tokens stand for, separators included: the divisor of bits per character. */
  readonly chars: number;
}

/**
 * Encodes every document and concatenates them, with `separator` (default a blank line, "\n\n",
 * which is in any vocabulary learned from multi-paragraph text) between documents so a model or an
 * n-gram sees a boundary rather than one address running into the next.
 */
export function encodeCorpus(tokenizer: Tokenizer, corpus: TextCorpus, separator = '\n\n'): TokenStream {
  const parts: Uint32Array[] = [];
  const documents: TokenDocument[] = [];
  const sep = tokenizer.encode(separator);
  const sepChars = countChars(separator);
  let length = 0;
  let chars = 0;
  corpus.documents.forEach((d: TextDocument, i) => {
    const ids = tokenizer.encode(d.text);
    const last = i === corpus.documents.length - 1;
    const start = length;
    parts.push(ids);
    length += ids.length;
    const docChars = countChars(d.text);
    chars += docChars;
    if (!last) {
      parts.push(sep);
      length += sep.length;
      chars += sepChars;
    }
    documents.push({ start, end: length, chars: docChars, ...(d.speaker !== undefined ? { speaker: d.speaker } : {}), ...(d.year !== undefined ? { year: d.year } : {}) });
  });
  const tokens = new Uint32Array(length);
  let at = 0;
  for (const p of parts) {
    tokens.set(p, at);
    at += p.length;
  }
  return { tokens, documents, chars };
}
