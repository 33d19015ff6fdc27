import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { Replica, mlp } from '@gossamer/model';
import { spectralGap } from '@gossamer/topology';
import { gossipTopology, runDsgdWorker, simulateWorkers, workerIds, type AlgorithmEvent, type DsgdOptions } from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { noBatches } from './no-batches.js';
import { normal } from '../../../test/support/numeric.js';

// Pure gossip (no gradient steps): ALGORITHMS.md §0–2 promises. Float32 mixing of vectors of size
// ~N(0, 1): the mean is preserved up to float rounding (a few ulps per round), stated below as 1e-5.

const spec = mlp(6, [5], 3);

function gossipOnly(g: Gpu, n: number, options: Partial<DsgdOptions>, onEvent?: (e: AlgorithmEvent) => void) {
  const ids = workerIds(n);
  const replicas = ids.map((_, i) => {
    const r = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
    r.setParameters(normal(r.layout.length, 100 + i));
    return r;
  });
  const run = () =>
    simulateWorkers(ids, (transport, index) =>
      runDsgdWorker(
        { gpu: g, transport, replica: replicas[index], batches: noBatches, ids, index, emit: onEvent },
        { rounds: 10, localSteps: 0, schedule: { kind: 'gossip' }, order: 'adapt-then-combine', finalMerge: { kind: 'none' }, seed: 3, evalEvery: 0, consensusEvery: 0, ...options },
      ),
    );
  return { replicas, run };
}

async function allParams(replicas: Replica[]): Promise<Float32Array[]> {
  return Promise.all(replicas.map((r) => r.getParameters()));
}

function meanOf(xs: Float32Array[]): Float64Array {
  const m = new Float64Array(xs[0].length);
  for (const x of xs) for (let i = 0; i < m.length; i++) m[i] += x[i] / xs.length;
  return m;
}

function consensus(xs: Float32Array[]): number {
  const m = meanOf(xs);
  let d = 0;
  for (const x of xs) for (let i = 0; i < m.length; i++) d += (x[i] - m[i]) ** 2;
  return d / xs.length;
}

describe('D-SGD gossip over the in-process transport', () => {
  const gpu = useGpu();

  it('ring:8 preserves the mean and contracts the consensus distance at the rate the spectral gap predicts', async () => {
    const g = gpu();
    const distances: number[] = [];
    const { replicas, run } = gossipOnly(g, 8, { rounds: 30, topology: gossipTopology('ring:8'), consensusEvery: 1 }, (e) => {
      if (e.type === 'round' && e.worker === 'w0' && e.consensusDistance !== undefined) distances.push(e.consensusDistance);
    });
    const before = await allParams(replicas);
    await run();
    const after = await allParams(replicas);
    const [m0, m1] = [meanOf(before), meanOf(after)];
    for (let i = 0; i < m0.length; i++) expect(Math.abs(m1[i] - m0[i])).toBeLessThan(1e-5);
    // The metric the workers report equals the consensus distance of their actual parameters.
    expect(distances.length).toBe(30);
    expect(distances[29]).toBeCloseTo(consensus(after), 6);
    // Ξ²_{t+1} ≤ ρ² Ξ²_t (W symmetric), and for a generic start the ratio tends to ρ².
    const rho = 1 - spectralGap(gossipTopology('ring:8').at(0)).gap;
    const d0 = consensus(before);
    distances.forEach((d, t) => expect(d).toBeLessThanOrEqual(rho ** (2 * (t + 1)) * d0 * (1 + 1e-4)));
    const ratio = distances[29] / distances[28];
    expect(ratio).toBeGreaterThan(rho ** 2 * 0.9);
    expect(ratio).toBeLessThanOrEqual(rho ** 2 * 1.0001);
    for (const r of replicas) r.destroy();
  });

  it('the exact final merge of 8 workers gives every worker the same bits, the average, in log₂ 8 = 3 rounds', async () => {
    const g = gpu();
    const merged: AlgorithmEvent[] = [];
    const { replicas, run } = gossipOnly(g, 8, { rounds: 0, schedule: { kind: 'none' }, finalMerge: { kind: 'exact' } }, (e) => merged.push(e));
    const before = await allParams(replicas);
    await run();
    const after = await allParams(replicas);
    const mean = meanOf(before);
    for (const x of after) {
      expect(Buffer.from(x.buffer)).toEqual(Buffer.from(after[0].buffer));
      for (let i = 0; i < mean.length; i++) expect(Math.abs(x[i] - mean[i])).toBeLessThan(1e-6);
    }
    const events = merged.filter((e) => e.type === 'merged');
    expect(events).toHaveLength(8);
    expect(events[0].type === 'merged' && events[0].method).toMatch(/3 rounds/);
    for (const e of events) if (e.type === 'merged') expect(e.consensusDistance).toBeLessThan(1e-10);
    for (const r of replicas) r.destroy();
  });

  it('6 workers (not a power of two) merge exactly by all-reduce; 5 rounds of exponential gossip come close', async () => {
    const g = gpu();
    const exact = gossipOnly(g, 6, { rounds: 0, schedule: { kind: 'none' }, finalMerge: { kind: 'exact' } });
    const before = await allParams(exact.replicas);
    await exact.run();
    const mean = meanOf(before);
    for (const x of await allParams(exact.replicas)) for (let i = 0; i < mean.length; i++) expect(Math.abs(x[i] - mean[i])).toBeLessThan(1e-6);
    const approx = gossipOnly(g, 6, { rounds: 0, schedule: { kind: 'none' }, finalMerge: { kind: 'gossip', rounds: 5 } });
    const start = await allParams(approx.replicas);
    await approx.run();
    const end = await allParams(approx.replicas);
    expect(consensus(end)).toBeLessThan(consensus(start) * 0.05);
    for (const r of [...exact.replicas, ...approx.replicas]) r.destroy();
  });

  it('random pairwise gossip (constant r) and the late schedule preserve the mean; late reaches consensus', async () => {
    const g = gpu();
    const { replicas, run } = gossipOnly(g, 8, { rounds: 12, schedule: { kind: 'late', point: 0.75, r: 0.5 } });
    const before = await allParams(replicas);
    await run();
    const after = await allParams(replicas);
    const [m0, m1] = [meanOf(before), meanOf(after)];
    for (let i = 0; i < m0.length; i++) expect(Math.abs(m1[i] - m0[i])).toBeLessThan(1e-5);
    expect(consensus(after)).toBeLessThan(1e-10);
    for (const r of replicas) r.destroy();
  });

  it('push-sum over random directed out-peers (column-stochastic) de-biases to the exact mean', async () => {
    const g = gpu();
    const topology = gossipTopology('push-sum:8:random', 5);
    expect(topology.at(0).symmetric).toBe(false);
    const { replicas, run } = gossipOnly(g, 8, { rounds: 60, topology });
    const before = await allParams(replicas);
    await run();
    const after = await allParams(replicas);
    const mean = meanOf(before);
    // Every z_i → x̄ (geometrically); after 60 rounds the spread is far below the start's.
    for (const x of after) for (let i = 0; i < mean.length; i++) expect(Math.abs(x[i] - mean[i])).toBeLessThan(1e-3);
    expect(consensus(after)).toBeLessThan(consensus(before) * 1e-6);
    for (const r of replicas) r.destroy();
  });
});
