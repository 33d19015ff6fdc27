import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { CheckpointStore, CheckpointStoreError, JetStreamUnavailableError, checkpointBucket, startNatsServer, type NatsServer } from '@gossamer/transport';

// The object store half of issue 14 item 4, on a real nats-server: with -js a checkpoint goes in and
// comes out bit for bit, survives a server restart, and a corrupted object is refused; without -js
// the store says so at once (the worker then keeps files only).
const bytes = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff);

describe('CheckpointStore', () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNatsServer({ jetstream: true });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('stores checkpoints bit for bit, points "latest" at each worker\'s newest, and finds the latest round every worker has', async () => {
    const store = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('roundtrip') });
    try {
      const a = bytes(300_000, 1); // several 128 KiB chunks
      await store.put('w0', 4, a);
      await store.put('w1', 4, bytes(10, 2));
      await store.put('w0', 8, bytes(1000, 3));
      expect(Buffer.from(await store.get('w0', 4)).equals(Buffer.from(a))).toBe(true);
      expect((await store.latest('w0'))?.round).toBe(8);
      expect(await store.latestCompleteRound(['w0', 'w1'])).toBe(4);
      expect(await store.latestCompleteRound(['w0', 'w1', 'w2'])).toBeUndefined();
      await store.put('w1', 8, bytes(1000, 4));
      expect(await store.latestCompleteRound(['w0', 'w1'])).toBe(8);
      await expect(store.get('w2', 4)).rejects.toThrow(/round-4\/w2.ckpt of bucket gossamer-ckpt-roundtrip does not exist/);
    } finally {
      await store.close();
    }
  });

  it('finds the latest complete round by listing when a pointer is ahead of a lost put', async () => {
    const store = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('lost') });
    try {
      await store.put('w0', 4, bytes(10, 1));
      await store.put('w1', 4, bytes(10, 2));
      await store.put('w0', 8, bytes(10, 3));
      await store.put('w1', 12, bytes(10, 4)); // w1's round 8 never arrived
      expect(await store.latestCompleteRound(['w0', 'w1'])).toBe(4);
    } finally {
      await store.close();
    }
  });

  it('keeps the bucket across a server restart (the store directory is the server\'s own)', async () => {
    const store = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('restart') });
    await store.put('w0', 2, bytes(5000, 9));
    await store.close();
    await server.restart();
    const again = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('restart'), create: false });
    try {
      expect(Buffer.from(await again.get('w0', 2)).equals(Buffer.from(bytes(5000, 9)))).toBe(true);
    } finally {
      await again.close();
    }
  });

  it('refuses an object whose chunks no longer match the recorded SHA-256', async () => {
    const store = await CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('corrupt') });
    await store.put('w0', 4, bytes(2000, 5));
    // Append a chunk behind the store's back, as a faulty writer or disk would.
    const nc = await connect({ servers: server.url });
    try {
      const info = await (await new Objm(nc).open(checkpointBucket('corrupt'))).info('round-4/w0.ckpt');
      await jetstream(nc).publish(`$O.${checkpointBucket('corrupt')}.C.${info?.nuid}`, bytes(16, 6));
      const error = await store.get('w0', 4).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointStoreError);
      expect(String(error)).toMatch(/round-4\/w0.ckpt of bucket gossamer-ckpt-corrupt is corrupt/);
    } finally {
      await nc.close();
      await store.close();
    }
  });

  it('a reader does not create a missing bucket', async () => {
    await expect(CheckpointStore.open({ servers: [server.url], bucket: checkpointBucket('never-written'), create: false })).rejects.toThrow(CheckpointStoreError);
  });

  it('a server without JetStream is told apart at once', async () => {
    const plain = await startNatsServer();
    try {
      const t0 = performance.now();
      await expect(CheckpointStore.open({ servers: [plain.url], bucket: checkpointBucket('plain') })).rejects.toThrow(JetStreamUnavailableError);
      expect(performance.now() - t0).toBeLessThan(2000);
    } finally {
      await plain.close();
    }
  });
});
