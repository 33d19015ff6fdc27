import { describe, expect, it } from 'vitest';
import { RunConfigError, parseDpSpec } from '@gossamer/worker';

describe('parseDpSpec (--dp)', () => {
  it('reads a fixed noise multiplier or an (ε, δ) budget, keys in any order', () => {
    expect(parseDpSpec('clip:1,noise:1.1')).toEqual({ kind: 'noise', clip: 1, noise: 1.1 });
    expect(parseDpSpec('noise:0.8, clip:0.5')).toEqual({ kind: 'noise', clip: 0.5, noise: 0.8 });
    expect(parseDpSpec('epsilon:3,delta:1e-5,clip:1')).toEqual({ kind: 'budget', clip: 1, epsilon: 3, delta: 1e-5 });
    expect(parseDpSpec('clip:2,delta:0.001,epsilon:8')).toEqual({ kind: 'budget', clip: 2, epsilon: 8, delta: 0.001 });
  });

  it.each([
    ['clip:1', /missing noise/],
    ['noise:1.1', /missing clip/],
    ['epsilon:3,clip:1', /missing delta/],
    ['epsilon:3,delta:1e-5', /missing clip/],
    ['clip:1,noise:1,epsilon:3,delta:1e-5', /not both/],
    ['clip:0,noise:1', /clip must be a positive clip norm, got 0/],
    ['clip:-1,noise:1', /clip must be/],
    ['clip:1,noise:0', /σ = 0 is no privacy/],
    ['clip:1,noise:abc', /noise must be/],
    ['clip:1,noise:Infinity', /noise must be/],
    ['epsilon:3,delta:1,clip:1', /δ in \(0, 1\)/],
    ['epsilon:0,delta:1e-5,clip:1', /positive, finite ε/],
    ['clip:1,clip:2,noise:1', /clip given twice/],
    ['clip:1,sigma:1', /unknown key "sigma"/],
    ['constructor:1,noise:1', /unknown key "constructor"/],
    ['clip=1,noise=1', /is not key:value/],
    ['', /is not key:value/],
  ])('refuses %j, saying why and the grammar', (text, why) => {
    let error: unknown;
    try {
      parseDpSpec(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RunConfigError);
    expect((error as RunConfigError).field).toBe('dp');
    expect((error as Error).message).toMatch(why);
    expect((error as Error).message).toContain('clip:<C>,noise:<σ> or epsilon:<ε>,delta:<δ>,clip:<C>');
  });
});
