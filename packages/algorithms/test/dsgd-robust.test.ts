import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import type { RobustRule } from '@gossamer/kernels';
import { Replica, mlp } from '@gossamer/model';
import type { Transport } from '@gossamer/transport';
import { gossipTopology, runDsgdWorker, simulateWorkers, workerIds } from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { noBatches } from './no-batches.js';
import { normal } from '../../../test/support/numeric.js';

// Pure gossip (no gradient steps) on torus:3x3 (degree 4) with w0 Byzantine: it sends a huge vector
// to its neighbours every round instead of its parameters. Plain averaging drags the honest workers
// to it; MoNNA's NNA with f = 1 drops it, and the honest workers stay near their initial mean.

const spec = mlp(6, [5], 3);

/** Root-mean-square distance of x from m. */
const rms = (x: Float32Array, m: Float64Array) => Math.sqrt(x.reduce((a, v, i) => a + (v - m[i]) ** 2, 0) / x.length);
const HUGE = 1e6;

/** The same transport, except every vector it sends is replaced by `value` everywhere. */
function byzantine(t: Transport, value: number): Transport {
  return new Proxy(t, {
    get(target, prop) {
      if (prop === 'send') {
        return (to: string, key: Parameters<Transport['send']>[1], data: Float32Array, options?: Parameters<Transport['send']>[3]) =>
          target.send(to, key, new Float32Array(data.length).fill(value), options);
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function run(g: Gpu, robust: RobustRule | undefined): Promise<{ honestMean0: Float64Array; spread0: number; honest: Float32Array[] }> {
  const n = 9;
  const ids = workerIds(n);
  const replicas = ids.map((_, i) => {
    const r = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
    r.setParameters(normal(r.layout.length, 300 + i));
    return r;
  });
  const honest0 = await Promise.all(replicas.slice(1).map((r) => r.getParameters()));
  const honestMean0 = Float64Array.from(honest0[0], (_, i) => honest0.reduce((a, x) => a + x[i], 0) / honest0.length);
  const spread0 = Math.max(...honest0.map((x) => rms(x, honestMean0)));
  await simulateWorkers(ids, (transport, index) =>
    runDsgdWorker(
      { gpu: g, transport: index === 0 ? byzantine(transport, HUGE) : transport, replica: replicas[index], batches: noBatches, ids, index },
      {
        rounds: 12,
        localSteps: 0,
        schedule: { kind: 'gossip' },
        topology: gossipTopology('torus:3x3'),
        order: 'adapt-then-combine',
        finalMerge: { kind: 'none' },
        seed: 3,
        evalEvery: 0,
        consensusEvery: 0,
        robust,
      },
    ),
  );
  const honest = await Promise.all(replicas.slice(1).map((r) => r.getParameters()));
  for (const r of replicas) r.destroy();
  return { honestMean0, spread0, honest };
}

describe('D-SGD with a Byzantine neighbour', () => {
  const gpu = useGpu();

  it('plain mixing is dragged to the attacker; NNA (f = 1) keeps every honest worker near the honest mean', async () => {
    const g = gpu();
    const plain = await run(g, undefined);
    // Parameters start ~N(0, 1): rms distance ≈ 1 from the honest mean at round 0.
    for (const x of plain.honest) expect(rms(x, plain.honestMean0)).toBeGreaterThan(HUGE / 100);
    const nna = await run(g, { kind: 'nna', f: 1 });
    for (const x of nna.honest) {
      expect(x.every(Number.isFinite)).toBe(true);
      expect(rms(x, nna.honestMean0)).toBeLessThan(0.5);
    }
  });

  // Every rule keeps the honest workers within the honest starting spread against a huge attacker.
  // Clipping bounds the attacker's pull to w·τ = 0.1 in norm per round instead of removing it. (A
  // NaN attacker is stopped by the transport, which refuses to send non-finite values; the kernel
  // tests cover NaN inputs.)
  const rules: [string, RobustRule][] = [
    ['trimmed-mean f=1', { kind: 'trimmed-mean', f: 1 }],
    ['median', { kind: 'median' }],
    ['geomed', { kind: 'geomed', iterations: 4 }],
    ['clip τ=0.5', { kind: 'clip', tau: 0.5 }],
  ];
  it.each(rules)('%s keeps the honest workers within their starting spread against a huge attacker', async (_name, rule) => {
    const r = await run(gpu(), rule);
    for (const x of r.honest) {
      expect(x.every(Number.isFinite)).toBe(true);
      expect(rms(x, r.honestMean0)).toBeLessThan(r.spread0);
    }
  });

  it('rejects robust mixing where it is not defined (overlapped order)', async () => {
    const g = gpu();
    const r = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr: 0 }, batchSize: 1, seed: 1 });
    const ids = workerIds(2);
    await expect(
      simulateWorkers(ids, (transport, index) =>
        runDsgdWorker(
          { gpu: g, transport, replica: r, batches: noBatches, ids, index },
          { rounds: 1, localSteps: 0, schedule: { kind: 'gossip' }, topology: gossipTopology('ring:2'), order: 'overlapped', finalMerge: { kind: 'none' }, seed: 1, evalEvery: 0, consensusEvery: 0, robust: { kind: 'median' } },
        ),
      ),
    ).rejects.toThrow(/robust mixing/);
    r.destroy();
  });
});
