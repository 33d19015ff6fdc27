import { describe, expect, it } from 'vitest';
import { bandwidthLimitOf, resolveRunConfig } from '@gossamer/worker';
import { runConfigFrom } from '@gossamer/cli';
import { co2Claims, co2Experiment, co2RunMetrics, formatCo2Table } from '@gossamer/experiments';

// The run-config and CLI surface of CO2 / Local SGD / SlowMo, and the reproduction's arithmetic.

describe('co2, localsgd and slowmo in run configs and `gossamer train` flags', () => {
  it('flags build the outer options and the link limit', async () => {
    const config = await runConfigFrom({
      algo: 'co2',
      workers: '8',
      'local-steps': '12',
      'outer-lr': '0.9',
      'outer-momentum': '0.4',
      penalty: 'gap:0.5',
      'outer-clip': 'norm:2',
      staleness: 'one-round',
      bandwidth: '50',
    });
    expect(config.algo).toBe('co2');
    expect(config.localSteps).toBe(12);
    expect(config.outer).toEqual({ alpha: 0.9, beta: 0.4, penalty: 'gap:0.5', clip: 'norm:2', staleness: 'one-round' });
    expect(config.bandwidthMbps).toBe(50);
    // 50 Mbit/s = 6.25 MB/s, with a small burst so a link behaves like a wire.
    expect(bandwidthLimitOf(50)).toEqual({ bytesPerSecond: 6_250_000, burstBytes: 16_384 });
    expect(bandwidthLimitOf(undefined)).toBeUndefined();
    const plain = await runConfigFrom({ algo: 'localsgd', workers: '4' });
    expect(plain.outer).toBeUndefined();
  });

  it('rejects bad values with the field named', () => {
    expect(() => resolveRunConfig({ algo: 'co2', outer: { penalty: 'constant:0' } })).toThrow(/outer\.penalty.*λ/);
    expect(() => resolveRunConfig({ algo: 'co2', outer: { clip: 'clamp:1' } })).toThrow(/outer\.clip/);
    expect(() => resolveRunConfig({ algo: 'slowmo', outer: { beta: 1.5 } })).toThrow(/outer\.beta/);
    expect(() => resolveRunConfig({ algo: 'co2', outer: { tau: 3 } as never })).toThrow(/outer\.tau/);
    expect(() => resolveRunConfig({ algo: 'co2', bandwidthMbps: 0 })).toThrow(/bandwidthMbps/);
    expect(() => resolveRunConfig({ algo: 'co3' as never })).toThrow(/co2, localsgd or slowmo/);
  });
});

describe('gossamer reproduce co2: experiment and metrics', () => {
  it('runs every algorithm at every link speed, plus one run without communication', () => {
    const { variants, bandwidths } = co2Experiment(false);
    expect(bandwidths).toEqual([2, 8]);
    expect(variants.map((v) => `${v.name}@${v.bandwidthMbps ?? '-'}`)).toEqual([
      'no communication@-',
      ...['all-reduce SGD', 'Local SGD', 'SlowMo', 'CO2', 'CO2 β=0.2 + gap penalty'].map((n) => `${n}@2`),
      ...['all-reduce SGD', 'Local SGD', 'SlowMo', 'CO2'].map((n) => `${n}@8`),
    ]);
    expect(co2Experiment(false, [5]).bandwidths).toEqual([5]);
    for (const v of variants) expect(() => resolveRunConfig({ ...co2Experiment(false).base, ...v.config })).not.toThrow();
  });

  it('throughput skips the warm-up round and sums workers; wait share, bytes and the accuracy curve', () => {
    const round = (worker: string, r: number, computeMs: number, commMs: number, accuracy?: number) => ({
      type: 'round',
      worker,
      round: r,
      step: 10 * (r + 1),
      computeMs,
      commMs,
      bytesSent: 1e6 * (r + 1),
      accuracy,
    });
    const lines = [
      round('w0', 0, 5000, 0),
      round('w0', 1, 800, 200, 0.5),
      round('w0', 2, 800, 200, 0.7),
      round('w1', 0, 5000, 0),
      round('w1', 1, 1600, 400, 0.6),
      round('w1', 2, 1600, 400, 0.9),
      { type: 'done', worker: 'w0' },
    ];
    const m = co2RunMetrics(lines, 4);
    // w0: 20 steps × 4 samples in 2 s = 40/s; w1: 80 samples in 4 s = 20/s.
    expect(m.throughput).toBeCloseTo(60, 9);
    expect(m.waitShare).toBeCloseTo(1200 / 6000, 9);
    expect(m.sentMB).toBeCloseTo(3, 9);
    expect(m.accuracy).toBeCloseTo(0.8, 9);
    expect(m.curve).toEqual([
      [20, 0.55],
      [30, 0.8],
    ]);
    const results = [
      { name: 'no communication', elapsedMs: 1, ...m, throughput: 100 },
      { name: 'all-reduce SGD', bandwidthMbps: 50, elapsedMs: 1, ...m, throughput: 40, accuracy: 0.9 },
      { name: 'CO2', bandwidthMbps: 50, elapsedMs: 1, ...m, throughput: 95, accuracy: 0.895 },
    ];
    expect(formatCo2Table(results).split('\n')[4]).toMatch(/^\| CO2 +\| 50 Mbit\/s \| 30 +\| 95 +\| 95% /);
    expect(co2Claims(results)).toEqual([
      '50 Mbit/s: CO2 throughput 95% of no-communication (claim: ≥ 90%: holds); all-reduce SGD 40%',
      '50 Mbit/s: CO2 final accuracy 89.50% vs all-reduce SGD 90.00% (claim: within 1 point: holds)',
    ]);
  });
});
