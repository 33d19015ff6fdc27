import { describe, expect, it } from 'vitest';
import {
  netlassoNodeResiduals,
  netlassoReference,
  netlassoRidgeFactors,
  netlassoXUpdateNewton,
  netlassoXUpdateRidge,
  netlassoXUpdateSquared,
  uploadNetlassoTable,
  type NewtonLoss,
  type NodeSamples,
} from '@gossamer/kernels';
import type { Gpu } from '@gossamer/gpu';
import { useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal, rng, uniform } from '../../../test/support/numeric.js';

const ref = netlassoReference;

/**
 * A random worker: N nodes with 1–3 copies each (node 0 none when `isolatedFirst`), C rows of z/u,
 * S samples. (An isolated one-class SVM node has a singular Hessian in its flat regions: it is solved
 * by damped Newton.)
 */
function fixture(nodes: number, d: number, featureDim: number, seed: number, isolatedFirst = true) {
  const r = rng(seed);
  const start = [0];
  const list: number[] = [];
  let c = 0;
  for (let i = 0; i < nodes; i++) {
    const deg = i === 0 && isolatedFirst ? 0 : 1 + Math.floor(r() * 3);
    for (let k = 0; k < deg; k++) list.push(c++);
    start.push(c);
  }
  // Shuffle the rows so a node's copies are not contiguous (as with cut copies first).
  for (let k = list.length - 1; k > 0; k--) {
    const j = Math.floor(r() * (k + 1));
    [list[k], list[j]] = [list[j], list[k]];
  }
  const sampleStart = [0];
  for (let i = 0; i < nodes; i++) sampleStart.push(sampleStart[i] + 3 + Math.floor(r() * 6));
  const s = sampleStart[nodes];
  const samples: NodeSamples = {
    features: normal(s * featureDim, seed + 1),
    labels: Float32Array.from({ length: s }, () => (r() < 0.5 ? -1 : 1)),
    start: sampleStart,
    featureDim,
  };
  return {
    copies: { start, list },
    samples,
    x: uniform(nodes * d, seed + 2),
    z: uniform(c * d, seed + 3),
    zOld: uniform(c * d, seed + 4),
    u: uniform(c * d, seed + 5, -0.3, 0.3),
    anchors: normal(nodes * d, seed + 6),
  };
}

type Fixture = ReturnType<typeof fixture>;

async function runNode(
  g: Gpu,
  f: Fixture,
  nodes: number,
  d: number,
  record: (args: {
    step: ReturnType<Gpu['beginStep']>;
    x: GPUBuffer;
    z: GPUBuffer;
    u: GPUBuffer;
    table: ReturnType<typeof uploadNetlassoTable>;
  }) => GPUBuffer,
): Promise<Float32Array> {
  const table = uploadNetlassoTable(g, f.copies.start, f.copies.list, f.samples.start);
  const [x, z, u] = [g.upload(f.x), g.upload(f.z), g.upload(f.u)];
  const step = g.beginStep();
  const out = record({ step, x, z, u, table });
  step.submit();
  const result = await g.readF32(out);
  for (const b of [x, z, u, table.buffer]) b.destroy();
  return result;
}

function sampleBuffer(g: Gpu, s: NodeSamples) {
  const features = Float32Array.from(s.features);
  const all = new Float32Array(features.length + s.labels.length);
  all.set(features);
  all.set(Float32Array.from(s.labels), features.length);
  return { buffer: g.upload(all), featuresOffset: 0, labelsOffset: features.length, featureDim: s.featureDim };
}

describe('Network Lasso node kernels vs float64', () => {
  const gpu = useGpu();
  const N = 9;
  const rho = 1.7;

  it('squared-loss x-update (closed form), rtol 1e-5', async () => {
    const d = 5;
    const f = fixture(N, d, d, 11);
    const g = gpu();
    const got = await runNode(g, f, N, d, ({ step, x, z, u, table }) => {
      netlassoXUpdateSquared(step, { nodes: N, dim: d, x, z, u, table, rho, anchors: g.upload(f.anchors) });
      return x;
    });
    const want = ref.xUpdateSquared(f.anchors, f.z, f.u, f.copies, N, d, rho);
    expectAllClose(got, want, { atol: 1e-6, rtol: 1e-5 }, 'x');
    // Node 0 has no edges: its x is its own anchor.
    expectAllClose(got.subarray(0, d), f.anchors.subarray(0, d), { atol: 1e-7, rtol: 1e-6 }, 'isolated node');
  });

  it('ridge x-update through the cached eigendecomposition equals a direct float64 solve at two ρ, rtol 1e-4', async () => {
    const d = 4;
    const f = fixture(N, d, d, 21);
    const g = gpu();
    const mu = 0.3;
    const factors = netlassoRidgeFactors(f.samples, N, d, mu);
    for (const r of [rho, 9.5]) {
      const got = await runNode(g, f, N, d, ({ step, x, z, u, table }) => {
        netlassoXUpdateRidge(step, { nodes: N, dim: d, x, z, u, table, rho: r, factors: g.upload(factors) });
        return x;
      });
      const want = ref.xUpdateRidge(f.samples, mu, f.z, f.u, f.copies, N, d, r);
      expectAllClose(got, want, { atol: 2e-5, rtol: 1e-4 }, `x (ρ = ${r})`);
    }
  });

  const losses: NewtonLoss[] = [
    { kind: 'logistic', mu: 0.1, scale: 1, smoothing: 0 },
    { kind: 'squaredHinge', mu: 0.5, scale: 0.75, smoothing: 0 },
    { kind: 'smoothedHinge', mu: 1, scale: 0.75, smoothing: 0.5 },
    { kind: 'ocsvm', mu: 0, scale: 1 / 0.2, smoothing: 0.3 },
  ];
  for (const loss of losses) {
    it(`${loss.kind}: one warm-started Newton step, and an exact solve to tolerance, rtol 1e-4`, async () => {
      const d = 4;
      const featureDim = loss.kind === 'ocsvm' ? d - 1 : d;
      const f = fixture(N, d, featureDim, 31 + loss.kind.length); // node 0 isolated, for every loss
      const g = gpu();
      const samples = sampleBuffer(g, f.samples);
      const one = await runNode(g, f, N, d, ({ step, x, z, u, table }) => {
        netlassoXUpdateNewton(step, { nodes: N, dim: d, x, z, u, table, rho, samples, loss });
        return x;
      });
      const wantOne = ref.xUpdateNewton(loss, f.samples, f.x, f.z, f.u, f.copies, N, d, rho, 1);
      expectAllClose(one, wantOne, { atol: 5e-5, rtol: 1e-4 }, 'x after one Newton step');

      const exact = await runNode(g, f, N, d, ({ step, x, z, u, table }) => {
        netlassoXUpdateNewton(step, { nodes: N, dim: d, x, z, u, table, rho, samples, loss, newton: { steps: 30, tol: 1e-6 } });
        return x;
      });
      const wantExact = ref.xUpdateNewton(loss, f.samples, f.x, f.z, f.u, f.copies, N, d, rho, 100, 1e-13);
      expectAllClose(exact, wantExact, { atol: 1e-4, rtol: 1e-4 }, 'x after an exact solve');
      // The exact solve is the prox: the gradient of f_i + (ρ/2) Σ‖x − z + u‖² vanishes there (float64).
      for (let i = 0; i < N; i++) {
        const xi = wantExact.subarray(i * d, (i + 1) * d);
        const { gradient } = ref.newtonLossAt(loss, f.samples, i, xi, d);
        const { sum, degree } = ref.sumZMinusU(f.z, f.u, f.copies, i, d);
        const norm = Math.hypot(...gradient.map((v, k) => v + rho * (degree * xi[k] - sum[k])));
        expect(norm, `prox optimality of node ${i}`).toBeLessThan(1e-9);
      }
      samples.buffer.destroy();
    });
  }

  it('node residual statistics, rtol 1e-5', async () => {
    const d = 3;
    const f = fixture(N, d, d, 41);
    const g = gpu();
    const stats = g.createBuffer(5 * N * 4);
    const got = await runNode(g, f, N, d, ({ step, x, z, u, table }) => {
      netlassoNodeResiduals(step, { nodes: N, dim: d, x, z, u, table, rho, zOld: g.upload(f.zOld), stats });
      return stats;
    });
    const want = ref.nodeResiduals(f.x, f.z, f.zOld, f.u, f.copies, N, d);
    expectAllClose(got, want, { atol: 1e-6, rtol: 1e-5 }, 'stats');
    expect(Array.from(got.subarray(0, 5)).filter((v, k) => k !== 2)).toEqual([0, 0, 0, 0]);
  });

  it('the Jacobi eigendecomposition reconstructs the matrix (float64)', () => {
    const d = 6;
    const a = normal(d * d, 5);
    const m = new Float64Array(d * d);
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) m[r * d + c] = a[r * d + c] + a[c * d + r];
    const { q, eig } = ref.symmetricEigen(m, d);
    const back = new Float64Array(d * d);
    for (let r = 0; r < d; r++) for (let c = 0; c < d; c++) for (let k = 0; k < d; k++) back[r * d + c] += q[r * d + k] * eig[k] * q[c * d + k];
    expectAllClose(back, m, { atol: 1e-12, rtol: 1e-12 }, 'Q diag(eig) Qᵀ');
  });
});
