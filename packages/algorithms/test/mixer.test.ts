// GossipMixer.apply against a float64 reference, at degrees past the 64 weights its first buffer
// holds (a node of complete:66 mixes 65 neighbours): the weight buffer grows with the degree.
import { afterAll, describe, expect, it } from 'vitest';
import { GossipMixer } from '@gossamer/algorithms';
import { span } from '@gossamer/kernels';
import { createInProcessNetwork } from '@gossamer/transport';
import { useGpu } from '../../../test/support/gpu.js';
import { uniform } from '../../../test/support/numeric.js';

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
});
