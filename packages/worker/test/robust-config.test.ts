import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../src/config.js';
import { parseRobust, RunConfigError } from '../src/schema.js';

describe('--robust (D-SGD robust mixing)', () => {
  it('parses every rule of the grammar', () => {
    expect(parseRobust(undefined)).toBeUndefined();
    expect(parseRobust('none')).toBeUndefined();
    expect(parseRobust('nna:2')).toEqual({ kind: 'nna', f: 2 });
    expect(parseRobust('trimmed-mean:0')).toEqual({ kind: 'trimmed-mean', f: 0 });
    expect(parseRobust('median')).toEqual({ kind: 'median' });
    expect(parseRobust('geomed')).toEqual({ kind: 'geomed' });
    expect(parseRobust('geomed:5')).toEqual({ kind: 'geomed', iterations: 5 });
    expect(parseRobust('clip:0.5')).toEqual({ kind: 'clip', tau: 0.5 });
    expect(parseRobust('clip:inf')).toEqual({ kind: 'clip', tau: Infinity });
  });

  it.each([['nna'], ['nna:-1'], ['nna:1.5'], ['trimmed-mean:x'], ['geomed:0'], ['clip:'], ['clip:-1'], ['clip:NaN'], ['median:3'], ['krum:1'], ['nna:1:2']])('refuses %s', (text) => {
    expect(() => parseRobust(text)).toThrow(/robust ".*": .*; use none \| nna/);
  });

  it('is checked with the run config: only for dsgd gossip, adapt-then-combine, without push-sum', () => {
    expect(resolveRunConfig({ algo: 'dsgd', workers: 4, robust: 'nna:1' }).robust).toBe('nna:1');
    expect(resolveRunConfig({ algo: 'dsgd', workers: 6, topology: 'ring', robust: 'nna:2' }).robust).toBe('nna:2');
    expect(resolveRunConfig({ algo: 'dsgd', workers: 9, topology: 'torus', robust: 'trimmed-mean:2' }).robust).toBe('trimmed-mean:2');
    for (const bad of [
      { algo: 'allreduce' as const, workers: 4, robust: 'median' },
      { algo: 'dsgd' as const, workers: 4, order: 'overlapped' as const, robust: 'median' },
      { algo: 'dsgd' as const, workers: 4, topology: 'push-sum:4', robust: 'median' },
      { algo: 'dsgd' as const, workers: 4, robust: 'clip:-2' },
      // A ring has degree 2: NNA can drop at most 2 vectors, the trimmed mean at most 1 per side.
      { algo: 'dsgd' as const, workers: 6, topology: 'ring', robust: 'nna:3' },
      { algo: 'dsgd' as const, workers: 6, topology: 'ring', robust: 'trimmed-mean:2' },
    ]) {
      let err: unknown;
      try {
        resolveRunConfig(bad);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(bad)).toBeInstanceOf(RunConfigError);
      expect((err as RunConfigError).field).toBe('robust');
    }
  });
});
