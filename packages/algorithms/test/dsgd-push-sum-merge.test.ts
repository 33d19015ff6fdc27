// The final merge after push-sum averages by the push-sum weights: the network average is
// Σ w_i z_i / Σ w_i, which pure gossip (lr = 0) preserves exactly, whereas the plain mean of the z_i
// drifts from it while the weights are uneven. Over the in-process transport, 8 workers, 3 rounds of
// push-sum over random directed out-peers (weights far from 1), then the merge.
import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { Replica, mlp } from '@gossamer/model';
import { gossipTopology, runDsgdWorker, simulateWorkers, workerIds, type DsgdOptions } from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { noBatches } from './no-batches.js';
import { normal } from '../../../test/support/numeric.js';

async function pushSumRun(g: Gpu, finalMerge: DsgdOptions['finalMerge']): Promise<{ before: Float32Array[]; after: Float32Array[] }> {
  const ids = workerIds(8);
  const replicas = ids.map((_, i) => {
    const r = Replica.create(g, { spec: mlp(6, [5], 3), optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
    r.setParameters(normal(r.layout.length, 100 + i));
    return r;
  });
  const before = await Promise.all(replicas.map((r) => r.getParameters()));
  await simulateWorkers(ids, (transport, index) =>
    runDsgdWorker(
      { gpu: g, transport, replica: replicas[index], batches: noBatches, ids, index },
      { rounds: 3, localSteps: 0, schedule: { kind: 'gossip' }, topology: gossipTopology('push-sum:8:random', 5), order: 'adapt-then-combine', finalMerge, seed: 3, evalEvery: 0, consensusEvery: 0 },
    ),
  );
  const after = await Promise.all(replicas.map((r) => r.getParameters()));
  for (const r of replicas) r.destroy();
  return { before, after };
}

const meanOf = (xs: Float32Array[]): Float64Array => {
  const m = new Float64Array(xs[0].length);
  for (const x of xs) for (let i = 0; i < m.length; i++) m[i] += x[i] / xs.length;
  return m;
};
const worst = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let w = 0;
  for (let i = 0; i < a.length; i++) w = Math.max(w, Math.abs(a[i] - b[i]));
  return w;
};

describe('D-SGD push-sum: the final merge', () => {
  const gpu = useGpu();

  it('the plain mean of the de-biased z drifts from the network average while the weights are uneven (why the merge must weight)', async () => {
    const { before, after } = await pushSumRun(gpu(), { kind: 'none' });
    expect(worst(meanOf(after), meanOf(before))).toBeGreaterThan(1e-2);
  });

  for (const merge of [{ kind: 'exact' }, { kind: 'gossip', rounds: 12 }] as const) {
    it(`${merge.kind}: every worker ends at Σ w z / Σ w, the average of the starting parameters`, async () => {
      const { before, after } = await pushSumRun(gpu(), merge);
      const target = meanOf(before);
      // Float32 mixing of N(0, 1) values: a few ulps per round.
      for (const x of after) expect(worst(x, target)).toBeLessThan(merge.kind === 'exact' ? 1e-5 : 1e-3);
      if (merge.kind === 'exact') for (const x of after) expect(Array.from(x)).toEqual(Array.from(after[0]));
    });
  }

  it("order 'overlapped' with push-sum is refused (it used to be ignored silently)", async () => {
    const g = gpu();
    const replica = Replica.create(g, { spec: mlp(6, [5], 3), optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
    const ids = workerIds(2);
    await expect(
      simulateWorkers(ids, (transport, index) =>
        runDsgdWorker(
          { gpu: g, transport, replica, batches: noBatches, ids, index },
          { rounds: 1, localSteps: 0, schedule: { kind: 'gossip' }, topology: gossipTopology('push-sum:2', 5), order: 'overlapped', finalMerge: { kind: 'none' }, seed: 3, evalEvery: 0, consensusEvery: 0 },
        ),
      ),
    ).rejects.toThrow(/overlapped.*push-sum/);
    replica.destroy();
  });
});
