// Failure detection on a ring (monitor.ts) over a real nats-server: each worker's heartbeats go to its
// `heartbeatFanout` ring successors only, nobody judges a peer it does not watch, and a worker that
// freezes or dies (the coordinator too) is still found by its monitors within the peer timeout and
// removed from every survivor's view.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { EnvelopeDecoder, ViewStep } from '@gossamer/wire';
import { HeartbeatMonitor, NatsTransport, PeerLeftError, natsSubjects, ringPlace, startNatsServer, type NatsServer, type NatsTransportOptions } from '@gossamer/transport';
import { uniform } from '../../../test/support/numeric.js';
import { expectSameBits } from './conformance.js';
import { uniqueRunId } from './nats-harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'ring-worker.mjs');
const dist = resolve(here, '../dist/index.js');

let server: NatsServer;
let raw: NatsConnection;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  server = await startNatsServer();
  raw = await connect({ servers: server.url });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await raw?.close();
  await server?.close();
});

const ids = Array.from({ length: 12 }, (_, i) => `w${String(i).padStart(2, '0')}`);
const FANOUT = 3;

function options(runId: string, id: string, extra: Partial<NatsTransportOptions> = {}): NatsTransportOptions {
  return { servers: server.url, id, runId, peers: ids, heartbeatIntervalMs: 100, peerTimeoutMs: 1000, retransmitAfterMs: 150, heartbeatFanout: FANOUT, ...extra };
}

/** Worker `id` in a process of its own, and a promise that resolves once it has joined. */
function spawnWorker(runId: string, id: string, extra: Partial<NatsTransportOptions> = {}): { child: ChildProcess; ready: Promise<void> } {
  if (!existsSync(dist)) throw new Error(`${dist} is missing: the worker process runs the built package; run \`npx tsc -b\` in packages/transport first`);
  const child = fork(fixture, [JSON.stringify(options(runId, id, { peerTimeoutMs: 10_000, ...extra }))], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const ready = new Promise<void>((done, fail) => {
    child.once('message', () => done());
    child.once('exit', (code) => fail(new Error(`${id} exited (${code}) before it was ready:\n${output}`)));
  });
  return { child, ready };
}

/** Every worker of `ids` but `others` in this process, connected once they all see each other. */
async function connectHere(runId: string, others: readonly string[]): Promise<NatsTransport[]> {
  const here = ids.filter((id) => !others.includes(id));
  return Promise.all(here.map((id) => NatsTransport.connect(options(runId, id))));
}

describe('ring monitoring', () => {
  it('places each worker before its monitors; n ≤ fanout + 1 is all-to-all', () => {
    expect(ringPlace(['a', 'b', 'c', 'd', 'e'], 'a', 2)).toEqual({ targets: ['b', 'c'], watched: ['e', 'd'] });
    expect(ringPlace(['a', 'b', 'c', 'd', 'e'], 'd', 2)).toEqual({ targets: ['e', 'a'], watched: ['c', 'b'] });
    expect(ringPlace(['a', 'b', 'c'], 'b', 4)).toEqual({ targets: ['c', 'a'], watched: ['a', 'c'] });
    expect(ringPlace(['a'], 'a', 4)).toEqual({ targets: [], watched: [] });
    // Who watches whom is the same relation seen from both ends.
    for (const self of ids) {
      for (const target of ringPlace(ids, self, FANOUT).targets) expect(ringPlace(ids, target, FANOUT).watched).toContain(self);
    }
  });

  it('an accusation ends with the view that removes the accused, so a process re-added under its id is not accused', () => {
    const m = new HeartbeatMonitor('a', 2);
    m.accuse(['c']);
    expect(m.accusations()).toEqual(['c']);
    // A view without c, then (before the next beat) one with c again: c is a new process.
    m.dropAccusations((p) => p !== 'c');
    expect(m.accusations()).toEqual([]);
  });

  it(`12 workers: each sends ${FANOUT} heartbeats an interval, to its ring successors only, and none is suspected`, async () => {
    const runId = uniqueRunId();
    // A peer timeout of 1.5 s, watched over 4 s: a worker judging a peer it does not watch would
    // have suspected it by then.
    const transports = await Promise.all(ids.map((id) => NatsTransport.connect(options(runId, id, { peerTimeoutMs: 1500 }))));
    try {
      await Promise.all(transports.map((t) => t.waitForPeers(ids, 30_000)));
      const decoder = new EnvelopeDecoder({ runId });
      const beats = new Map<string, Map<string, number>>(); // sender → subject target ('*' for the member subject) → count
      const sub = raw.subscribe(`gossamer.${runId}.>`, {
        callback: (_err, msg) => {
          const d = decoder.decode(msg.data);
          if (!d.ok || d.envelope.body !== 'heartbeat') return;
          const parts = msg.subject.split('.');
          const to = parts[3] === 'ctrl' ? parts[4] : '*';
          const of = beats.get(d.envelope.sender) ?? new Map<string, number>();
          of.set(to, (of.get(to) ?? 0) + 1);
          beats.set(d.envelope.sender, of);
        },
      });
      await raw.flush();
      const windowMs = 4000;
      await new Promise((r) => setTimeout(r, windowMs));
      sub.unsubscribe();
      const intervals = windowMs / 100;
      for (const id of ids) {
        const of = beats.get(id) ?? new Map<string, number>();
        // To its 3 successors on the ring and to nobody else (not the member subject: not everyone).
        expect([...of.keys()].sort(), id).toEqual([...ringPlace(ids, id, FANOUT).targets].sort());
        for (const count of of.values()) {
          expect(count, id).toBeGreaterThan(0.25 * intervals); // timers run late on a loaded machine
          expect(count, id).toBeLessThanOrEqual(intervals + 2);
        }
      }
      for (const t of transports) {
        expect(t.views.current().epoch, t.id).toBe(0);
        expect(t.members(), t.id).toEqual(ids);
      }
    } finally {
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a receiver also beats the sender it waits on (off its ring), whose probes need to hear it: a server restart mid-transfer loses nothing', async () => {
    const own = await startNatsServer();
    const runId = uniqueRunId();
    // The outage (a restart, reconnects 200 ms apart) is not what this test is about: no peer timeout in it.
    const transports = await Promise.all(
      ids.map((id) => NatsTransport.connect({ ...options(runId, id), servers: own.url, peerTimeoutMs: 15_000, bandwidth: { bytesPerSecond: 40e6, burstBytes: 1 << 20 } })),
    );
    const watcher = await connect({ servers: own.url });
    try {
      await Promise.all(transports.map((t) => t.waitForPeers(ids, 30_000)));
      const [w00, w06] = [transports[0], transports[6]];
      expect(ringPlace(ids, 'w06', FANOUT).targets).not.toContain('w00');
      let beats = 0;
      watcher.subscribe(natsSubjects.ctrl(runId, 'w06', 'w00'), { callback: () => beats++ });
      await watcher.flush();
      await new Promise((r) => setTimeout(r, 500));
      expect(beats).toBe(0);
      const receiving = w06.receive('w00', { tensor: 0, round: 0 }, { timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      expect(beats).toBeGreaterThan(0);
      const data = uniform(10_000_000, 4); // 40 MB at 40 MB/s: about a second in flight
      const sending = w00.send('w06', { tensor: 0, round: 0 }, data);
      await new Promise((r) => setTimeout(r, 300));
      await own.kill();
      await own.restart();
      const [got] = await Promise.all([receiving, sending]);
      expectSameBits(got, data);
      for (const t of transports) expect(t.views.current().epoch, t.id).toBe(0);
    } finally {
      await watcher.close().catch(() => undefined);
      await Promise.all(transports.map((t) => t.close()));
      await own.close();
    }
  });

  for (const victim of ['w05', 'w00']) {
    const how = victim === 'w00' ? 'the coordinator (w00) killed' : 'a worker (w05) frozen';
    it(`${how}: its monitors find it within the peer timeout, tell everyone, and every survivor's view drops it`, async () => {
      const runId = uniqueRunId();
      const { child, ready } = spawnWorker(runId, victim);
      const transports = await connectHere(runId, [victim]);
      try {
        await Promise.all([ready, ...transports.map((t) => t.waitForPeers(ids, 30_000))]);
        const survivors = ids.filter((id) => id !== victim);
        // A worker that does not watch the victim waits on it: it must not wait past the detection.
        const far = transports.find((t) => !ringPlace(ids, t.id, FANOUT).watched.includes(victim));
        if (far === undefined) throw new Error('every worker watches the victim');
        const waiting = far.receive(victim, { tensor: 0, round: 0 }).catch((e: unknown) => e);
        const notices: string[] = [];
        const decoder = new EnvelopeDecoder({ runId });
        const sub = raw.subscribe(`gossamer.${runId}.*.member`, {
          callback: (_err, msg) => {
            const d = decoder.decode(msg.data);
            if (d.ok && d.envelope.body === 'viewChange' && d.envelope.viewChange.step === ViewStep.VIEW_STEP_SUSPECT) notices.push(d.envelope.sender);
          },
        });
        await raw.flush();
        const t0 = performance.now();
        child.kill(victim === 'w00' ? 'SIGKILL' : 'SIGSTOP');
        const installed = await Promise.all(transports.map((t) => t.views.after(0).then((view) => ({ view, ms: performance.now() - t0 }))));
        for (const { view } of installed) expect(view).toEqual({ epoch: 1, members: survivors, startRound: 0 });
        // 1000 ms of silence, then a round trip to the server, a notice and one view change.
        const slowest = Math.max(...installed.map((i) => i.ms));
        expect(slowest).toBeLessThan(1000 + 2500);
        const error = await waiting;
        expect(error).toBeInstanceOf(PeerLeftError);
        // Only the victim's monitors (its ring successors) accused it.
        const monitors = ringPlace(ids, victim, FANOUT).targets;
        expect(notices.length).toBeGreaterThan(0);
        for (const sender of notices) expect(monitors).toContain(sender);
        // And the new ring holds: nobody else is suspected afterwards.
        await new Promise((r) => setTimeout(r, 2000));
        for (const t of transports) {
          expect(t.views.current().epoch, t.id).toBe(1);
          expect(t.members(), t.id).toEqual(survivors);
        }
        sub.unsubscribe();
      } finally {
        child.kill('SIGKILL');
        await Promise.all(transports.map((t) => t.close()));
      }
    });
  }

  it('a killed worker restarted with join is added back; the ring closes over it again and nobody is suspected', async () => {
    const runId = uniqueRunId();
    const first = spawnWorker(runId, 'w07');
    const transports = await connectHere(runId, ['w07']);
    try {
      await Promise.all([first.ready, ...transports.map((t) => t.waitForPeers(ids, 30_000))]);
      first.child.kill('SIGKILL');
      await Promise.all(transports.map((t) => t.views.after(0)));
      // The joiner, alone in its view, broadcasts its Join and heartbeats until it is in.
      const again = spawnWorker(runId, 'w07', { join: true });
      await again.ready;
      const views = await Promise.all(transports.map((t) => t.views.after(1)));
      for (const v of views) expect(v.members).toEqual(ids);
      await new Promise((r) => setTimeout(r, 2500)); // over two peer timeouts on the restored ring
      for (const t of transports) {
        expect(t.views.current().epoch, t.id).toBe(2);
        expect(t.members(), t.id).toEqual(ids);
      }
      again.child.kill('SIGKILL');
    } finally {
      first.child.kill('SIGKILL');
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a killed worker restarted with join before its death is detected: its new Join retires the old one, and it is added back', async () => {
    const runId = uniqueRunId();
    const first = spawnWorker(runId, 'w07');
    const transports = await connectHere(runId, ['w07']);
    try {
      await Promise.all([first.ready, ...transports.map((t) => t.waitForPeers(ids, 30_000))]);
      first.child.kill('SIGKILL');
      // At once: the new process's heartbeats would otherwise pass for the old one's.
      const again = spawnWorker(runId, 'w07', { join: true });
      const removed = await Promise.all(transports.map((t) => t.views.after(0)));
      for (const v of removed) expect(v.members).toEqual(ids.filter((id) => id !== 'w07'));
      await again.ready;
      const views = await Promise.all(transports.map((t) => t.views.after(1)));
      for (const v of views) expect(v.members).toEqual(ids);
      again.child.kill('SIGKILL');
    } finally {
      first.child.kill('SIGKILL');
      await Promise.all(transports.map((t) => t.close()));
    }
  });

  it('a frozen worker whose removal was lost (the server restarted meanwhile) is told at its first heartbeat after waking, and stops', async () => {
    const own = await startNatsServer();
    const runId = uniqueRunId();
    const victim = spawnWorker(runId, 'w05', { servers: own.url });
    const exited = new Promise<number | null>((done) => victim.child.once('exit', (code) => done(code)));
    const transports = await Promise.all(ids.filter((id) => id !== 'w05').map((id) => NatsTransport.connect({ ...options(runId, id), servers: own.url })));
    try {
      await Promise.all([victim.ready, ...transports.map((t) => t.waitForPeers(ids, 30_000))]);
      victim.child.kill('SIGSTOP');
      // Chunks for it fill its socket, so what follows (the commit without it) waits at the server...
      const flood = transports[4].send('w05', { tensor: 0, round: 0 }, uniform(4_000_000, 1)).catch(() => undefined);
      await Promise.all(transports.map((t) => t.views.after(0)));
      await flood;
      // ...and is lost with it.
      await own.kill();
      await own.restart();
      await new Promise((r) => setTimeout(r, 1000)); // the members reconnect
      victim.child.kill('SIGCONT');
      // Off every ring now, it hears no member's heartbeat: its own, to its old neighbours, get it told.
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 8000))]);
      expect(code).toBe(3);
      for (const t of transports) expect(t.views.current().epoch, t.id).toBe(1);
    } finally {
      victim.child.kill('SIGKILL');
      await Promise.all(transports.map((t) => t.close()));
      await own.close();
    }
  });

  it('two killed workers restarted with join at once are both added back', async () => {
    const runId = uniqueRunId();
    const first = [spawnWorker(runId, 'w03'), spawnWorker(runId, 'w08')];
    const transports = await connectHere(runId, ['w03', 'w08']);
    try {
      await Promise.all([...first.map((w) => w.ready), ...transports.map((t) => t.waitForPeers(ids, 30_000))]);
      for (const w of first) w.child.kill('SIGKILL');
      const without = await Promise.all(transports.map((t) => t.views.after(0)));
      for (const v of without) expect(v.members).not.toContain('w03');
      const again = [spawnWorker(runId, 'w03', { join: true }), spawnWorker(runId, 'w08', { join: true })];
      await Promise.all(again.map((w) => w.ready));
      await until(() => transports.every((t) => t.views.current().members.length === ids.length), 15_000);
      await new Promise((r) => setTimeout(r, 1500));
      for (const t of transports) {
        expect(t.views.current().members, t.id).toEqual(ids);
        expect(t.members(), t.id).toEqual(ids);
      }
      for (const w of again) w.child.kill('SIGKILL');
    } finally {
      for (const w of first) w.child.kill('SIGKILL');
      await Promise.all(transports.map((t) => t.close()));
    }
  });
});

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
