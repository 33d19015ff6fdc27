// Browser workers in the same run as Node workers (issue 16): the NATS transport's browser entry,
// bundled by esbuild, runs in headless Chromium (the system binary, driven by puppeteer-core) and
// talks over the embedded nats-server's websocket listener, while Node workers use TCP on the same
// server. Every worker, in the page or not, signs in with its own nkey and may publish only on its
// own subjects. The page reports results (tensors as base64 bytes, errors by name) and the
// assertions are made here.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createUser } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport, natsSecurityOptions, startNatsServer, wireRoundTrip, type MembershipEvent, type NatsServer } from '@gossamer/transport';
import { authConfig } from '../../infra/nats/secure/gen-nkeys.mjs';
import { expectSameBits, inProcessAllReduce } from '../../packages/transport/test/conformance.js';
import { uniform } from '../support/numeric.js';
import type { OpenRequest, Outcome, PageAgent } from './transport-page.js';

const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.GOSSAMER_CHROMIUM ?? '/usr/bin/chromium';
const USERS = ['b1', 'b2', 'b3', 'b4', 'b5', 'n1', 'n2', 'n3', 'coordinator'];
/** Heartbeats every 200 ms; a worker silent for 2 s is gone. Generous for a loaded CI machine, short for a test. */
const HEARTBEAT_MS = 200;
const PEER_TIMEOUT_MS = 2000;
const LARGE = 300_001; // ≈ 1.2 MB: many 64 KiB messages

const b64 = (values: Float32Array): string => Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
function floats(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}
function value<T>(o: Outcome<T>): T {
  if (!o.ok) throw new Error(`in the page: ${o.name}: ${o.message}`);
  return o.value;
}
const runId = (): string => `b${randomUUID().replaceAll('-', '').slice(0, 12)}`;

/** A tensor with the values that catch a lossy path: -0 and a subnormal. */
function tensor(n: number, seed: number): Float32Array {
  const data = uniform(n, seed, -1e3, 1e3);
  if (n > 2) {
    data[1] = -0;
    data[2] = 1e-42;
  }
  return data;
}

let server: NatsServer;
let browser: Browser;
let bundle: string;
let keyDir: string;
const seeds = new Map<string, string>();
const publicKeys = new Map<string, string>();
const nodeTransports: NatsTransport[] = [];

async function openPage(): Promise<Page> {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.addScriptTag({ content: bundle });
  return page;
}

/** Opens worker `id` of `run` in `page`, over the websocket listener, with its own nkey. */
function openInPage(page: Page, id: string, run: string, peers: string[], servers = server.wsUrl!): Promise<readonly string[]> {
  const request: OpenRequest = {
    id,
    runId: run,
    servers,
    peers,
    credentials: seeds.get(id)!,
    heartbeatIntervalMs: HEARTBEAT_MS,
    peerTimeoutMs: PEER_TIMEOUT_MS,
    retransmitAfterMs: 150,
  };
  return openOutcome(page, request).then(value);
}

function openOutcome(page: Page, request: OpenRequest): Promise<Outcome<readonly string[]>> {
  return page.evaluate((r) => (globalThis as unknown as { gossamerPage: PageAgent }).gossamerPage.open(r), request);
}

/** Runs `f` in the page with its agent (page.evaluate serializes `f`: it may use only its arguments). */
async function inPage<A extends unknown[], R>(page: Page, f: (agent: PageAgent, ...args: A) => R | Promise<R>, ...args: A): Promise<R> {
  const agent = await page.evaluateHandle(() => (globalThis as unknown as { gossamerPage: PageAgent }).gossamerPage);
  try {
    return (await page.evaluate(f as never, agent, ...args)) as R;
  } finally {
    await agent.dispose();
  }
}

/** A Node worker over TCP, with its own nkey from a seed file, as `gossamer worker --creds` runs. */
async function openInNode(id: string, run: string, peers: string[], servers = server.url): Promise<NatsTransport> {
  const t = await NatsTransport.connect({
    id,
    runId: run,
    servers,
    peers,
    heartbeatIntervalMs: HEARTBEAT_MS,
    peerTimeoutMs: PEER_TIMEOUT_MS,
    retransmitAfterMs: 150,
    connectionOptions: natsSecurityOptions({ credentialsFile: join(keyDir, `${id}.nk`) }),
  });
  nodeTransports.push(t);
  return t;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install it with infra/setup.sh (apt-get install chromium), or set GOSSAMER_CHROMIUM`);
  keyDir = mkdtempSync(join(tmpdir(), 'gossamer-browser-keys-'));
  const users = USERS.map((name) => {
    const pair = createUser();
    const seed = new TextDecoder().decode(pair.getSeed());
    seeds.set(name, seed);
    publicKeys.set(name, pair.getPublicKey());
    writeFileSync(join(keyDir, `${name}.nk`), `${seed}\n`, { mode: 0o600 });
    return { name, publicKey: pair.getPublicKey(), role: name === 'coordinator' ? ('coordinator' as const) : ('worker' as const) };
  });
  // The permissions infra/nats/secure gives (run '*': the same rights in every run, so each test has its own).
  server = await startNatsServer({ maxPayload: 64 * 1024, websocket: true, extraConfig: authConfig('*', users) });
  const built = await build({
    entryPoints: [join(REPO_ROOT, 'test/browser/transport-page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    keepNames: true, // errors are reported by class name
    write: false,
    logLevel: 'silent',
  });
  bundle = built.outputFiles[0].text;
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--no-first-run'] });
});

afterAll(async () => {
  await Promise.all(nodeTransports.map((t) => t.close()));
  await browser?.close();
  await server?.close();
  if (keyDir) rmSync(keyDir, { recursive: true, force: true });
});

describe('browser workers over the nats-server websocket listener', () => {
  it('bundles the browser entry without Node: the page has no process or Buffer, and the server a ws:// URL', async () => {
    expect(server.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
    const page = await openPage();
    try {
      const env = await inPage(page, (agent) => agent.environment());
      expect(env).toMatchObject({ hasProcess: false, hasBuffer: false });
      expect(env.userAgent).toMatch(/HeadlessChrome|Chrome/);
    } finally {
      await page.close();
    }
  });

  it('two browser workers (two pages) exchange tensors bit-exact, both ways, with typed timeouts', async () => {
    const run = runId();
    const [pa, pb] = [await openPage(), await openPage()];
    try {
      await Promise.all([openInPage(pa, 'b1', run, ['b1', 'b2']), openInPage(pb, 'b2', run, ['b1', 'b2'])]);
      expect(value(await inPage(pa, (agent, peers) => agent.waitForPeers('b1', peers, 20_000), ['b2']))).toEqual(['b1', 'b2']);
      expect(value(await inPage(pb, (agent, peers) => agent.waitForPeers('b2', peers, 20_000), ['b1']))).toEqual(['b1', 'b2']);
      for (const [round, n] of [0, 1, 7, LARGE].entries()) {
        const data = tensor(n, 10 + round);
        const key = { tensor: 3, round };
        const [sent, got] = await Promise.all([
          inPage(pa, (agent, k, d) => agent.send('b1', 'b2', k, d), key, b64(data)),
          inPage(pb, (agent, k) => agent.receive('b2', 'b1', k, 30_000), key),
        ]);
        value(sent);
        expectSameBits(floats(value(got)), data);
      }
      // Both directions at once, keys kept apart.
      const x = tensor(1000, 1);
      const y = tensor(1000, 2);
      const key = { tensor: 0, round: 5 };
      const [, , gotY, gotX] = await Promise.all([
        inPage(pa, (agent, k, d) => agent.send('b1', 'b2', k, d), key, b64(x)),
        inPage(pb, (agent, k, d) => agent.send('b2', 'b1', k, d), key, b64(y)),
        inPage(pa, (agent, k) => agent.receive('b1', 'b2', k, 30_000), key),
        inPage(pb, (agent, k) => agent.receive('b2', 'b1', k, 30_000), key),
      ]);
      expectSameBits(floats(value(gotX)), x);
      expectSameBits(floats(value(gotY)), y);
      // Lossy wire dtypes round exactly as the wire codecs do in Node.
      const z = uniform(1001, 3, -5, 5);
      for (const [round, dtype] of (['f16', 'bf16', 'int8'] as const).entries()) {
        const expected = z.slice();
        wireRoundTrip(expected, dtype, 64);
        const k = { tensor: 1, round };
        const [, got] = await Promise.all([
          inPage(pa, (agent, kk, d, dt) => agent.send('b1', 'b2', kk, d, dt), k, b64(z), dtype),
          inPage(pb, (agent, kk) => agent.receive('b2', 'b1', kk, 30_000), k),
        ]);
        expectSameBits(floats(value(got)), expected);
      }
      const timedOut = await inPage(pb, (agent) => agent.receive('b2', 'b1', { tensor: 9, round: 9 }, 150));
      expect(timedOut).toMatchObject({ ok: false, name: 'TransportTimeoutError', peer: 'b1' });
    } finally {
      await Promise.all([pa.close(), pb.close()]);
    }
  });

  it('a browser worker (websocket) and a Node worker (TCP) see each other, exchange tensors bit-exact and all-reduce to the in-process bits', async () => {
    const run = runId();
    const page = await openPage();
    try {
      const [, node] = await Promise.all([openInPage(page, 'b3', run, ['b3', 'n1']), openInNode('n1', run, ['b3', 'n1'])]);
      const nodeEvents = node.membership()[Symbol.asyncIterator]();
      await node.waitForPeers(['b3'], 20_000);
      expect(value(await inPage(page, (agent) => agent.waitForPeers('b3', ['n1'], 20_000)))).toEqual(['b3', 'n1']);
      expect(node.members()).toEqual(['b3', 'n1']);
      expect((await nodeEvents.next()).value).toEqual({ kind: 'joined', worker: 'b3' });
      expect(await inPage(page, (agent) => agent.events('b3'))).toContainEqual({ kind: 'joined', worker: 'n1' });

      // ws → tcp and tcp → ws, large enough to need many messages.
      const fromPage = tensor(LARGE, 21);
      const fromNode = tensor(LARGE, 22);
      const key = { tensor: 7, round: 0 };
      const [sentByPage, gotInNode] = await Promise.all([inPage(page, (agent, k, d) => agent.send('b3', 'n1', k, d), key, b64(fromPage)), node.receive('b3', key)]);
      value(sentByPage);
      expectSameBits(gotInNode, fromPage);
      const [gotInPage] = await Promise.all([inPage(page, (agent, k) => agent.receive('b3', 'n1', k, 30_000), key), node.send('b3', key, fromNode)]);
      expectSameBits(floats(value(gotInPage)), fromNode);

      // An all-reduce across the boundary gives both the bits of the in-process reference.
      const inputs = [uniform(10_000, 31, -10, 10), uniform(10_000, 32, -10, 10)]; // b3, n1: sorted ring order
      for (const [round, op] of (['mean', 'sum'] as const).entries()) {
        const k = { tensor: 8, round };
        const [inBrowser, inNode] = await Promise.all([inPage(page, (agent, kk, d, o) => agent.allReduce('b3', kk, d, o), k, b64(inputs[0]), op), node.allReduce(k, inputs[1].slice(), { op })]);
        const reference = await inProcessAllReduce(inputs, op);
        expectSameBits(floats(value(inBrowser)), reference[0]);
        expectSameBits(inNode, reference[0]);
      }

      // Heartbeats keep both alive across several failure timeouts with nothing else to say.
      await new Promise((r) => setTimeout(r, 2 * PEER_TIMEOUT_MS));
      expect(node.members()).toEqual(['b3', 'n1']);
      expect(await inPage(page, (agent) => agent.members('b3'))).toEqual(['b3', 'n1']);
      await nodeEvents.return?.();

      // A page closing its transport says so (Leave).
      const left = (async () => {
        for await (const e of node.membership()) if (e.kind === 'left') return e;
        return undefined;
      })();
      await inPage(page, (agent) => agent.close('b3'));
      expect(await left).toEqual({ kind: 'left', worker: 'b3', reason: 'leave' });
    } finally {
      await page.close();
    }
  });

  it('a closed page is declared gone by the Node worker within the failure timeout, and pending work fails', async () => {
    const run = runId();
    const page = await openPage();
    const [, node] = await Promise.all([openInPage(page, 'b4', run, ['b4', 'n2']), openInNode('n2', run, ['b4', 'n2'])]);
    await node.waitForPeers(['b4'], 20_000);
    value(await inPage(page, (agent) => agent.waitForPeers('b4', ['n2'], 20_000)));
    const events: MembershipEvent[] = [];
    const gone = (async () => {
      for await (const e of node.membership()) {
        events.push(e);
        if (e.kind === 'left') return performance.now();
      }
      return undefined;
    })();
    const pending = node.receive('b4', { tensor: 0, round: 0 }, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    const closedAt = performance.now();
    await page.close(); // no Leave: the page and its websocket just vanish
    const goneAt = await gone;
    expect(events.at(-1)).toEqual({ kind: 'left', worker: 'b4', reason: 'timeout' });
    // Declared after the timeout (silence, not a message) and not much later.
    expect(goneAt! - closedAt).toBeGreaterThanOrEqual(PEER_TIMEOUT_MS - 2 * HEARTBEAT_MS);
    expect(goneAt! - closedAt).toBeLessThan(PEER_TIMEOUT_MS + 2000);
    expect(await pending).toMatchObject({ name: 'PeerLeftError', peer: 'b4', reason: 'timeout' });
    expect(node.members()).toEqual(['n2']);
  });

  it("a page signs in with its own nkey and may not publish on another worker's subjects", async () => {
    const run = runId();
    const watcher: NatsConnection = await connect({ servers: server.url, ...natsSecurityOptions({ credentialsFile: join(keyDir, 'coordinator.nk') }) });
    const page = await openPage();
    try {
      const seen: string[] = [];
      const sub = watcher.subscribe(`gossamer.${run}.>`, { callback: (_err, msg) => void seen.push(msg.subject) });
      await watcher.flush();
      const own = await inPage(page, (agent, url, creds, subject) => agent.tryPublish(url, creds, subject), server.wsUrl!, seeds.get('b1')!, `gossamer.${run}.b1.member`);
      const other = await inPage(page, (agent, url, creds, subject) => agent.tryPublish(url, creds, subject), server.wsUrl!, seeds.get('b1')!, `gossamer.${run}.b2.member`);
      expect(own).toEqual({ refused: false, detail: '' });
      expect(other.refused).toBe(true);
      expect(other.detail).toMatch(/publish/i);
      await watcher.flush();
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toEqual([`gossamer.${run}.b1.member`]);
      // Without credentials the websocket is not let in at all.
      const anonymous = await inPage(page, (agent, url) => agent.connectWithout(url), server.wsUrl!);
      expect(anonymous).toMatchObject({ ok: false, name: expect.stringMatching(/Authorization|Auth/) });
      sub.unsubscribe();
    } finally {
      await page.close();
      await watcher.close();
    }
  });

  it('over wss:// (TLS, as infra/nats/secure serves browsers): a page that trusts the server certificate exchanges with a Node worker; one that does not cannot connect', async () => {
    const certs = join(keyDir, 'certs');
    execFileSync('bash', [join(REPO_ROOT, 'infra/nats/secure/make-certs.sh'), certs], { encoding: 'utf8' });
    const users = USERS.map((name) => ({ name, publicKey: publicKeys.get(name)!, role: name === 'coordinator' ? ('coordinator' as const) : ('worker' as const) }));
    const tlsServer = await startNatsServer({
      maxPayload: 64 * 1024,
      websocket: true,
      websocketTls: { certFile: join(certs, 'server-cert.pem'), keyFile: join(certs, 'server-key.pem') },
      extraConfig: authConfig('*', users),
    });
    // Trust exactly this certificate (its public key), as a browser trusts a CA-issued one.
    const spki = new X509Certificate(readFileSync(join(certs, 'server-cert.pem'))).publicKey.export({ type: 'spki', format: 'der' });
    const pin = createHash('sha256').update(spki).digest('base64');
    const trusting = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--no-first-run', `--ignore-certificate-errors-spki-list=${pin}`] });
    try {
      const wss = tlsServer.wsUrl!;
      expect(wss).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const run = runId();
      const request: OpenRequest = { id: 'b5', runId: run, servers: wss, peers: ['b5', 'n3'], credentials: seeds.get('b5')!, heartbeatIntervalMs: HEARTBEAT_MS, peerTimeoutMs: PEER_TIMEOUT_MS, retransmitAfterMs: 150 };
      // The shared browser trusts no such certificate: the TLS handshake fails, so no connection.
      const untrusting = await openPage();
      try {
        // (A browser tells a page nothing about why a websocket failed: the same URL works below.)
        expect(await openOutcome(untrusting, { ...request, runId: runId() })).toMatchObject({ ok: false, name: 'ConnectionError' });
      } finally {
        await untrusting.close();
      }
      const page = await trusting.newPage();
      await page.addScriptTag({ content: bundle });
      const [, node] = await Promise.all([openInPage(page, 'b5', run, ['b5', 'n3'], wss), openInNode('n3', run, ['b5', 'n3'], tlsServer.url)]);
      await node.waitForPeers(['b5'], 20_000);
      value(await inPage(page, (agent) => agent.waitForPeers('b5', ['n3'], 20_000)));
      const data = tensor(LARGE, 41);
      const key = { tensor: 1, round: 0 };
      const [sent, got] = await Promise.all([inPage(page, (agent, k, d) => agent.send('b5', 'n3', k, d), key, b64(data)), node.receive('b5', key)]);
      value(sent);
      expectSameBits(got, data);
      await inPage(page, (agent) => agent.close('b5'));
    } finally {
      await trusting.close();
      await tlsServer.close();
    }
  });
});
