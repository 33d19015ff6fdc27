import { describe, expect, it } from 'vitest';
import {
  PeerLeftError,
  TokenBucket,
  TransportClosedError,
  TransportTimeoutError,
  createInProcessNetwork,
  ringAllReduce,
  segmentBounds,
} from '@gossamer/transport';
import { uniform } from '../../../test/support/numeric.js';
import { expectSameBits, transportConformance } from './conformance.js';

transportConformance('in-process', {
  largeElements: 300_000,
  async create(ids) {
    const network = createInProcessNetwork(ids);
    return { transports: network.transports, close: () => network.close() };
  },
});

describe('in-process network', () => {
  it('all-reduce follows the documented canonical order (segment j summed in ring order from rank j)', async () => {
    const n = 3;
    const inputs = [new Float32Array([1e8, 1, 3]), new Float32Array([1, 1e8, 5]), new Float32Array([-1e8, -1e8, 1e-3])];
    const network = createInProcessNetwork(['x', 'y', 'z']);
    const results = await Promise.all(network.transports.map((t, i) => t.allReduce({ tensor: 0, round: 0 }, inputs[i].slice(), { op: 'sum' })));
    const expected = new Float32Array(3);
    for (let j = 0; j < n; j++) {
      const [start, end] = segmentBounds(3, n, j);
      for (let k = start; k < end; k++) {
        let acc = inputs[j][k];
        for (let step = 1; step < n; step++) acc = Math.fround(acc + inputs[(j + step) % n][k]);
        expected[k] = acc;
      }
    }
    // (1e8 + 1) rounds to 1e8 in float32, so the order is visible in the result.
    expectSameBits(results[0], expected);
    expect(expected[0]).toBe(0);
    await network.close();
  });

  it('all-reduce of a tensor shorter than the group, and of a group of one', async () => {
    const network = createInProcessNetwork(['a', 'b', 'c', 'd', 'e']);
    const inputs = network.transports.map((_, i) => new Float32Array([i + 1, 2 * i]));
    const results = await Promise.all(network.transports.map((t, i) => t.allReduce({ tensor: 0, round: 0 }, inputs[i])));
    for (const r of results) expect([...r]).toEqual([3, 4]);
    const alone = new Float32Array([1.5, -2]);
    expect([...(await network.transports[0].allReduce({ tensor: 0, round: 1 }, alone, { group: ['a'] }))]).toEqual([1.5, -2]);
    await network.close();
  });

  it('ringAllReduce rejects a group without this worker', async () => {
    const link = { sendSegment: async () => undefined, receiveSegment: async () => undefined };
    await expect(
      ringAllReduce(link, new Float32Array(4), { self: 'q', group: ['a', 'b'], key: { tensor: 0, round: 0 }, op: 'mean', dtype: 'f32', blockSize: 256, collectiveId: 1, timeoutMs: 100 }),
    ).rejects.toThrow(/does not contain q/);
  });

  it('simulates link latency and bandwidth', async () => {
    const network = createInProcessNetwork(['a', 'b'], { link: { latencyMs: 30 } });
    network.setLink('a', 'b', { latencyMs: 10, bandwidth: { bytesPerSecond: 4_000_000, burstBytes: 100_000 } });
    const [a, b] = network.transports;
    const data = new Float32Array(250_000); // 1 MB: ≈ 225 ms beyond the burst at 4 MB/s
    let t0 = performance.now();
    await Promise.all([a.send('b', { tensor: 0, round: 0 }, data), b.receive('a', { tensor: 0, round: 0 })]);
    const slow = performance.now() - t0;
    expect(slow).toBeGreaterThan(180);
    expect(slow).toBeLessThan(1500);
    t0 = performance.now();
    await Promise.all([b.send('a', { tensor: 0, round: 0 }, data), a.receive('b', { tensor: 0, round: 0 })]);
    const back = performance.now() - t0;
    expect(back).toBeGreaterThanOrEqual(25);
    expect(back).toBeLessThan(slow);
    await network.close();
  });

  it('a crashed worker is reported as left (timeout) and fails pending work on both sides', async () => {
    const network = createInProcessNetwork(['a', 'b', 'c']);
    const [a, b, c] = network.transports;
    const events = a.membership()[Symbol.asyncIterator]();
    await events.next();
    await events.next();
    const waitingOnB = a.receive('b', { tensor: 0, round: 0 });
    const bWaiting = b.receive('c', { tensor: 0, round: 0 });
    network.crash('b');
    await expect(waitingOnB).rejects.toBeInstanceOf(PeerLeftError);
    await expect(bWaiting).rejects.toBeInstanceOf(TransportClosedError);
    expect((await events.next()).value).toEqual({ kind: 'left', worker: 'b', reason: 'timeout' });
    await expect(c.send('b', { tensor: 1, round: 0 }, new Float32Array(1))).rejects.toBeInstanceOf(PeerLeftError);
    // A group containing the dead worker fails fast instead of hanging.
    await expect(a.allReduce({ tensor: 0, round: 1 }, new Float32Array(8), { group: ['a', 'b', 'c'] })).rejects.toBeInstanceOf(PeerLeftError);
    await network.close();
    expect((await events.next()).done).toBe(true);
  });

  it('lost transfers time out on both ends', async () => {
    const network = createInProcessNetwork(['a', 'b'], { sendTimeoutMs: 100 });
    const [a, b] = network.transports;
    network.dropTransfers('a', 'b', 1);
    await expect(a.send('b', { tensor: 0, round: 0 }, new Float32Array(3))).rejects.toBeInstanceOf(TransportTimeoutError);
    await expect(b.receive('a', { tensor: 0, round: 0 }, { timeoutMs: 50 })).rejects.toBeInstanceOf(TransportTimeoutError);
    // The next transfer on the link goes through.
    const [, got] = await Promise.all([a.send('b', { tensor: 0, round: 1 }, new Float32Array([7])), b.receive('a', { tensor: 0, round: 1 })]);
    expect([...got]).toEqual([7]);
    await network.close();
  });

  it('the sender may reuse its buffer once send resolves', async () => {
    const network = createInProcessNetwork(['a', 'b']);
    const [a, b] = network.transports;
    const data = uniform(100, 5);
    const copy = data.slice();
    await a.send('b', { tensor: 0, round: 0 }, data);
    data.fill(0);
    expectSameBits(await b.receive('a', { tensor: 0, round: 0 }), copy);
    await network.close();
  });
});

describe('TokenBucket', () => {
  it('passes a burst at once and then holds the rate', () => {
    let now = 0;
    const bucket = new TokenBucket({ bytesPerSecond: 1000, burstBytes: 500, now: () => now });
    expect(bucket.reserve(500)).toBe(0);
    expect(bucket.reserve(250)).toBeCloseTo(250, 6); // empty: 250 bytes take 250 ms
    now = 250;
    expect(bucket.reserve(2000)).toBeCloseTo(2000, 6); // larger than the burst: its whole transmission time
    now = 5000;
    expect(bucket.reserve(100)).toBe(0);
    expect(() => new TokenBucket({ bytesPerSecond: 0 })).toThrow(RangeError);
  });

  it('delays take() in call order', async () => {
    const bucket = new TokenBucket({ bytesPerSecond: 100_000, burstBytes: 1000 });
    const t0 = performance.now();
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => bucket.take(5000).then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3]);
    expect(performance.now() - t0).toBeGreaterThan(90); // 15 kB, 1 kB of burst, at 100 kB/s
  });
});
