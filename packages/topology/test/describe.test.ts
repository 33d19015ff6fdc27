import { describe, expect, it } from 'vitest';
import {
  buildTopology,
  describeTopology,
  formatTopologySummary,
  graphFromEdges,
  metropolisHastings,
  parseTopologySpec,
  ring,
} from '@gossamer/topology';

describe('topology specs', () => {
  it('parses every kind', () => {
    expect(parseTopologySpec('ring:16')).toEqual({ kind: 'ring', n: 16 });
    expect(parseTopologySpec('torus:4x8')).toEqual({ kind: 'torus', rows: 4, cols: 8 });
    expect(parseTopologySpec('exponential:32')).toEqual({ kind: 'exponential', n: 32 });
    expect(parseTopologySpec('complete:8')).toEqual({ kind: 'complete', n: 8 });
    expect(parseTopologySpec('regular:16:4', { seed: 3 })).toEqual({ kind: 'random-regular', n: 16, d: 4, seed: 3 });
    expect(parseTopologySpec('random-regular:16:4')).toEqual({ kind: 'random-regular', n: 16, d: 4, seed: 0 });
    expect(parseTopologySpec('er:20:0.3', { seed: 1 })).toEqual({ kind: 'erdos-renyi', n: 20, p: 0.3, seed: 1 });
    expect(parseTopologySpec('erdos-renyi:20:0.3').kind).toBe('erdos-renyi');
  });

  it('rejects malformed specs with the accepted forms', () => {
    expect(() => parseTopologySpec('star:5')).toThrow(/unknown topology "star:5" \(expected ring:N, torus:RxC/);
    expect(() => parseTopologySpec('ring')).toThrow(/ring takes 1 argument/);
    expect(() => parseTopologySpec('ring:x')).toThrow(/n "x" is not a positive integer/);
    expect(() => parseTopologySpec('torus:4')).toThrow(/torus size must be RxC/);
    expect(() => parseTopologySpec('er:10:2')).toThrow(/p = "2" must be a number in \[0, 1\]/);
  });

  it('buildTopology: MH weights by default, Ying weights for the exponential graph', () => {
    expect(buildTopology(parseTopologySpec('ring:8')).weights.name).toBe('metropolis-hastings(ring(8))');
    expect(buildTopology(parseTopologySpec('exponential:16')).weights.name).toBe('exponential-symmetric(16)');
    expect(buildTopology(parseTopologySpec('exponential:16'), 'metropolis-hastings').weights.name).toBe(
      'metropolis-hastings(exponential(16))',
    );
    expect(() => buildTopology(parseTopologySpec('ring:8'), 'exponential')).toThrow(/exponential graph only/);
  });
});

describe('describeTopology', () => {
  it('summarizes name, n, edges, degrees, diameter and spectral gap', () => {
    const { graph, weights } = buildTopology(parseTopologySpec('torus:4x4'));
    const s = describeTopology(graph, weights);
    expect(s).toMatchObject({
      name: 'torus(4x4)',
      n: 16,
      edges: 32,
      degree: { min: 4, max: 4, mean: 4 },
      connected: true,
      components: 1,
      diameter: 4,
      diameterExact: true,
    });
    expect(s.spectralGap?.gap).toBeCloseTo(0.4, 12);
    const text = formatTopologySummary(s);
    expect(text).toContain('topology torus(4x4): n = 16, edges = 32, degree 4');
    expect(text).toContain('diameter 4');
    expect(text).toContain('spectral gap 1 − ρ = 0.4000');

    const e = describeTopology(...Object.values(buildTopology(parseTopologySpec('exponential:64'))) as [never, never]);
    expect(e.spectralGap?.gap).toBeCloseTo(2 / 7, 12);
  });

  it('irregular and disconnected graphs; diameter bounds for large n', () => {
    const g = graphFromEdges(
      [
        [0, 1],
        [1, 2],
        [3, 4],
      ],
      { n: 6 },
    );
    const s = describeTopology(g);
    expect(s.connected).toBe(false);
    expect(s.components).toBe(3);
    expect(s.degree).toEqual({ min: 0, max: 2, mean: 1 });
    expect(s.spectralGap).toBeUndefined();
    expect(formatTopologySummary(s)).toContain('no (3 components), diameter ∞ (disconnected)');

    const big = ring(301);
    const b = describeTopology(big, metropolisHastings(big), { exactDiameterLimit: 100, spectral: false });
    expect(b.diameterLowerBound).toBeLessThanOrEqual(150);
    expect(b.diameter).toBeGreaterThanOrEqual(150);
    expect(b.spectralGap).toBeUndefined();
    expect(b.weights).toBe('metropolis-hastings(ring(301))');
  });
});
