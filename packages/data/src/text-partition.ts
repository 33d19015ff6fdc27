/**
 * Splitting a training token stream across n workers: `contiguous` (IID-style: worker i gets the i-th
 * contiguous slice, sizes equal ±1 token) and `by-speaker` (SOTU: each worker gets whole documents
 * of its own presidents, no president on two workers, balanced by characters). Deterministic: the
 * same stream and n give the same shards on every machine, with no seed to agree on.
 */

import type { TokenDocument, TokenStream } from './tokenizer.js';

export interface TextShard {
  readonly worker: number;
  /**
   * The worker's tokens. Contiguous shards are views into the stream (no copy); by-speaker shards are
   * the worker's documents concatenated in stream order.
   */
  readonly tokens: Uint32Array;
  /** [start, end) ranges of the stream that make up `tokens`, in order. */
  readonly ranges: readonly (readonly [number, number])[];
  /** Characters the shard's documents hold (by-speaker), or the token count (contiguous). */
  readonly chars: number;
  /** The presidents of a by-speaker shard, sorted. */
  readonly speakers?: readonly string[];
}

export type TextPartitionKind = 'contiguous' | 'by-speaker';

export function partitionText(stream: TokenStream, numWorkers: number, kind: TextPartitionKind): TextShard[] {
  if (kind === 'contiguous') return partitionTextContiguous(stream, numWorkers);
  if (kind === 'by-speaker') return partitionTextBySpeaker(stream, numWorkers);
  throw new Error(`unknown text partition ${JSON.stringify(kind)}; use contiguous or by-speaker`);
}

/** Worker i gets tokens [⌊i·L/n⌋, ⌊(i+1)·L/n⌋). */
export function partitionTextContiguous(stream: TokenStream, numWorkers: number): TextShard[] {
  checkWorkers(numWorkers, 'partitionTextContiguous');
  const L = stream.tokens.length;
  if (L < numWorkers) throw new Error(`partitionTextContiguous: ${L} tokens cannot give each of ${numWorkers} workers one`);
  const shards: TextShard[] = [];
  for (let i = 0; i < numWorkers; i++) {
    const start = Math.floor((i * L) / numWorkers);
    const end = Math.floor(((i + 1) * L) / numWorkers);
    shards.push({ worker: i, tokens: stream.tokens.subarray(start, end), ranges: [[start, end]], chars: end - start });
  }
  return shards;
}

/**
 * Presidents to workers by longest-processing-time: speakers sorted by characters (descending, ties
 * by name), each to the currently lightest worker (ties to the lower index). The first n speakers go
 * one per worker, so every worker has at least one; LPT's largest load is within 4/3 of optimal.
 */
export function partitionTextBySpeaker(stream: TokenStream, numWorkers: number): TextShard[] {
  checkWorkers(numWorkers, 'partitionTextBySpeaker');
  const bySpeaker = new Map<string, TokenDocument[]>();
  for (const d of stream.documents) {
    if (d.speaker === undefined) throw new Error('partitionTextBySpeaker: a document has no speaker (use a corpus such as sotu, or the contiguous partition)');
    let list = bySpeaker.get(d.speaker);
    if (!list) bySpeaker.set(d.speaker, (list = []));
    list.push(d);
  }
  if (bySpeaker.size < numWorkers) {
    throw new Error(`partitionTextBySpeaker: ${bySpeaker.size} speakers cannot be split over ${numWorkers} workers (each worker needs a speaker of its own)`);
  }
  const weight = (docs: TokenDocument[]): number => docs.reduce((a, d) => a + d.chars, 0);
  const speakers = [...bySpeaker.entries()]
    .map(([name, docs]) => ({ name, docs, chars: weight(docs) }))
    .sort((a, b) => b.chars - a.chars || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const load = new Float64Array(numWorkers);
  const assigned: (typeof speakers)[] = Array.from({ length: numWorkers }, () => []);
  for (const s of speakers) {
    let best = 0;
    for (let w = 1; w < numWorkers; w++) if (load[w] < load[best]) best = w;
    assigned[best].push(s);
    load[best] += s.chars;
  }
  return assigned.map((list, worker) => {
    const docs = list.flatMap((s) => s.docs).sort((a, b) => a.start - b.start);
    const ranges = docs.map((d) => [d.start, d.end] as const);
    const total = ranges.reduce((a, [s, e]) => a + (e - s), 0);
    const tokens = new Uint32Array(total);
    let at = 0;
    for (const [s, e] of ranges) {
      tokens.set(stream.tokens.subarray(s, e), at);
      at += e - s;
    }
    const speakerNames = list.map((s) => s.name).sort();
    return { worker, tokens, ranges, chars: load[worker], speakers: speakerNames };
  });
}

function checkWorkers(n: number, where: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: numWorkers must be a positive integer, got ${n}`);
}
