import { describe, expect, it } from 'vitest';
import { Replica, mlp } from '@gossamer/model';
import { createInProcessNetwork, type Transport } from '@gossamer/transport';
import { TENSOR, runDsgdWorker, workerIds, type AlgorithmEvent } from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { noBatches } from './no-batches.js';
import { normal } from '../../../test/support/numeric.js';

// The final merge's crash window (docs/elastic.md, "Exact final merge"): a worker dies during the
// merge's last exchange, after some members completed the merge but before the others could. Here
// w3 dies as it is about to send its last hypercube message (round k = 1, to w1): w0 and w2 complete
// the merge over all four, w1 cannot. The merge must not count until every member completed it, so
// that all three survivors redo it over the new view from their pre-merge parameters and end with
// the same bits: the mean of their three models.

const spec = mlp(6, [5], 3);

/** `inner` whose send of the merge's hypercube round `k` never leaves: it dies (`die()`) instead. */
function dyingAt(inner: Transport, k: number, die: () => void): Transport {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'send') {
        return (to: string, key: { tensor: number; round: number }, data: Float32Array, options?: object) => {
          if (key.tensor === TENSOR.merge && key.round === k) {
            // Dies a moment later, silently: time for w0 and w2 to complete their own last exchange.
            return new Promise<void>((_, reject) => setTimeout(() => (die(), reject(new Error(`${inner.id} was killed`))), 300));
          }
          return target.send(to, key, data, options);
        };
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('the exact final merge when a worker dies in its last exchange', () => {
  const gpu = useGpu();

  it('members that completed the merge wait for the others: all three survivors redo it over the new view and hold the same bits, their mean', async () => {
    const g = gpu();
    const ids = workerIds(4);
    const replicas = ids.map((_, i) => {
      const r = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
      r.setParameters(normal(r.layout.length, 200 + i));
      return r;
    });
    const before = await Promise.all(replicas.map((r) => r.getParameters()));
    const network = createInProcessNetwork(ids, { views: { ackTimeoutMs: 1000 }, receiveTimeoutMs: 20_000 });
    const events: AlgorithmEvent[] = [];
    try {
      const outcomes = await Promise.allSettled(
        ids.map(async (id, index) => {
          const own = network.transport(id);
          const transport = id === 'w3' ? dyingAt(own, 1, () => network.crash('w3')) : own;
          await runDsgdWorker(
            { gpu: g, transport, replica: replicas[index], batches: noBatches, ids, index, emit: (e) => events.push(e) },
            { rounds: 0, localSteps: 0, schedule: { kind: 'none' }, order: 'adapt-then-combine', finalMerge: { kind: 'exact' }, seed: 3, evalEvery: 0, consensusEvery: 0 },
          );
          // As a worker process does: finished, it leaves the run at once.
          await own.close({ reason: 'done' });
        }),
      );
      expect(outcomes.slice(0, 3).map((o) => (o.status === 'rejected' ? String(o.reason) : 'ok'))).toEqual(['ok', 'ok', 'ok']);
      const survivors = await Promise.all(replicas.slice(0, 3).map((r) => r.getParameters()));
      for (const x of survivors.slice(1)) expect(Buffer.from(x.buffer).equals(Buffer.from(survivors[0].buffer)), 'the survivors hold the same bits').toBe(true);
      // The mean of the three survivors' pre-merge models (float32 ring all-reduce: a few ulps).
      for (let i = 0; i < survivors[0].length; i++) expect(Math.abs(survivors[0][i] - (before[0][i] + before[1][i] + before[2][i]) / 3)).toBeLessThan(1e-6);
      const merged = events.filter((e) => e.type === 'merged');
      expect(merged.map((e) => e.worker).sort()).toEqual(['w0', 'w1', 'w2']);
    } finally {
      await network.close();
      for (const r of replicas) r.destroy();
    }
  }, 60_000);
});
