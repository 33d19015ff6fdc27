// The behaviour every Transport implementation must show, run against the in-process transport and
// the NATS transport alike (each test file calls transportConformance with its own factory).
import { describe, expect, it } from 'vitest';
import {
  PeerLeftError,
  TransportAbortedError,
  TransportTimeoutError,
  TransportUsageError,
  createInProcessNetwork,
  wireRoundTrip,
  type MembershipEvent,
  type Transport,
} from '@gossamer/transport';
import { uniform } from '../../../test/support/numeric.js';

export interface Workers {
  transports: Transport[];
  close(): Promise<void>;
}

export interface ConformanceOptions {
  /** Creates connected transports for the given ids, every one seeing all the others as members. */
  create(ids: string[]): Promise<Workers>;
  /** Element count of a tensor that needs several wire messages. */
  largeElements: number;
}

/** Bits of a Float32Array, for bit-exact comparisons that also tell -0 from 0 and NaN payloads apart. */
export const bits = (values: Float32Array): Uint32Array => new Uint32Array(values.buffer, values.byteOffset, values.length);

/** Asserts equal bits; reports the first difference (toEqual on millions of elements is too slow). */
export function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const a = bits(actual);
  const e = bits(expected);
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      first = i;
      break;
    }
  }
  expect(first === -1 ? 'identical' : `element ${first}: ${actual[first]} vs ${expected[first]}`).toBe('identical');
}

/** The result of the in-process all-reduce: the reference every implementation must equal bit for bit. */
export async function inProcessAllReduce(inputs: Float32Array[], op: 'mean' | 'sum', dtype: 'f32' | 'f16' | 'bf16' | 'int8' = 'f32'): Promise<Float32Array[]> {
  const ids = inputs.map((_, i) => `r${i}`);
  const network = createInProcessNetwork(ids);
  const results = await Promise.all(network.transports.map((t, i) => t.allReduce({ tensor: 0, round: 0 }, inputs[i].slice(), { op, dtype })));
  await network.close();
  return results;
}

export function transportConformance(name: string, options: ConformanceOptions): void {
  describe(`${name}: Transport conformance`, () => {
    it('delivers tensors bit-exact, exactly once, whether receive comes before or after the send', async () => {
      const w = await options.create(['a', 'b']);
      try {
        const [a, b] = w.transports;
        for (const [i, n] of [0, 1, 7, options.largeElements].entries()) {
          const data = uniform(n, 10 + i, -1e3, 1e3);
          if (n > 2) {
            data[1] = -0;
            data[2] = 1e-42; // subnormal
          }
          const early = b.receive('a', { tensor: 3, round: i });
          await a.send('b', { tensor: 3, round: i }, data);
          expectSameBits(await early, data);
          // Sent first, received later, into a caller's buffer.
          await a.send('b', { tensor: 4, round: i }, data);
          const into = new Float32Array(n);
          const got = await b.receive('a', { tensor: 4, round: i }, { into });
          expect(got).toBe(into);
          expectSameBits(into, data);
          await expect(b.receive('a', { tensor: 4, round: i }, { timeoutMs: 200 })).rejects.toBeInstanceOf(TransportUsageError);
        }
        expect(a.stats().bytesSent).toBeGreaterThanOrEqual(2 * 4 * options.largeElements);
        expect(b.stats().bytesReceived).toBeGreaterThanOrEqual(2 * 4 * options.largeElements);
      } finally {
        await w.close();
      }
    });

    it('sends in both directions at once and keeps keys apart', async () => {
      const w = await options.create(['a', 'b']);
      try {
        const [a, b] = w.transports;
        const x = uniform(1000, 1);
        const y = uniform(1000, 2);
        const [, , gotY, gotX] = await Promise.all([
          a.send('b', { tensor: 0, round: 5 }, x),
          b.send('a', { tensor: 0, round: 5 }, y),
          a.receive('b', { tensor: 0, round: 5 }),
          b.receive('a', { tensor: 0, round: 5 }),
        ]);
        expectSameBits(gotX, x);
        expectSameBits(gotY, y);
        await expect(a.send('b', { tensor: 0, round: 5 }, x)).rejects.toBeInstanceOf(TransportUsageError);
      } finally {
        await w.close();
      }
    });

    it('rounds lossy wire dtypes exactly as the wire codecs do', async () => {
      const w = await options.create(['a', 'b']);
      try {
        const [a, b] = w.transports;
        const data = uniform(1001, 3, -5, 5);
        for (const [round, dtype] of (['f16', 'bf16', 'int8'] as const).entries()) {
          const expected = data.slice();
          wireRoundTrip(expected, dtype, 64);
          const [, got] = await Promise.all([a.send('b', { tensor: 1, round }, data, { dtype, blockSize: 64 }), b.receive('a', { tensor: 1, round })]);
          expectSameBits(got, expected);
        }
      } finally {
        await w.close();
      }
    });

    it('times out and aborts with typed errors', async () => {
      const w = await options.create(['a', 'b']);
      try {
        const [, b] = w.transports;
        const t0 = performance.now();
        const error = await b.receive('a', { tensor: 9, round: 9 }, { timeoutMs: 150 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TransportTimeoutError);
        expect((error as TransportTimeoutError).peer).toBe('a');
        expect(performance.now() - t0).toBeLessThan(2000);
        const controller = new AbortController();
        const aborted = b.receive('a', { tensor: 9, round: 10 }, { signal: controller.signal });
        controller.abort(new Error('stop'));
        await expect(aborted).rejects.toBeInstanceOf(TransportAbortedError);
        await expect(b.receive('nobody', { tensor: 0, round: 0 })).rejects.toBeInstanceOf(TransportUsageError);
      } finally {
        await w.close();
      }
    });

    it('all-reduces (mean and sum) to the same bits on every member, equal to the in-process reference', async () => {
      const ids = ['w0', 'w1', 'w2', 'w3'];
      const w = await options.create(ids);
      try {
        for (const [round, n] of [3, 1000, options.largeElements].entries()) {
          const inputs = ids.map((_, i) => uniform(n, 100 * round + i, -10, 10));
          for (const op of ['mean', 'sum'] as const) {
            const results = await Promise.all(
              w.transports.map((t, i) => t.allReduce({ tensor: 0, round: 10 * round + (op === 'sum' ? 1 : 0) }, inputs[i].slice(), { op })),
            );
            const reference = await inProcessAllReduce(inputs, op);
            for (const r of results) expectSameBits(r, reference[0]);
            // Within float32 rounding of the float64 reduction.
            for (let k = 0; k < n; k += Math.max(1, Math.floor(n / 997))) {
              let sum = 0;
              for (const x of inputs) sum += x[k];
              const exact = op === 'mean' ? sum / ids.length : sum;
              expect(Math.abs(results[0][k] - exact)).toBeLessThanOrEqual(1e-5 * 40);
            }
          }
        }
        // A lossy wire dtype still gives every member the same bits, equal to the reference.
        const inputs = ids.map((_, i) => uniform(999, 77 + i));
        const results = await Promise.all(w.transports.map((t, i) => t.allReduce({ tensor: 1, round: 0 }, inputs[i].slice(), { dtype: 'bf16' })));
        const reference = await inProcessAllReduce(inputs, 'mean', 'bf16');
        for (const r of results) expectSameBits(r, reference[0]);
        // A subgroup, in its own canonical order.
        const sub = ['w3', 'w1'];
        const subResults = await Promise.all(
          sub.map((id) => w.transports[ids.indexOf(id)].allReduce({ tensor: 2, round: 0 }, inputs[ids.indexOf(id)].slice(), { group: sub })),
        );
        expectSameBits(subResults[0], subResults[1]);
      } finally {
        await w.close();
      }
    });

    it('reports membership and fails pending work on a peer that leaves', async () => {
      const w = await options.create(['a', 'b', 'c']);
      let closedC = false;
      try {
        const [a, , c] = w.transports;
        expect(a.members()).toEqual(['a', 'b', 'c']);
        const iterator = a.membership()[Symbol.asyncIterator]();
        const initial: MembershipEvent[] = [(await iterator.next()).value, (await iterator.next()).value];
        expect(initial).toEqual([
          { kind: 'joined', worker: 'b' },
          { kind: 'joined', worker: 'c' },
        ]);
        const pending = a.receive('c', { tensor: 0, round: 0 }, { timeoutMs: 10_000 });
        await c.close();
        closedC = true;
        expect((await iterator.next()).value).toEqual({ kind: 'left', worker: 'c', reason: 'leave' });
        const error = await pending.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PeerLeftError);
        expect(a.members()).toEqual(['a', 'b']);
        await iterator.return?.();
      } finally {
        if (!closedC) await w.transports[2].close();
        await w.close();
      }
    });

    it('fails operations held while their caller does other work, without an unhandled rejection', async () => {
      const w = await options.create(['a', 'b', 'c']);
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => {
        unhandled.push(reason);
      };
      process.on('unhandledRejection', onUnhandled);
      let closedC = false;
      try {
        const [a, , c] = w.transports;
        const events = a.membership()[Symbol.asyncIterator]();
        // Posted now, awaited only later (an all-reduce runs while the caller computes).
        const receiving = a.receive('c', { tensor: 5, round: 0 }, { timeoutMs: 10_000 });
        const reducing = a.allReduce({ tensor: 6, round: 0 }, uniform(1000, 8), { group: ['a', 'c'], timeoutMs: 10_000 });
        await c.close();
        closedC = true;
        for (;;) {
          const event: MembershipEvent = (await events.next()).value;
          if (event.kind === 'left') {
            expect(event).toEqual({ kind: 'left', worker: 'c', reason: 'leave' });
            break;
          }
        }
        // Other work, long enough for Node to report a rejection nobody handled.
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(unhandled).toEqual([]);
        await expect(receiving).rejects.toBeInstanceOf(PeerLeftError);
        await expect(reducing).rejects.toBeInstanceOf(PeerLeftError);
        await events.return?.();
      } finally {
        process.off('unhandledRejection', onUnhandled);
        if (!closedC) await w.transports[2].close();
        await w.close();
      }
    });
  });
}
