// The shared Transport conformance suite over a real nats-server with a small max_payload (64 KiB), so
// that "large" tensors travel as many chunks.
import { afterAll, beforeAll } from 'vitest';
import { startNatsServer, type NatsServer } from '@gossamer/transport';
import { connectWorkers } from './nats-harness.js';
import { transportConformance } from './conformance.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer({ maxPayload: 64 * 1024 });
});
afterAll(async () => {
  await server?.close();
});

transportConformance('NATS', {
  largeElements: 300_001,
  async create(ids) {
    const w = await connectWorkers(server, ids, { windowBytes: 512 * 1024 });
    return { transports: w.transports, close: w.close };
  },
});
