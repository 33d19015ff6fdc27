// The page side of test/browser/transport.test.ts, bundled by esbuild for headless Chromium: NATS
// transports made with @gossamer/transport/browser (websocket, per-worker nkey), driven from vitest
// through page.evaluate. Tensors cross the page boundary as base64 of their bytes, so vitest checks
// every bit; errors come back as { name, peer } of the transport's typed error.
import { wsconnect } from '@nats-io/nats-core';
import { NatsTransport, credentialsAuthenticator, type MembershipEvent, type TransferKey } from '@gossamer/transport/browser';

export interface OpenRequest {
  readonly id: string;
  readonly runId: string;
  readonly servers: string;
  readonly peers: readonly string[];
  /** This worker's nkey seed (as the operator hands it out), used for its connection. */
  readonly credentials: string;
  readonly heartbeatIntervalMs: number;
  readonly peerTimeoutMs: number;
  readonly retransmitAfterMs: number;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly name: string; readonly message: string; readonly peer: string | undefined };

export interface PageAgent {
  /** What the page runs on: proof that no Node globals leaked into the bundle. */
  environment(): { hasProcess: boolean; hasBuffer: boolean; userAgent: string };
  open(request: OpenRequest): Promise<Outcome<readonly string[]>>;
  waitForPeers(id: string, peers: readonly string[], timeoutMs: number): Promise<Outcome<readonly string[]>>;
  send(id: string, to: string, key: TransferKey, data: string, dtype?: 'f32' | 'f16' | 'bf16' | 'int8'): Promise<Outcome<null>>;
  receive(id: string, from: string, key: TransferKey, timeoutMs: number): Promise<Outcome<string>>;
  allReduce(id: string, key: TransferKey, data: string, op: 'mean' | 'sum'): Promise<Outcome<string>>;
  members(id: string): readonly string[];
  events(id: string): readonly MembershipEvent[];
  close(id: string): Promise<void>;
  /** Publishes on `subject` with these credentials on a connection of its own; says whether the server refused. */
  tryPublish(servers: string, credentials: string, subject: string): Promise<{ refused: boolean; detail: string }>;
  /** Connects with no credentials at all (the server should refuse). */
  connectWithout(servers: string): Promise<Outcome<null>>;
}

const transports = new Map<string, NatsTransport>();
const events = new Map<string, MembershipEvent[]>();

function toBase64(values: Float32Array): string {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text: string): Float32Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    const error = e instanceof Error ? e : new Error(String(e));
    return { ok: false, name: error.name, message: error.message, peer: (error as Error & { peer?: string }).peer };
  }
}

function transport(id: string): NatsTransport {
  const t = transports.get(id);
  if (t === undefined) throw new Error(`no transport ${id} in this page`);
  return t;
}

const agent: PageAgent = {
  environment: () => ({
    hasProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined',
    hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined',
    userAgent: navigator.userAgent,
  }),
  open: (r) =>
    outcome(async () => {
      // No `connect` given: the browser entry's default, wsconnect.
      const t = await NatsTransport.connect({
        id: r.id,
        runId: r.runId,
        servers: r.servers,
        peers: r.peers,
        heartbeatIntervalMs: r.heartbeatIntervalMs,
        peerTimeoutMs: r.peerTimeoutMs,
        retransmitAfterMs: r.retransmitAfterMs,
        connectionOptions: { authenticator: credentialsAuthenticator(r.credentials, `the seed of ${r.id}`) },
      });
      transports.set(r.id, t);
      const seen: MembershipEvent[] = [];
      events.set(r.id, seen);
      void (async () => {
        for await (const e of t.membership()) seen.push(e);
      })();
      return t.members();
    }),
  waitForPeers: (id, peers, timeoutMs) =>
    outcome(async () => {
      await transport(id).waitForPeers(peers, timeoutMs);
      return transport(id).members();
    }),
  send: (id, to, key, data, dtype = 'f32') => outcome(async () => (await transport(id).send(to, key, fromBase64(data), { dtype, blockSize: 64 }), null)),
  receive: (id, from, key, timeoutMs) => outcome(async () => toBase64(await transport(id).receive(from, key, { timeoutMs }))),
  allReduce: (id, key, data, op) => outcome(async () => toBase64(await transport(id).allReduce(key, fromBase64(data), { op }))),
  members: (id) => transport(id).members(),
  events: (id) => [...(events.get(id) ?? [])],
  close: async (id) => {
    await transport(id).close();
    transports.delete(id);
  },
  tryPublish: async (servers, credentials, subject) => {
    const nc = await wsconnect({ servers, authenticator: credentialsAuthenticator(credentials) });
    let detail = '';
    const watching = (async () => {
      for await (const s of nc.status()) if (s.type === 'error' && s.error.name === 'PermissionViolationError') detail = s.error.message;
    })();
    nc.publish(subject, new Uint8Array([1, 2, 3]));
    // The server answers in order: a refusal (-ERR) arrives before the flush's PONG.
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await nc.close();
    await watching;
    return { refused: detail !== '', detail };
  },
  connectWithout: (servers) => outcome(async () => (await (await wsconnect({ servers, reconnect: false })).close(), null)),
};

(globalThis as { gossamerPage?: PageAgent }).gossamerPage = agent;
