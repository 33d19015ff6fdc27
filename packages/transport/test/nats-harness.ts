// Helpers for tests over a real nats-server (never a fake).
import { randomUUID } from 'node:crypto';
import { NatsTransport, type NatsServer, type NatsTransportOptions } from '@gossamer/transport';

/** A run id unique to one test, so tests sharing a server never see each other's messages. */
export const uniqueRunId = (): string => `t${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/**
 * Connects one transport per id to `server`, with short repair timers, and waits until all see each
 * other. Peers are declared gone after 10 s of silence: generous, so that a test machine under load
 * (CI runs test files in parallel forks) never loses a peer in a test that is not about peer
 * timeouts; those set their own.
 */
export async function connectWorkers(
  server: NatsServer,
  ids: string[],
  options: Partial<NatsTransportOptions> = {},
): Promise<{ transports: NatsTransport[]; runId: string; close(): Promise<void> }> {
  const runId = options.runId ?? uniqueRunId();
  const transports = await Promise.all(
    ids.map((id) =>
      NatsTransport.connect({
        servers: server.url,
        heartbeatIntervalMs: 200,
        retransmitAfterMs: 150,
        peerTimeoutMs: 10_000,
        peers: ids,
        ...options,
        id,
        runId,
      }),
    ),
  );
  await Promise.all(transports.map((t) => t.waitForPeers(ids, 30_000)));
  return { transports, runId, close: () => Promise.all(transports.map((t) => t.close())).then(() => undefined) };
}
