// GossipMixer.apply against a float64 reference, at degrees past the 64 weights its first buffer
// holds (a node of complete:66 mixes 65 neighbours): the weight buffer grows with the degree.
import { afterAll, describe, expect, it } from 'vitest';
import { GossipMixer } from '@gossamer/algorithms';
import { reference, span, type RobustRule } from '@gossamer/kernels';
import { createInProcessNetwork } from '@gossamer/transport';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, uniform } from '../../../test/support/numeric.js';

const gpu = useGpu();
const net = createInProcessNetwork(['w0']);
afterAll(() => net.close());

describe('GossipMixer', () => {
  for (const degree of [3, 63, 64, 65, 130]) {
    it(`mixes ${degree} neighbours' vectors as x ← w_self·x + Σ w_k·x_k (float64 reference, 1e-5)`, async () => {
      const length = 37;
      const x0 = uniform(length, 11, -1, 1);
      const received = Array.from({ length: degree }, (_, k) => uniform(length, 100 + k, -1, 1));
      const weights = Array.from({ length: degree }, (_, k) => (1 + (k % 5)) / (4 * degree));
      const self = 1 - weights.reduce((a, b) => a + b, 0);
      const buffer = gpu().upload(x0, 'x');
      const mixer = new GossipMixer(gpu(), net.transport('w0'), ['w0'], length);
      // Twice: the second call reuses what the first grew.
      for (let pass = 0; pass < 2; pass++) {
        gpu().write(buffer, 0, x0);
        mixer.apply(span(buffer, 0, length), self, received, weights);
        const out = new Float32Array(await gpu().read(buffer, 0, 4 * length));
        let worst = 0;
        for (let i = 0; i < length; i++) {
          let want = self * x0[i];
          for (let k = 0; k < degree; k++) want += weights[k] * received[k][i];
          worst = Math.max(worst, Math.abs(out[i] - want));
        }
        expect(worst, `pass ${pass}`).toBeLessThan(1e-5);
      }
      mixer.destroy();
      buffer.destroy();
    });
  }

  it('applyRobust writes the rule of x and the received vectors into x, and its steady state creates no GPU buffer', async () => {
    const g = gpu();
    const [length, degree] = [301, 6];
    const x0 = uniform(length, 12);
    const received = Array.from({ length: degree }, (_, k) => uniform(length, 200 + k));
    const stacked = new Float32Array(degree * length);
    received.forEach((r, k) => stacked.set(r, k * length));
    const weights = received.map(() => 1 / (degree + 1));
    const buffer = g.upload(x0, 'x');
    const mixer = new GossipMixer(g, net.transport('w0'), ['w0'], length);
    const cases: [RobustRule, Float64Array][] = [
      [{ kind: 'nna', f: 2 }, reference.robust.nna(x0, stacked, degree, 2)],
      [{ kind: 'clip', tau: 5 }, reference.robust.clippedGossip(x0, stacked, degree, [0, ...weights], 5)],
    ];
    for (const [rule, want] of cases) {
      g.write(buffer, 0, x0);
      mixer.applyRobust(span(buffer, 0, length), received, weights, rule);
      // Bounds of robust.test.ts (inputs in [−1, 1]): well under 1e-5.
      expectAllClose(await g.readF32(buffer), want, { atol: 1e-5, rtol: 0 }, rule.kind);
    }
    await expectSteadyStateAllocatesNothing(g, async () => {
      for (const [rule] of cases) mixer.applyRobust(span(buffer, 0, length), received, weights, rule);
      await g.sync();
    });
    mixer.destroy();
    buffer.destroy();
  });
});
