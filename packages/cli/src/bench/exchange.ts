// Parameter exchange throughput: our NATS transport (chunking, checksums, reassembly, acks and flow
// control) against a raw NATS publish of the same bytes, in the same run, on the same local
// nats-server. Both sides live in this process (two connections each), so the figures are loopback
// throughput with one event loop doing the sending and the receiving.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsTransport, startNatsServer, type NatsServer } from '@gossamer/transport';
import { PeakRss } from './common.js';
import type { BenchResult } from './types.js';

export interface ExchangeBenchOptions {
  /** Tensor sizes in float32 elements (default 1M and 10M). */
  sizes?: number[];
  /** Timed repetitions per size and side; the best is reported (default 3). */
  reps?: number;
  /** Flow-control window of the transports, bytes (default: the transport's, 8 MiB). */
  windowBytes?: number;
  /** NATS URL to use instead of starting a local nats-server. */
  natsUrl?: string;
}

interface SideTiming {
  /** Best seconds for one transfer. */
  seconds: number;
  /** Payload MB (10^6 bytes) per second. */
  mbPerSecond: number;
}

interface SizeResult {
  elements: number;
  bytes: number;
  ours: SideTiming;
  raw: SideTiming;
  /** ours ÷ raw throughput. */
  ratio: number;
  /** Wire messages per transfer through our transport (chunks + acks). */
  oursMessages: number;
}

const MB = 1e6;

/** One raw transfer: publishes `bytes` as max_payload-sized slices (views, no copy) and waits for the subscriber to count them all. */
async function rawTransfer(pub: NatsConnection, sub: NatsConnection, bytes: Uint8Array, subject: string): Promise<number> {
  const slice = (pub.info?.max_payload ?? 1024 * 1024) - 1024;
  let received = 0;
  const done = new Promise<void>((resolve) => {
    const s = sub.subscribe(subject, {
      callback: (_err, msg) => {
        received += msg.data.length;
        if (received >= bytes.length) {
          s.unsubscribe();
          resolve();
        }
      },
    });
  });
  await sub.flush();
  const t0 = performance.now();
  for (let offset = 0; offset < bytes.length; offset += slice) pub.publish(subject, bytes.subarray(offset, Math.min(bytes.length, offset + slice)));
  await done;
  return (performance.now() - t0) / 1000;
}

export async function benchExchange(options: ExchangeBenchOptions = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [1_000_000, 10_000_000];
  const reps = options.reps ?? 3;
  const rss = new PeakRss();
  let server: NatsServer | undefined;
  const url = options.natsUrl ?? (server = await startNatsServer()).url;
  const runId = `bench${Date.now().toString(36)}`;
  const [a, b] = await Promise.all(['a', 'b'].map((id) => NatsTransport.connect({ servers: url, id, runId, peers: ['a', 'b'], windowBytes: options.windowBytes })));
  const [pub, sub] = await Promise.all([connect({ servers: url }), connect({ servers: url })]);
  const results: SizeResult[] = [];
  try {
    await Promise.all([a.waitForPeers(['a', 'b']), b.waitForPeers(['a', 'b'])]);
    let round = 0;
    for (const elements of sizes) {
      const data = new Float32Array(elements);
      for (let i = 0; i < elements; i++) data[i] = Math.sin(i);
      const into = new Float32Array(elements);
      const bytes = new Uint8Array(data.buffer);
      let ours = Infinity;
      let raw = Infinity;
      let oursMessages = 0;
      // Warm-up of each side, then alternate so both see the same machine state.
      for (let rep = -1; rep < reps; rep++) {
        const before = a.stats().messagesSent + b.stats().messagesSent;
        const t0 = performance.now();
        await Promise.all([a.send('b', { tensor: 0, round }, data), b.receive('a', { tensor: 0, round }, { into })]);
        const seconds = (performance.now() - t0) / 1000;
        oursMessages = a.stats().messagesSent + b.stats().messagesSent - before;
        round++;
        const rawSeconds = await rawTransfer(pub, sub, bytes, `bench.raw.${runId}.${round}`);
        if (rep >= 0) {
          ours = Math.min(ours, seconds);
          raw = Math.min(raw, rawSeconds);
        }
      }
      for (let i = 0; i < elements; i += 9973) if (into[i] !== data[i]) throw new Error(`exchange bench: element ${i} arrived wrong`);
      const side = (seconds: number): SideTiming => ({ seconds, mbPerSecond: bytes.length / MB / seconds });
      results.push({ elements, bytes: bytes.length, ours: side(ours), raw: side(raw), ratio: raw / ours, oursMessages });
    }
  } finally {
    await Promise.all([a.close(), b.close(), pub.close(), sub.close()]);
    await server?.close();
  }
  const peakRssBytes = rss.stop();
  return {
    name: 'exchange',
    columns: ['floats', 'MB', 'ours MB/s', 'raw MB/s', 'ours/raw', 'ours ms', 'raw ms', 'msgs'],
    rows: results.map((r) => [
      r.elements,
      Number((r.bytes / MB).toFixed(1)),
      Number(r.ours.mbPerSecond.toFixed(0)),
      Number(r.raw.mbPerSecond.toFixed(0)),
      Number(r.ratio.toFixed(2)),
      Number((r.ours.seconds * 1000).toFixed(1)),
      Number((r.raw.seconds * 1000).toFixed(1)),
      r.oursMessages,
    ]),
    notes: [
      `one tensor from worker a to worker b through NatsTransport (send + receive into a preallocated Float32Array; CRC-32C, acks, window ${((options.windowBytes ?? 8 * 2 ** 20) / 2 ** 20).toFixed(0)} MiB) vs raw publish of the same bytes in max_payload slices to a counting subscriber`,
      `same process, same ${options.natsUrl ? 'NATS server' : 'local nats-server'}, best of ${reps} after one warm-up each; MB = 10^6 bytes`,
      `peak RSS ${(peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    ],
    json: { results, peakRssBytes, reps },
  };
}
