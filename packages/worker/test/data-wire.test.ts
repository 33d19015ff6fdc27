import { describe, expect, it } from 'vitest';
import { decodeTrainTest, encodeTrainTest, loadTrainTest } from '@gossamer/worker';

const bits = (a: Float32Array | Uint32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

describe('the run data body a worker page fetches', () => {
  it('reads back bit for bit (features, labels, shapes, names), also from an unaligned offset', async () => {
    const data = await loadTrainTest({ kind: 'blobs', samples: 50, classes: 3, features: 5 }, 7);
    data.train.features[0] = -0;
    const body = encodeTrainTest(data);
    const shifted = new Uint8Array(body.length + 1);
    shifted.set(body, 1);
    for (const b of [body, shifted.subarray(1)]) {
      const back = decodeTrainTest(b);
      for (const part of ['train', 'test'] as const) {
        expect(back[part].name).toBe(data[part].name);
        expect(back[part].featureShape).toEqual(data[part].featureShape);
        expect(back[part].numClasses).toBe(3);
        expect(bits(back[part].features)).toEqual(bits(data[part].features));
        expect(back[part].labels).toEqual(data[part].labels);
      }
    }
  });

  it('rejects a truncated body', async () => {
    const body = encodeTrainTest(await loadTrainTest({ kind: 'blobs', samples: 20, classes: 2, features: 3 }, 1));
    expect(() => decodeTrainTest(body.subarray(0, body.length - 4))).toThrow(/body ends/);
  });
});
