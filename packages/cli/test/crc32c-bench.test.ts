// `gossamer bench --only crc32c --quick`'s benchmark, run in this process: two cases, each with the
// checksum's rate and the copy baseline of the same run, and a ratio that is the quotient of the two.
import { describe, expect, it } from 'vitest';
import { benchCrc32c } from '../src/bench/crc32c.js';

describe('crc32c benchmark (quick)', () => {
  it('reports aligned and misaligned MB/s against a copy measured in the same run', async () => {
    const result = await benchCrc32c({ bytes: 1 << 20, trials: 2 });
    expect(result.columns).toEqual(['case', 'crc32c MB/s', 'copy MB/s', 'crc / copy']);
    expect(result.rows.map((r) => r[0])).toEqual(['aligned', 'misaligned (+1 byte)']);
    const json = result.json as { results: { mbPerSecond: number; copyMbPerSecond: number; ratio: number }[] };
    for (const r of json.results) {
      expect(r.mbPerSecond).toBeGreaterThan(0);
      expect(Number.isFinite(r.mbPerSecond)).toBe(true);
      expect(r.ratio).toBeCloseTo(r.mbPerSecond / r.copyMbPerSecond, 12);
    }
  });
});
