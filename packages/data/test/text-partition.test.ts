import { beforeAll, describe, expect, it } from 'vitest';
import {
  WindowSampler,
  createTokenizer,
  encodeCorpus,
  gatherWindows,
  loadSotu,
  partitionText,
  partitionTextBySpeaker,
  partitionTextContiguous,
  splitText,
  type TextShard,
  type TokenStream,
} from '@gossamer/data';

/**
 * Every stream position is in exactly one shard's ranges, and the shard's tokens are those
 * positions' tokens. Plain loops with one assertion at the end: SOTU has ~10 M positions.
 */
function expectExactCover(stream: TokenStream, shards: TextShard[]): void {
  const owner = new Int32Array(stream.tokens.length).fill(-1);
  const problems: string[] = [];
  for (const shard of shards) {
    let at = 0;
    for (const [start, end] of shard.ranges) {
      for (let p = start; p < end; p++, at++) {
        if (owner[p] !== -1) problems.push(`position ${p} on workers ${owner[p]} and ${shard.worker}`);
        owner[p] = shard.worker;
        if (shard.tokens[at] !== stream.tokens[p]) problems.push(`worker ${shard.worker} token ${at} is not stream token ${p}`);
      }
    }
    if (at !== shard.tokens.length) problems.push(`worker ${shard.worker}: ranges hold ${at} tokens, shard ${shard.tokens.length}`);
    if (problems.length > 10) break;
  }
  const missing = owner.indexOf(-1);
  if (missing >= 0) problems.push(`position ${missing} on no worker`);
  expect(problems).toEqual([]);
}

describe('contiguous text shards', () => {
  const tokens = Uint32Array.from({ length: 1003 }, (_, i) => (i * 7) % 13);
  const stream: TokenStream = { tokens, documents: [{ start: 0, end: tokens.length, chars: tokens.length }], chars: tokens.length };

  it('worker i gets the i-th contiguous slice; every token in exactly one shard; sizes equal ±1', () => {
    const shards = partitionTextContiguous(stream, 7);
    expectExactCover(stream, shards);
    shards.forEach((s, i) => {
      expect(s.worker).toBe(i);
      if (i > 0) expect(s.ranges[0][0]).toBe(shards[i - 1].ranges[0][1]);
    });
    const sizes = shards.map((s) => s.tokens.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(partitionText(stream, 7, 'contiguous')).toEqual(shards);
  });

  it('rejects bad worker counts', () => {
    expect(() => partitionTextContiguous(stream, 0)).toThrow(/numWorkers must be a positive integer/);
    expect(() => partitionTextContiguous(stream, 2000)).toThrow(/1003 tokens cannot give each of 2000 workers one/);
    expect(() => partitionText(stream, 2, 'dirichlet' as 'contiguous')).toThrow(/unknown text partition/);
  });
});

describe('by-speaker shards of the State of the Union', () => {
  let train: TokenStream;
  beforeAll(async () => {
    const split = splitText(await loadSotu());
    train = encodeCorpus(createTokenizer('char', split.train), split.train);
  });

  it('no president on two workers, whole documents, every training token covered, balanced', () => {
    const shards = partitionTextBySpeaker(train, 8);
    expectExactCover(train, shards);
    const seen = new Map<string, number>();
    for (const s of shards) {
      expect(s.speakers!.length).toBeGreaterThan(0);
      for (const name of s.speakers!) {
        expect(seen.has(name)).toBe(false);
        seen.set(name, s.worker);
      }
    }
    expect(seen.size).toBe(43);
    // Whole documents: each shard's ranges are exactly the documents of its presidents.
    for (const d of train.documents) {
      const shard = shards[seen.get(d.speaker!)!];
      expect(shard.ranges.some(([s, e]) => s === d.start && e === d.end)).toBe(true);
    }
    // 43 presidents over 8 workers: the heaviest worker within 10 % of the mean (LPT on ~1.2 M chars each).
    const loads = shards.map((s) => s.chars);
    const mean = loads.reduce((a, b) => a + b, 0) / loads.length;
    expect(Math.max(...loads) / mean).toBeLessThan(1.1);
  });

  it('is deterministic and rejects more workers than presidents', () => {
    const a = partitionTextBySpeaker(train, 5).map((s) => s.speakers);
    const b = partitionText(train, 5, 'by-speaker').map((s) => s.speakers);
    expect(a).toEqual(b);
    expect(() => partitionTextBySpeaker(train, 44)).toThrow(/43 speakers cannot be split over 44 workers/);
  });

  it('needs speakers', () => {
    const noSpeaker: TokenStream = { tokens: new Uint32Array(4), documents: [{ start: 0, end: 4, chars: 4 }], chars: 4 };
    expect(() => partitionTextBySpeaker(noSpeaker, 1)).toThrow(/has no speaker/);
  });
});

describe('random-window batches', () => {
  const tokens = Uint32Array.from({ length: 500 }, (_, i) => i); // token = position, so windows are checkable
  const options = { batchSize: 16, contextLength: 32, seed: 11 };

  it('target = input shifted by one; windows are the tokens at the exposed offsets', () => {
    const sampler = new WindowSampler(tokens, options);
    const { offsets, inputs, targets } = sampler.batch(3);
    expect(offsets).toHaveLength(16);
    expect(inputs).toBeInstanceOf(Uint32Array);
    expect(inputs).toHaveLength(16 * 32);
    expect(targets).toHaveLength(16 * 32);
    for (let b = 0; b < 16; b++) {
      expect(offsets[b]).toBeLessThanOrEqual(500 - 33);
      for (let t = 0; t < 32; t++) {
        expect(inputs[b * 32 + t]).toBe(offsets[b] + t);
        expect(targets[b * 32 + t]).toBe(offsets[b] + t + 1);
      }
    }
  });

  it('deterministic per (seed, step), different across steps and seeds, and covers the range', () => {
    const a = new WindowSampler(tokens, options);
    const b = new WindowSampler(tokens, options);
    expect(Array.from(a.offsets(5))).toEqual(Array.from(b.offsets(5)));
    expect(Array.from(a.offsets(5))).not.toEqual(Array.from(a.offsets(6)));
    expect(Array.from(new WindowSampler(tokens, { ...options, seed: 12 }).offsets(5))).not.toEqual(Array.from(a.offsets(5)));
    // Recreating step 40 alone gives the same batch as after replaying 0..39.
    for (let s = 0; s < 40; s++) a.offsets(s);
    expect(Array.from(a.offsets(40))).toEqual(Array.from(b.offsets(40)));
    // Over many steps both ends of [0, L − T − 1] are drawn and nothing beyond.
    let min = Infinity;
    let max = -Infinity;
    for (let s = 0; s < 400; s++) for (const o of a.offsets(s)) (min = Math.min(min, o)), (max = Math.max(max, o));
    expect(min).toBe(0);
    expect(max).toBe(a.maxOffset);
    expect(a.maxOffset).toBe(467);
  });

  it('a window exactly as long as the shard fits; one token longer is a clear error', () => {
    const exact = new WindowSampler(tokens.subarray(0, 33), options);
    expect(Array.from(exact.offsets(0))).toEqual(new Array(16).fill(0));
    expect(() => new WindowSampler(tokens.subarray(0, 32), options)).toThrow(/window of 32 \+ 1 tokens is longer than the shard \(32 tokens\)/);
    expect(() => new WindowSampler(tokens, { ...options, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => gatherWindows(tokens, [468], 32)).toThrow(/window 0 at offset 468 needs tokens up to 500, but there are 500/);
  });
});
