// NATS transport specifics over a real nats-server: chunking under max_payload, hostile and broken
// input, duplicates and reordering, a server restart mid-transfer, a frozen server, the launcher.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  DType,
  EnvelopeEncoder,
  PROTOCOL_VERSION,
  chunkAt,
  createEnvelope,
  crc32c,
  planChunks,
  bytesOf,
  type Envelope,
  type EnvelopeBodies,
  type MessageKind,
} from '@gossamer/wire';
import {
  BadMessageError,
  NatsServer,
  NatsServerNotFoundError,
  NatsTransport,
  PeerLeftError,
  TransportTimeoutError,
  natsSubjects,
  startNatsServer,
} from '@gossamer/transport';
import { uniform } from '../../../test/support/numeric.js';
import { expectSameBits } from './conformance.js';
import { connectWorkers, uniqueRunId } from './nats-harness.js';

let server: NatsServer;
let raw: NatsConnection;
beforeAll(async () => {
  server = await startNatsServer({ maxPayload: 128 * 1024 });
  raw = await connect({ servers: server.url });
});
afterAll(async () => {
  await raw?.close();
  await server?.close();
});

const encoder = new EnvelopeEncoder();
let seq = 1000;
function envelope<K extends MessageKind>(runId: string, sender: string, kind: K, body: EnvelopeBodies[K]): Uint8Array {
  return encoder.encode(createEnvelope({ runId, sender, seq: seq++, sendTimeMs: Date.now() }, kind, body) as unknown as Envelope);
}

describe('NATS transport', () => {
  it('reads max_payload from the server and moves tensors much larger than it, bit-exact', async () => {
    // Not about repair: no probes or requests (whose duplicates would be counted as rejections) on
    // a receiver that is merely slow because the machine is loaded.
    const w = await connectWorkers(server, ['a', 'b'], { retransmitAfterMs: 5000 });
    try {
      const [a, b] = w.transports;
      expect(a.maxPayload).toBe(128 * 1024);
      const data = uniform(2_000_003, 1, -1, 1); // ≈ 8 MB: 62 messages of at most 128 KiB
      const [, got] = await Promise.all([a.send('b', { tensor: 0, round: 0 }, data), b.receive('a', { tensor: 0, round: 0 })]);
      expectSameBits(got, data);
      expect(a.stats().messagesSent).toBeGreaterThan(60);
      expect(b.stats().rejectedByReason).toEqual({});
      expect(b.stats().messagesRejected).toBe(0);
    } finally {
      await w.close();
    }
  });

  it('rejects malformed, foreign, spoofed, oversized, corrupt and non-finite messages, counts each, and loses nothing', async () => {
    const errors: string[] = [];
    // retransmitAfterMs: not about repair, whose duplicates on a loaded machine would add to the counts.
    const w = await connectWorkers(server, ['a', 'b'], { maxPayload: 64 * 1024, retransmitAfterMs: 5000, onWireError: (e) => errors.push(`${e.reason} ${e.sender}`) });
    try {
      const [a, b] = w.transports;
      const toB = natsSubjects.data(w.runId, 'a', 'b');
      const data = uniform(50_000, 2);
      const plan = planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_F32, elementCount: data.length }, { runId: w.runId, sender: 'a', maxPayload: 64 * 1024 });
      const good = chunkAt(plan, bytesOf(data), 1);
      const publish = (subject: string, bytes: Uint8Array) => raw.publish(subject, bytes);
      // Malformed and truncated bytes, another protocol version.
      publish(toB, new Uint8Array([0xff, 0xff, 0xff, 0x01, 0x02]));
      const valid = envelope(w.runId, 'a', 'tensorChunk', good);
      publish(toB, valid.subarray(0, valid.length - 100));
      const v2 = valid.slice();
      v2[1] = PROTOCOL_VERSION + 1;
      publish(toB, v2);
      // Another run; a sender outside the run (on its own subject); a spoofed sender.
      publish(toB, envelope('other-run', 'a', 'tensorChunk', good));
      publish(natsSubjects.data(w.runId, 'mallory', 'b'), envelope(w.runId, 'mallory', 'tensorChunk', good));
      publish(toB, envelope(w.runId, 'b', 'tensorChunk', good));
      // Larger than the transport's max payload (the server would take it).
      publish(toB, new Uint8Array(100 * 1024));
      // A checksum mismatch, a NaN payload with a correct checksum, a wrong total length.
      const corrupt = valid.slice();
      corrupt[corrupt.length - 5] ^= 0xff;
      publish(toB, corrupt);
      const nanPayload = good.payload.slice();
      new DataView(nanPayload.buffer).setFloat32(8, Number.NaN, true);
      publish(toB, envelope(w.runId, 'a', 'tensorChunk', { ...good, payload: nanPayload, crc32c: crc32c(nanPayload) }));
      // Envelope on the wrong subject kind.
      publish(natsSubjects.member(w.runId, 'a'), valid);
      await raw.flush();
      // The real transfer: the bad copies of chunk 1 must not have taken its place.
      const [, got] = await Promise.all([a.send('b', { tensor: 0, round: 0 }, data), b.receive('a', { tensor: 0, round: 0 })]);
      expectSameBits(got, data);
      const reasons = b.stats().rejectedByReason ?? {};
      expect(reasons).toMatchObject({
        MALFORMED: 2, // garbage, wrong subject kind
        TRUNCATED: 1,
        VERSION: 1,
        WRONG_RUN: 1,
        UNKNOWN_SENDER: 1,
        MISMATCH: 1, // b's name on a's subject
        OVERSIZED: 1,
        CHECKSUM: 1,
        NON_FINITE: 1,
      });
      expect(b.stats().messagesRejected).toBe(10);
      expect(errors).toContain('UNKNOWN_SENDER mallory');
      expect(errors).toContain('CHECKSUM a');
      // Sending non-finite values or a tensor of the wrong length fails fast with a typed error.
      await expect(a.send('b', { tensor: 1, round: 0 }, new Float32Array([1, Number.POSITIVE_INFINITY]))).rejects.toBeInstanceOf(BadMessageError);
      const sending = a.send('b', { tensor: 2, round: 0 }, new Float32Array(10));
      await expect(b.receive('a', { tensor: 2, round: 0 }, { into: new Float32Array(11) })).rejects.toBeInstanceOf(BadMessageError);
      await expect(sending).rejects.toBeInstanceOf(BadMessageError);
      expect(b.stats().rejectedByReason?.LENGTH_MISMATCH).toBe(1);
    } finally {
      await w.close();
    }
  });

  it('reassembles chunks that arrive out of order and twice', async () => {
    const runId = uniqueRunId();
    const b = await NatsTransport.connect({ servers: server.url, id: 'b', runId, peers: ['a', 'b'], retransmitAfterMs: 5000 });
    try {
      // "a" is played by a raw connection: joins, then sends chunks shuffled, with duplicates.
      raw.publish(natsSubjects.member(runId, 'a'), envelope(runId, 'a', 'join', { capabilities: { adapter: '', softwareAdapter: false, maxBufferMib: 0, memoryMib: 0, stepsPerSecond: 0, gflops: 0, linkMbps: 0 }, softwareVersion: 'test', resumeRound: 0, incarnation: 0 }));
      await b.waitForPeers(['a'], 5000);
      const data = uniform(100_000, 3);
      const plan = planChunks({ tensorId: 7, round: 3, dtype: DType.DTYPE_F32, elementCount: data.length }, { runId, sender: 'a', maxPayload: 32 * 1024 });
      const order = [...Array(plan.chunkCount).keys()].reverse();
      order.splice(3, 0, order[0], order[5]);
      const into = new Float32Array(data.length);
      const receiving = b.receive('a', { tensor: 7, round: 3 }, { into });
      for (const i of order) raw.publish(natsSubjects.data(runId, 'a', 'b'), envelope(runId, 'a', 'tensorChunk', chunkAt(plan, bytesOf(data), i)));
      expect(await receiving).toBe(into);
      expectSameBits(into, data);
      expect(b.stats().rejectedByReason?.DUPLICATE).toBe(2);
      // A late repeat after completion is refused too.
      raw.publish(natsSubjects.data(runId, 'a', 'b'), envelope(runId, 'a', 'tensorChunk', chunkAt(plan, bytesOf(data), 0)));
      await raw.flush();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(b.stats().rejectedByReason?.DUPLICATE).toBe(3);
    } finally {
      await b.close();
    }
  });

  it('survives a nats-server restart mid-transfer (lost chunks are re-sent)', async () => {
    const own = await startNatsServer();
    try {
      const w = await connectWorkers(own, ['a', 'b'], {
        bandwidth: { bytesPerSecond: 40e6, burstBytes: 1 << 20 },
        heartbeatIntervalMs: 100,
        // This test is about repair, not about peer timeouts: the outage (server restart, a few
        // reconnect attempts 200 ms apart, all slower on a loaded machine) must not count as one.
        peerTimeoutMs: 15_000,
      });
      try {
        const [a, b] = w.transports;
        const data = uniform(10_000_000, 4); // 40 MB at 40 MB/s: about a second in flight
        const exchange = Promise.all([a.send('b', { tensor: 0, round: 0 }, data), b.receive('a', { tensor: 0, round: 0 }, { timeoutMs: 30_000 })]);
        exchange.catch(() => undefined); // awaited below; do not report it as unhandled meanwhile
        await new Promise((resolve) => setTimeout(resolve, 300));
        const port = own.port;
        await own.kill(); // a crash: whatever the server held is gone
        await own.restart();
        expect(own.port).toBe(port);
        const [, got] = await exchange;
        expectSameBits(got, data);
        expect(b.stats().retransmitRequests + a.stats().chunksRetransmitted!).toBeGreaterThan(0);
        expect(a.members()).toEqual(['a', 'b']);
        // And the next round goes through as usual.
        const next = uniform(1000, 5);
        const [, again] = await Promise.all([a.send('b', { tensor: 0, round: 1 }, next), b.receive('a', { tensor: 0, round: 1 })]);
        expectSameBits(again, next);
      } finally {
        await w.close();
      }
    } finally {
      await own.close();
    }
  });

  it('a frozen server (SIGSTOP) gives typed timeouts, not a hang, and work resumes after SIGCONT', async () => {
    const own = await startNatsServer();
    try {
      const w = await connectWorkers(own, ['a', 'b'], { heartbeatIntervalMs: 100, peerTimeoutMs: 10_000 });
      try {
        const [a, b] = w.transports;
        await own.pause(); // resolves once the server has stopped, not merely been signalled
        const t0 = performance.now();
        const [sent, received] = await Promise.allSettled([
          a.send('b', { tensor: 0, round: 0 }, uniform(1000, 6), { timeoutMs: 400 }),
          b.receive('a', { tensor: 0, round: 0 }, { timeoutMs: 400 }),
        ]);
        const elapsed = performance.now() - t0;
        // Typed timeouts from the 400 ms timers (not a hang until the 30 s defaults): each error
        // carries the timeout that fired.
        for (const settled of [sent, received]) {
          expect(settled.status === 'rejected' && settled.reason).toBeInstanceOf(TransportTimeoutError);
          expect(settled.status === 'rejected' && (settled.reason as TransportTimeoutError).timeoutMs).toBe(400);
        }
        expect(elapsed).toBeLessThan(2000);
        own.resume();
        const data = uniform(1000, 7);
        const [, got] = await Promise.all([a.send('b', { tensor: 0, round: 1 }, data), b.receive('a', { tensor: 0, round: 1 })]);
        expectSameBits(got, data);
      } finally {
        await w.close();
      }
    } finally {
      own.resume();
      await own.close();
    }
  });

  it('declares a silent peer gone after peerTimeoutMs', async () => {
    const runId = uniqueRunId();
    const b = await NatsTransport.connect({ servers: server.url, id: 'b', runId, peers: ['a', 'b'], heartbeatIntervalMs: 100, peerTimeoutMs: 400 });
    try {
      raw.publish(natsSubjects.member(runId, 'a'), envelope(runId, 'a', 'heartbeat', { round: 0, state: 1, intervalMs: 100 }));
      await b.waitForPeers(['a'], 5000);
      const pending = b.receive('a', { tensor: 0, round: 0 });
      const t0 = performance.now();
      const error = await pending.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PeerLeftError);
      expect((error as PeerLeftError).reason).toBe('timeout');
      expect(performance.now() - t0).toBeLessThan(1500);
      expect(b.members()).toEqual(['b']);
    } finally {
      await b.close();
    }
  });
});

describe('NATS transport connections', () => {
  it('runs over a connection the caller opened (even with echo on) and over a given connect function, with the same wire', async () => {
    const runId = uniqueRunId();
    const peers = ['a', 'b'];
    const common = { runId, peers, heartbeatIntervalMs: 200, retransmitAfterMs: 150, peerTimeoutMs: 10_000 };
    const dialled: string[] = [];
    const [a, b] = await Promise.all([
      NatsTransport.open(await connect({ servers: server.url }), { ...common, id: 'a', servers: server.url }),
      NatsTransport.connect({
        ...common,
        id: 'b',
        servers: [server.url],
        connect: (options) => {
          dialled.push(String(options.servers));
          return connect(options);
        },
      }),
    ]);
    try {
      expect(dialled).toEqual([server.url]);
      await Promise.all([a.waitForPeers(peers, 20_000), b.waitForPeers(peers, 20_000)]);
      const data = uniform(200_000, 5);
      const [, got] = await Promise.all([a.send('b', { tensor: 0, round: 0 }, data), b.receive('a', { tensor: 0, round: 0 })]);
      expectSameBits(got, data);
      // Its own broadcasts come back to it (echo on): they disturb nothing and nothing is rejected.
      expect(a.stats().messagesRejected).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('nats-server launcher', () => {
  it('says how to install nats-server when the binary is missing', async () => {
    const error = await startNatsServer({ binary: '/nonexistent/nats-server' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NatsServerNotFoundError);
    expect((error as Error).message).toMatch(/apt-get install nats-server/);
  });

  it('starts on a free loopback port, stops, restarts on the same port, and is killable', async () => {
    const s = await startNatsServer({ maxPayload: 4096 });
    try {
      expect(s.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
      const nc = await connect({ servers: s.url });
      expect(nc.info?.max_payload).toBe(4096);
      await nc.close();
      await s.kill();
      expect(s.running).toBe(false);
      await s.restart();
      expect(s.running).toBe(true);
      const again = await connect({ servers: s.url });
      await again.close();
    } finally {
      await s.close();
    }
  });

  it('opens a websocket listener on a free port when asked, and keeps it across restart()', async () => {
    const plain = await startNatsServer();
    expect(plain.wsUrl).toBeUndefined();
    await plain.close();
    const s = await startNatsServer({ websocket: true });
    try {
      const url = s.wsUrl!;
      expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      expect(Number(new URL(url).port)).not.toBe(s.port);
      expect(await websocketUpgrade(url)).toBe(101);
      await s.restart();
      expect(s.wsUrl).toBe(url);
      expect(await websocketUpgrade(url)).toBe(101);
    } finally {
      await s.close();
    }
  });
});

/** The HTTP status a websocket handshake with `url` gets (101: the server speaks websocket there). */
function websocketUpgrade(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const request = httpRequest({
      host: hostname,
      port,
      path: '/',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve(response.statusCode ?? 0);
    });
    request.on('response', (response) => resolve(response.statusCode ?? 0));
    request.on('error', reject);
    request.end();
  });
}
