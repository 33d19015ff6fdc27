/**
 * The text pipeline in one call, as a language-model run uses it: split a corpus, learn the
 * tokenizer on the training split only, and encode both splits into token streams.
 */

import { splitText, type TextCorpus, type TextSplit, type TextSplitOptions } from './text.js';
import { createTokenizer, encodeCorpus, type CreateTokenizerOptions, type Tokenizer, type TokenizerKind, type TokenStream } from './tokenizer.js';

export interface TextDataOptions extends TextSplitOptions, CreateTokenizerOptions {
  /** Default `char`. */
  tokenizer?: TokenizerKind;
  /** Put between documents in a stream. Default "\n\n". */
  separator?: string;
}

export interface TextData {
  readonly tokenizer: Tokenizer;
  readonly split: TextSplit;
  readonly train: TokenStream;
  readonly valid: TokenStream;
  /** Validation characters outside a char-level vocabulary (each becomes the unknown id); 0 otherwise. */
  readonly unknownInValid: number;
}

export function prepareTextData(corpus: TextCorpus, options: TextDataOptions = {}): TextData {
  const split = splitText(corpus, options);
  for (const [side, part] of [['training', split.train], ['validation', split.valid]] as const) {
    if (part.documents.every((d) => d.text.length === 0)) throw new Error(`prepareTextData(${corpus.name}): the ${side} split is empty`);
  }
  const tokenizer = createTokenizer(options.tokenizer ?? 'char', split.train, options);
  const train = encodeCorpus(tokenizer, split.train, options.separator);
  const valid = encodeCorpus(tokenizer, split.valid, options.separator);
  let unknownInValid = 0;
  if (tokenizer.unknownId !== undefined) for (let i = 0; i < valid.tokens.length; i++) if (valid.tokens[i] === tokenizer.unknownId) unknownInValid++;
  return { tokenizer, split, train, valid, unknownInValid };
}
