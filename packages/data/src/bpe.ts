/**
 * A small byte-level BPE (Sennrich et al. 2016, on UTF-8 bytes as in GPT-2), learned from the
 * training split. Text is first cut into pieces — a run of letters, of digits or of other symbols,
 * each with at most one leading space, or a run of whitespace — and merges never cross a piece, so
 * "whale." and "whale," share the token for " whale". Each merge joins the most frequent adjacent
 * pair (ties: the smaller left id, then the smaller right id), so the merges, and hence the ids, are
 * the same on every machine. Ids 0–255 are the bytes; id 256 + k is merge k.
 */

import type { Tokenizer } from './tokenizer.js';

const PIECE = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeOptions {
  /** Final vocabulary: 256 bytes + merges. Default 512. Training stops early when no pair repeats. */
  vocabSize?: number;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  /** merges[k] = [left, right] of token 256 + k. */
  readonly merges: readonly (readonly [number, number])[];
  private readonly rank = new Map<number, number>();
  private readonly bytesOf: Uint8Array[];
  private readonly cache = new Map<string, Uint32Array>();
  private readonly encoder = new TextEncoder();

  constructor(merges: readonly (readonly [number, number])[]) {
    this.merges = merges;
    this.vocabSize = 256 + merges.length;
    this.bytesOf = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    merges.forEach(([a, b], k) => {
      const id = 256 + k;
      if (!(a < id && b < id && a >= 0 && b >= 0)) throw new Error(`BpeTokenizer: merge ${k} uses a token that does not exist yet (${a}, ${b})`);
      this.rank.set(a * PAIR + b, k);
      const joined = new Uint8Array(this.bytesOf[a].length + this.bytesOf[b].length);
      joined.set(this.bytesOf[a]);
      joined.set(this.bytesOf[b], this.bytesOf[a].length);
      this.bytesOf.push(joined);
    });
  }

  /** Learns merges from `texts` (the training split's documents). */
  static train(texts: Iterable<string>, options: BpeOptions = {}): BpeTokenizer {
    const target = options.vocabSize ?? 512;
    if (!Number.isInteger(target) || target < 256) throw new Error(`BpeTokenizer.train: vocabSize must be an integer ≥ 256, got ${target}`);
    if (target > PAIR) throw new Error(`BpeTokenizer.train: vocabSize must be at most ${PAIR}`);
    // Distinct pieces with their frequencies: merges are counted over piece types, weighted.
    const freq = new Map<string, number>();
    for (const text of texts) for (const m of text.matchAll(PIECE)) freq.set(m[0], (freq.get(m[0]) ?? 0) + 1);
    const encoder = new TextEncoder();
    const words: number[][] = [];
    const weights: number[] = [];
    for (const [piece, n] of freq) {
      words.push(Array.from(encoder.encode(piece)));
      weights.push(n);
    }
    // Pair counts are kept up to date incrementally: a merge only touches the pieces that hold
    // the merged pair (found through `holders`), not every piece.
    const counts = new Map<number, number>();
    const holders = new Map<number, Set<number>>();
    const addPairs = (w: number, sign: 1 | -1): void => {
      const s = words[w];
      for (let i = 0; i + 1 < s.length; i++) {
        const key = s[i] * PAIR + s[i + 1];
        const n = (counts.get(key) ?? 0) + sign * weights[w];
        if (n === 0) counts.delete(key);
        else counts.set(key, n);
        if (sign > 0) {
          let set = holders.get(key);
          if (!set) holders.set(key, (set = new Set()));
          set.add(w);
        }
      }
    };
    for (let w = 0; w < words.length; w++) addPairs(w, 1);
    const merges: [number, number][] = [];
    while (256 + merges.length < target) {
      let best = -1;
      let bestCount = 1; // a pair seen once is not worth a token
      for (const [key, n] of counts) if (n > bestCount || (n === bestCount && best >= 0 && key < best)) (best = key), (bestCount = n);
      if (best < 0) break;
      const a = Math.floor(best / PAIR);
      const b = best % PAIR;
      const id = 256 + merges.length;
      merges.push([a, b]);
      // Sorted so the update order, and so every count, is the same on every machine.
      for (const w of [...(holders.get(best) ?? [])].sort((x, y) => x - y)) {
        addPairs(w, -1);
        words[w] = mergePair(words[w], a, b, id);
        addPairs(w, 1);
      }
      holders.delete(best);
      counts.delete(best);
    }
    return new BpeTokenizer(merges);
  }

  encode(text: string): Uint32Array {
    const parts: Uint32Array[] = [];
    let length = 0;
    for (const m of text.matchAll(PIECE)) {
      const ids = this.encodePiece(m[0]);
      parts.push(ids);
      length += ids.length;
    }
    const out = new Uint32Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Invalid UTF-8 (a window cut inside a character) decodes to U+FFFD. */
  decode(ids: ArrayLike<number>): string {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const bytes = this.bytesOf[ids[i]];
      if (!bytes) throw new Error(`BpeTokenizer.decode: id ${ids[i]} out of range [0, ${this.vocabSize})`);
      chunks.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return new TextDecoder('utf-8').decode(all);
  }

  /** Applies merges in rank order (lowest first) within one piece; cached, since pieces repeat. */
  private encodePiece(piece: string): Uint32Array {
    const hit = this.cache.get(piece);
    if (hit) return hit;
    let s = Array.from(this.encoder.encode(piece));
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < s.length; i++) {
        const r = this.rank.get(s[i] * PAIR + s[i + 1]);
        if (r !== undefined && r < bestRank) bestRank = r;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank];
      s = mergePair(s, a, b, 256 + bestRank);
    }
    const ids = Uint32Array.from(s);
    if (this.cache.size < 1 << 16) this.cache.set(piece, ids);
    return ids;
  }
}

/** Pair keys are left·PAIR + right; also the largest vocabulary supported. */
const PAIR = 1 << 20;

function mergePair(s: number[], a: number, b: number, id: number): number[] {
  let found = false;
  for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) found = true;
  if (!found) return s;
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
      out.push(id);
      i++;
    } else {
      out.push(s[i]);
    }
  }
  return out;
}
