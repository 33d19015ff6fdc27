// D-SGD with real gradient steps against a float64 simulation of the same algorithm (ALGORITHMS.md
// §1): 4 workers on a ring, a softmax-regression model, each worker on its own fixed batch, SGD, a
// few rounds. Adapt-then-combine: x ← Σ_j W_ij (x_j after the local steps). Overlapped (D-PSGD):
// x ← x^{t+½} + Σ_j W_ij x_j^t − x_i^t. The float64 side takes its gradients by central differences
// of the float64 reference loss (accurate to ~1e-9); the GPU side is float32 throughout, so after 12
// steps the two agree to ~1e-6 of the parameters' scale: stated as 2e-5 absolute.
import { describe, expect, it } from 'vitest';
import { span } from '@gossamer/kernels';
import { Replica, modelReference, softmaxRegression, type BatchSource } from '@gossamer/model';
import { gossipTopology, runDsgdWorker, simulateWorkers, workerIds, type DsgdOptions } from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { normal, rng } from '../../../test/support/numeric.js';

const spec = softmaxRegression(6, 3);
const n = 4;
const batch = 8;
const rounds = 4;
const localSteps = 3;
const lr = 0.2;

describe('D-SGD with gradient steps vs a float64 simulation', () => {
  const gpu = useGpu();

  for (const order of ['adapt-then-combine', 'overlapped'] as const) {
    it(`${order}: every worker's parameters within 2e-5 of the float64 run`, async () => {
      const g = gpu();
      const ids = workerIds(n);
      const topology = gossipTopology(`ring:${n}`, 1);
      const r = rng(9);
      const data = ids.map((_, i) => ({ x: normal(batch * 6, 40 + i), y: Uint32Array.from({ length: batch }, () => Math.floor(r() * 3)) }));
      const replicas = ids.map((_, i) => {
        const replica = Replica.create(g, { spec, optimizer: { kind: 'sgd', lr }, batchSize: batch, seed: 1 });
        replica.setParameters(normal(replica.layout.length, 100 + i));
        return replica;
      });
      const start = await Promise.all(replicas.map((rep) => rep.getParameters()));
      const layout = replicas[0].layout;
      const indices: number[] = [];
      for (const s of layout.segments) for (let k = 0; k < s.length; k++) indices.push(s.offset + k);

      // The GPU run over the in-process transport: each worker's batch is fixed (uploaded once).
      const sources: BatchSource[] = data.map((d) => ({
        batchFeatures: span(g.upload(d.x), 0, d.x.length),
        batchLabels: { buffer: g.upload(d.y), offset: 0, length: batch },
        encode: () => undefined,
      }));
      const options: DsgdOptions = { rounds, localSteps, schedule: { kind: 'gossip' }, topology, order, finalMerge: { kind: 'none' }, seed: 3, evalEvery: 0, consensusEvery: 0 };
      await simulateWorkers(ids, (transport, index) => runDsgdWorker({ gpu: g, transport, replica: replicas[index], batches: sources[index], ids, index }, options));
      const gpuParams = await Promise.all(replicas.map((rep) => rep.getParameters()));

      // The same algorithm in float64 (and the other order, to show the test tells them apart).
      const float64Run = (kind: typeof order): Float64Array[] => {
        let x = start.map((p) => Float64Array.from(p));
        const sgdStep = (p: Float64Array, i: number): void => {
          const grad = modelReference.finiteDifferenceGradient(spec, layout, p, data[i].x, data[i].y, batch, indices);
          indices.forEach((q, j) => (p[q] -= lr * grad[j]));
        };
        for (let t = 0; t < rounds; t++) {
          const before = x.map((p) => Float64Array.from(p));
          const half = x.map((p, i) => {
            const q = Float64Array.from(p);
            for (let s = 0; s < localSteps; s++) sgdStep(q, i);
            return q;
          });
          x = half.map((h, i) => {
            const node = topology.node(t, i);
            const mixedFrom = kind === 'adapt-then-combine' ? half : before;
            const out = new Float64Array(h.length);
            for (let k = 0; k < h.length; k++) {
              let v = kind === 'adapt-then-combine' ? node.self * h[k] : h[k] + (node.self - 1) * before[i][k];
              for (const e of node.recv) v += e.w * mixedFrom[e.peer][k];
              out[k] = v;
            }
            return out;
          });
        }
        return x;
      };
      const x = float64Run(order);
      const other = float64Run(order === 'overlapped' ? 'adapt-then-combine' : 'overlapped');
      let scale = 0;
      for (const p of x) for (const q of indices) scale = Math.max(scale, Math.abs(p[q]));
      expect(scale).toBeGreaterThan(0.1);
      // The steps moved the parameters far more than the tolerance.
      let moved = 0;
      for (let i = 0; i < n; i++) for (const q of indices) moved = Math.max(moved, Math.abs(x[i][q] - start[i][q]));
      expect(moved).toBeGreaterThan(0.05);
      for (let i = 0; i < n; i++) {
        let worst = 0;
        for (const q of indices) worst = Math.max(worst, Math.abs(gpuParams[i][q] - x[i][q]));
        expect(worst, `worker ${i}`).toBeLessThan(2e-5);
        let fromOther = 0;
        for (const q of indices) fromOther = Math.max(fromOther, Math.abs(gpuParams[i][q] - other[i][q]));
        expect(fromOther, `worker ${i} vs the other order`).toBeGreaterThan(1e-3);
      }
      for (const rep of replicas) rep.destroy();
    });
  }
});
