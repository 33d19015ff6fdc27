// The soak benchmark's machinery: its summary arithmetic, and a short soak over a real nats-server in
// which the whole worker loop (steps, gossip exchange, evaluation, consensus all-reduce) allocates
// nothing per step or per round after warm-up. How flat the memory stays is the benchmark's figure,
// not asserted here.
import { describe, expect, it } from 'vitest';
import { benchSoak, soakWarmupRounds, summarizeSoak, type SoakSample, type SoakSummary } from '../src/bench/soak.js';

const MiB = 2 ** 20;

function samples(rounds: number, rss: (round: number) => number, buffers: (round: number) => number = () => 10): SoakSample[] {
  return Array.from({ length: rounds }, (_, round) => ({
    round,
    rssBytes: rss(round),
    heapUsedBytes: rss(round) / 4,
    externalBytes: 0,
    gpuBuffersCreated: buffers(round),
    bindGroupsCreated: 2 * buffers(round),
  }));
}

describe('soak summary', () => {
  it('warms up for the first tenth of the rounds, at least 2', () => {
    expect(soakWarmupRounds(100)).toBe(10);
    expect(soakWarmupRounds(12)).toBe(2);
    expect(soakWarmupRounds(2)).toBe(1);
  });

  it('measures growth and slope after warm-up only', () => {
    // A jump during warm-up, then 1 MiB per round: slope 100 MiB per 100 rounds, growth 89 MiB.
    const leaking = summarizeSoak(samples(100, (r) => (r < 10 ? 50 * MiB : 200 * MiB + r * MiB)), 1000, 300 * MiB);
    expect(leaking.warmupRounds).toBe(10);
    expect(leaking.rssSlopePer100Rounds / MiB).toBeCloseTo(100, 6);
    // The heap's floor: 45 steady rounds a half, lowest 200/4 + 10/4 vs 200/4 + 55/4 MiB.
    expect(leaking.heapFloorGrowthBytes / MiB).toBeCloseTo(45 / 4, 6);
    expect(leaking.rssGrowthBytes).toBe(89 * MiB);
    expect(leaking.rssSecondHalfGrowthBytes).toBe(45 * MiB); // rounds 54 → 99
    // Flat after warm-up, GPU buffers created in warm-up only.
    const flat = summarizeSoak(samples(100, (r) => (r < 10 ? r * MiB : 300 * MiB), (r) => (r < 5 ? r : 5)), 1000, 300 * MiB);
    expect(flat.rssSlopePer100Rounds).toBe(0);
    expect(flat.rssGrowthBytes).toBe(0);
    expect(flat.rssSecondHalfGrowthBytes).toBe(0);
    expect(flat.gpuBuffersCreatedAfterWarmup).toBe(0);
    expect(flat.bindGroupsCreatedAfterWarmup).toBe(0);
    expect(flat.heapFloorGrowthBytes).toBe(0);
    expect(() => summarizeSoak(samples(1, () => 0), 10, 0)).toThrow(/at least 2/);
  });
});

describe('soak benchmark (short)', () => {
  it('samples every round of a 2-worker gossip run over NATS; after warm-up nothing is allocated per step or per round', async () => {
    const result = await benchSoak({ rounds: 12, localSteps: 2 });
    const { summary, samples: got } = result.json as { summary: SoakSummary; samples: SoakSample[] };
    expect(got.map((s) => s.round)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(summary).toMatchObject({ rounds: 12, stepsPerWorker: 24, warmupRounds: 2 });
    // Pools (uniform arenas, readback staging) may still reach a new high-water mark when both workers
    // happen to have work in flight at once, and the bind-group cache meets new (arena, buffers)
    // pairs for a while; an allocation per step or per round would be ≥ 10 buffers and, uncached,
    // ≥ 9 bind groups per step (40 steady steps here).
    expect(summary.gpuBuffersCreatedAfterWarmup).toBeLessThanOrEqual(2);
    expect(summary.bindGroupsCreatedAfterWarmup).toBeLessThan(4 * 40);
    expect(summary.peakRssBytes).toBeGreaterThanOrEqual(Math.max(...got.map((s) => s.rssBytes)));
    expect(result.rows.map((row) => row[0])).toEqual([2, 6, 11]);
    expect(result.notes.join('\n')).toMatch(/\d+ GPU buffers and \d+ bind groups created/);
  }, 180_000);
});
