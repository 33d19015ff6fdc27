// Memory soak: a decentralized run long enough to show a leak — 1,000 training steps per worker and
// 100 rounds of parameter exchange over a real local nats-server (two workers gossiping on a ring,
// both hosted here on one device) — sampling this process's memory every round. Flat means: the
// resident set and the JS heap stop growing once the first rounds have warmed the pools, caches and
// JIT, and no GPU buffer is created after that.
import { Gpu } from '@gossamer/gpu';
import { NatsTransport, startNatsServer, type NatsServer } from '@gossamer/transport';
import { hostWorkers, resolveRunConfig, type WorkerEvent } from '@gossamer/worker';
import { PeakRss, mib } from './common.js';
import type { BenchResult } from './types.js';

export interface SoakBenchOptions {
  adapter?: string;
  /** Rounds of exchange (default 100). */
  rounds?: number;
  /** Local training steps per round (default 10: 1,000 steps in all). */
  localSteps?: number;
  /** The model, as --model (default mlp:64: the soak is about memory, not speed). */
  model?: string;
}

/** Memory after one round (worker w0's round events). */
export interface SoakSample {
  round: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** ArrayBuffers and other memory outside the JS heap that V8 tracks (message buffers, readbacks). */
  externalBytes: number;
  gpuBuffersCreated: number;
  /** Bind groups created so far (cached by the device; a steady state reuses them). */
  bindGroupsCreated: number;
}

export interface SoakSummary {
  rounds: number;
  stepsPerWorker: number;
  /** Rounds treated as warm-up (the first tenth, at least 2): they include the first evaluation and consensus measurement. */
  warmupRounds: number;
  /** Least-squares slope after warm-up, bytes per 100 rounds. */
  rssSlopePer100Rounds: number;
  /** Last sample minus the first sample after warm-up. */
  rssGrowthBytes: number;
  /** Last sample minus the middle one of the steady state: settling shows up in the first half, a leak in both. */
  rssSecondHalfGrowthBytes: number;
  /**
   * The JS heap's floor (its lowest sample, just after a collection) in the second half of the
   * steady state minus that in the first: the heap is a sawtooth, so single samples say little.
   */
  heapFloorGrowthBytes: number;
  gpuBuffersCreatedAfterWarmup: number;
  bindGroupsCreatedAfterWarmup: number;
  peakRssBytes: number;
}

/** Slope of the least-squares line through (x, y), per unit of x. */
function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The first tenth of the rounds, at least 2 (and at most all but one). */
export function soakWarmupRounds(rounds: number): number {
  return Math.max(1, Math.min(rounds - 1, Math.max(2, Math.ceil(rounds / 10))));
}

/** The soak's figures from its samples (exported for tests). */
export function summarizeSoak(samples: readonly SoakSample[], stepsPerWorker: number, peakRssBytes: number): SoakSummary {
  if (samples.length < 2) throw new Error(`soak: ${samples.length} rounds sampled, at least 2 are needed`);
  const rounds = samples.length;
  const warmupRounds = soakWarmupRounds(rounds);
  const steady = samples.slice(warmupRounds);
  const first = steady[0];
  const last = steady[steady.length - 1];
  const per100 = (pick: (s: SoakSample) => number) => 100 * slope(steady.map((s) => [s.round, pick(s)] as const));
  const half = Math.ceil(steady.length / 2);
  const heapFloor = (part: readonly SoakSample[]) => Math.min(...part.map((s) => s.heapUsedBytes));
  return {
    rounds,
    stepsPerWorker,
    warmupRounds,
    rssSlopePer100Rounds: per100((s) => s.rssBytes),
    rssGrowthBytes: last.rssBytes - first.rssBytes,
    rssSecondHalfGrowthBytes: last.rssBytes - steady[half - 1].rssBytes,
    heapFloorGrowthBytes: steady.length < 2 ? 0 : heapFloor(steady.slice(half)) - heapFloor(steady.slice(0, half)),
    gpuBuffersCreatedAfterWarmup: last.gpuBuffersCreated - first.gpuBuffersCreated,
    bindGroupsCreatedAfterWarmup: last.bindGroupsCreated - first.bindGroupsCreated,
    peakRssBytes,
  };
}

const signedMib = (bytes: number): string => `${bytes >= 0 ? '+' : '−'}${(Math.abs(bytes) / 2 ** 20).toFixed(1)} MiB`;

export async function benchSoak(options: SoakBenchOptions = {}): Promise<BenchResult> {
  const rounds = options.rounds ?? 100;
  const localSteps = options.localSteps ?? 10;
  // Evaluate and measure consensus once inside the warm-up (their scratch buffers are made on first
  // use), then every warm-up length: the steady state exercises them too.
  const measureEvery = soakWarmupRounds(rounds);
  const config = resolveRunConfig({
    algo: 'dsgd',
    workers: 2,
    topology: 'ring',
    schedule: 'gossip',
    model: options.model ?? 'mlp:64',
    optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
    batchSize: 32,
    localSteps,
    rounds,
    evalEvery: measureEvery,
    consensusEvery: measureEvery,
    seed: 0,
  });
  const rss = new PeakRss();
  const gpu = await Gpu.create(options.adapter ? { adapter: options.adapter } : {});
  let server: NatsServer | undefined;
  const transports: NatsTransport[] = [];
  const samples: SoakSample[] = [];
  const ids = ['w0', 'w1'];
  const runId = `soak${Date.now().toString(36)}`;
  const sample = (event: WorkerEvent) => {
    if (event.type !== 'round' || event.worker !== 'w0') return;
    const m = process.memoryUsage();
    samples.push({ round: event.round, rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external, gpuBuffersCreated: gpu.stats.buffersCreated, bindGroupsCreated: gpu.stats.bindGroupsCreated });
  };
  try {
    server = await startNatsServer();
    const url = server.url;
    await hostWorkers(config, {
      indices: [0, 1],
      gpu,
      emit: sample,
      transportFor: async (id) => {
        const t = await NatsTransport.connect({ servers: url, id, runId, peers: ids });
        transports.push(t);
        await t.waitForPeers(ids);
        return t;
      },
    });
  } finally {
    await Promise.allSettled(transports.map((t) => t.close()));
    await server?.stop();
    gpu.destroy();
  }
  const summary = summarizeSoak(samples, rounds * localSteps, rss.stop());
  const at = (s: SoakSample) => [s.round, mib(s.rssBytes), mib(s.heapUsedBytes), mib(s.externalBytes), s.gpuBuffersCreated, s.bindGroupsCreated];
  const checkpoints = [samples[summary.warmupRounds], samples[Math.floor((summary.warmupRounds + samples.length - 1) / 2)], samples[samples.length - 1]];
  return {
    name: 'soak',
    adapter: gpu.adapterDescription,
    columns: ['round', 'RSS', 'JS heap', 'external', 'GPU buffers created', 'bind groups created'],
    rows: checkpoints.map(at),
    notes: [
      `${rounds} rounds × ${localSteps} local steps (${rounds * localSteps} steps per worker) of dsgd, 2 workers on a ring, ${config.model}, batch ${config.batchSize}, over a local nats-server; evaluation and consensus distance every ${measureEvery} rounds`,
      `after the ${summary.warmupRounds} warm-up rounds: RSS ${signedMib(summary.rssGrowthBytes)} (${signedMib(summary.rssSecondHalfGrowthBytes)} in the second half; slope ${signedMib(summary.rssSlopePer100Rounds)} per 100 rounds), ` +
        `JS heap floor ${signedMib(summary.heapFloorGrowthBytes)} (second half vs first), ` +
        `${summary.gpuBuffersCreatedAfterWarmup} GPU buffers and ${summary.bindGroupsCreatedAfterWarmup} bind groups created`,
      `peak RSS ${mib(summary.peakRssBytes)}`,
    ],
    json: { summary, samples, config },
  };
}
