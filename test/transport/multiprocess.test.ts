// Real worker processes (node running the built packages/transport/dist) over a real nats-server:
// all-reduce equal bit for bit to the in-process transport, a killed worker detected, a consumer that
// stops reading for seconds neither cut off nor losing anything.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport, PeerLeftError, TransportTimeoutError, startNatsServer, type NatsServer, type MembershipEvent } from '@gossamer/transport';
import { uniform } from '../support/numeric.js';
import { expectSameBits, inProcessAllReduce } from '../../packages/transport/test/conformance.js';
import { uniqueRunId } from '../../packages/transport/test/nats-harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const workerScript = join(here, 'fixtures', 'worker.mjs');
const dist = resolve(here, '../../packages/transport/dist/index.js');

let server: NatsServer;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: worker processes run the built package; run \`npx turbo run build\` first`);
  server = await startNatsServer({ maxPendingBytes: 4 * 1024 * 1024, writeDeadlineMs: 1000 });
  dir = mkdtempSync(join(tmpdir(), 'gossamer-mp-'));
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a worker process; resolves with it and a promise of its exit code. */
function spawnWorker(config: Record<string, unknown>): { child: ChildProcess; exited: Promise<{ code: number | null; output: string }>; ready: Promise<void> } {
  const child = fork(workerScript, [JSON.stringify({ url: server.url, ...config })], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.add(child);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; output: string }>((done) =>
    child.once('exit', (code) => {
      children.delete(child);
      done({ code, output });
    }),
  );
  const ready = new Promise<void>((done, fail) => {
    child.once('message', () => done());
    void exited.then(({ code, output: out }) => fail(new Error(`worker exited (${code}) before it was ready:\n${out}`)));
  });
  return { child, exited, ready };
}

const readFloats = (file: string): Float32Array => {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

describe('worker processes over nats-server', () => {
  it('all-reduce across 4 processes equals the in-process transport bit for bit', async () => {
    const ids = ['p0', 'p1', 'p2', 'p3'];
    const runId = uniqueRunId();
    const inputs = ids.map((_, i) => uniform(300_001, 900 + i, -3, 3));
    const workers = ids.map((id, i) => {
      writeFileSync(join(dir, `${runId}-${id}.in`), new Uint8Array(inputs[i].buffer));
      return spawnWorker({ mode: 'allreduce', id, runId, peers: ids, op: 'mean', input: join(dir, `${runId}-${id}.in`), output: join(dir, `${runId}-${id}.out`) });
    });
    const exits = await Promise.all(workers.map((w) => w.exited));
    for (const e of exits) expect(e.code, e.output).toBe(0);
    const reference = await inProcessAllReduce(inputs, 'mean');
    for (const id of ids) expectSameBits(readFloats(join(dir, `${runId}-${id}.out`)), reference[0]);
    // And within float32 rounding of the float64 mean.
    let worst = 0;
    for (let k = 0; k < reference[0].length; k++) {
      const mean = (inputs[0][k] + inputs[1][k] + inputs[2][k] + inputs[3][k]) / 4;
      worst = Math.max(worst, Math.abs(reference[0][k] - mean));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('detects a killed worker within the peer timeout and fails pending work with it', async () => {
    const runId = uniqueRunId();
    const peers = ['main', 'victim'];
    const victim = spawnWorker({ mode: 'idle', id: 'victim', runId, peers, heartbeatIntervalMs: 100 });
    const main = await NatsTransport.connect({ servers: server.url, id: 'main', runId, peers, heartbeatIntervalMs: 100, peerTimeoutMs: 600 });
    try {
      await victim.ready;
      await main.waitForPeers(peers, 30_000);
      const events = main.membership()[Symbol.asyncIterator]();
      expect((await events.next()).value).toEqual({ kind: 'joined', worker: 'victim' });
      const pending = main.receive('victim', { tensor: 0, round: 0 }).catch((e: unknown) => e);
      const t0 = performance.now();
      victim.child.kill('SIGKILL');
      const left: MembershipEvent = (await events.next()).value;
      expect(left).toEqual({ kind: 'left', worker: 'victim', reason: 'timeout' });
      expect(performance.now() - t0).toBeLessThan(600 + 500);
      expect(await pending).toBeInstanceOf(PeerLeftError);
    } finally {
      await main.close();
    }
  });

  it('a worker whose own event loop was blocked past the peer timeout does not declare its live peers gone', async () => {
    const runId = uniqueRunId();
    const peers = ['main', 'peer'];
    const peer = spawnWorker({ mode: 'idle', id: 'peer', runId, peers, heartbeatIntervalMs: 100 });
    const main = await NatsTransport.connect({ servers: server.url, id: 'main', runId, peers, heartbeatIntervalMs: 100, peerTimeoutMs: 600 });
    const events: MembershipEvent[] = [];
    let collecting: Promise<void> | undefined;
    try {
      await peer.ready;
      await main.waitForPeers(peers, 30_000);
      const iterator = main.membership()[Symbol.asyncIterator]();
      collecting = (async () => {
        for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) events.push(r.value);
      })();
      // A long synchronous computation (2.5 peer timeouts): the peer's heartbeats wait unread, and
      // timers run before they are read.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(events).toEqual([{ kind: 'joined', worker: 'peer' }]);
      expect(main.members()).toEqual(['main', 'peer']);
      expect(await main.receive('peer', { tensor: 0, round: 0 }, { timeoutMs: 100 }).catch((e: unknown) => e)).toBeInstanceOf(TransportTimeoutError);
    } finally {
      peer.child.kill('SIGKILL');
      await main.close();
      await collecting;
    }
  });

  it('a receiver that stops reading for 2 s is neither cut off as a slow consumer nor loses data', async () => {
    const runId = uniqueRunId();
    const peers = ['sender', 'sleeper'];
    const output = join(dir, `${runId}-sleeper.out`);
    // The server cuts a client whose backlog passes 4 MiB; the tensor is 16 MB; the window is 1 MiB.
    const sleeper = spawnWorker({ mode: 'slow', id: 'sleeper', runId, peers, from: 'sender', blockMs: 2000, output, windowBytes: 1 << 20, heartbeatIntervalMs: 1000 });
    const sender = await NatsTransport.connect({ servers: server.url, id: 'sender', runId, peers, windowBytes: 1 << 20, heartbeatIntervalMs: 1000, retransmitAfterMs: 150 });
    try {
      await sleeper.ready;
      await sender.waitForPeers(peers, 30_000);
      const data = uniform(4_000_000, 42);
      await sender.send('sleeper', { tensor: 0, round: 0 }, data);
      const exit = await sleeper.exited;
      expect(exit.code, exit.output).toBe(0);
      expectSameBits(readFloats(output), data);
      const stats = JSON.parse(readFileSync(`${output}.stats.json`, 'utf8')) as { reconnects: number };
      expect(stats.reconnects).toBe(0); // never cut off
      expect(sender.stats().reconnects).toBe(0);
    } finally {
      await sender.close();
    }
  });

  it('tensors of one element and of 64 MiB arrive bit-exact in another process', async () => {
    // The server here keeps max_payload at 1 MiB: 64 MiB is 64+ chunks, acknowledged window by window.
    for (const elements of [1, 16 * 1024 * 1024]) {
      const runId = uniqueRunId();
      const peers = ['sender', 'receiver'];
      const output = join(dir, `${runId}-receiver.out`);
      const receiver = spawnWorker({ mode: 'slow', id: 'receiver', runId, peers, from: 'sender', blockMs: 0, output });
      const sender = await NatsTransport.connect({ servers: server.url, id: 'sender', runId, peers, retransmitAfterMs: 150 });
      try {
        await receiver.ready;
        await sender.waitForPeers(peers, 30_000);
        const data = uniform(elements, 7 + elements, -1e3, 1e3);
        await sender.send('receiver', { tensor: 0, round: 0 }, data);
        const exit = await receiver.exited;
        expect(exit.code, exit.output).toBe(0);
        expectSameBits(readFloats(output), data);
      } finally {
        await sender.close();
        rmSync(output, { force: true });
      }
    }
  });
});
