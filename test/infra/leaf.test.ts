// infra/nats/leaf: the edge leaf node joins its hub, and messages cross both ways.
// The committed configs are used as they are, except for ports and the hub's address, which move to
// loopback: client/monitor ports by flag, the leafnode port and remote URL by an exact replacement.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startNatsServer, waitFor, type NatsServer } from '../support/nats-cluster.js';
import { REPO_ROOT } from '../support/nats-secure.js';

function replaceOnce(text: string, from: string, to: string, file: string): string {
  const parts = text.split(from);
  if (parts.length !== 2) throw new Error(`${file}: expected exactly one "${from}", found ${parts.length - 1}`);
  return parts.join(to);
}

interface Leafz {
  leafnodes: number;
  leafs: { account: string; ip: string; port: number }[];
}

async function leafz(server: NatsServer): Promise<Leafz> {
  return (await (await fetch(`${server.monitor}/leafz`)).json()) as Leafz;
}

/** Publishes every 50 ms until the subscriber gets one (interest crosses a leaf link asynchronously). */
async function firstMessage(sub: NatsConnection, pub: NatsConnection, subject: string): Promise<string> {
  const s = sub.subscribe(subject, { max: 1 });
  await sub.flush();
  const timer = setInterval(() => pub.publish(subject, `via ${pub.info?.server_name}`), 50);
  const timeout = setTimeout(() => s.unsubscribe(), 5000);
  try {
    for await (const m of s) return m.string();
    throw new Error(`no message on ${subject} crossed the leaf link within 5 s`);
  } finally {
    clearInterval(timer);
    clearTimeout(timeout);
  }
}

describe('leaf node config joins the hub config', () => {
  let dir: string;
  let hub: NatsServer;
  let leaf: NatsServer;
  let leafPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gossamer-leaf-'));
    [leafPort] = await freePorts(1);
    const hubFile = join(REPO_ROOT, 'infra/nats/leaf/hub.conf');
    const leafFile = join(REPO_ROOT, 'infra/nats/leaf/leaf.conf');
    writeFileSync(
      join(dir, 'hub.conf'),
      replaceOnce(readFileSync(hubFile, 'utf8'), 'listen: 0.0.0.0:7422', `listen: 127.0.0.1:${leafPort}`, hubFile),
    );
    writeFileSync(
      join(dir, 'leaf.conf'),
      replaceOnce(
        readFileSync(leafFile, 'utf8'),
        'url: "nats-leaf://hub.gossamer.example:7422"',
        `url: "nats-leaf://127.0.0.1:${leafPort}"`,
        leafFile,
      ),
    );
    hub = await startNatsServer({ config: join(dir, 'hub.conf') });
    leaf = await startNatsServer({ config: join(dir, 'leaf.conf') });
  });
  afterAll(async () => {
    await Promise.all([leaf?.stop(), hub?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the leaf connects to the hub', async () => {
    await waitFor(async () => (await leafz(hub)).leafnodes === 1, 10_000, `leaf did not connect:\n${leaf.log()}`);
    // The leaf's one link goes to the hub's leafnode port.
    const edgeView = await leafz(leaf);
    expect(edgeView.leafnodes).toBe(1);
    expect(edgeView.leafs[0]).toMatchObject({ ip: '127.0.0.1', port: leafPort, account: '$G' });
  });

  it('a message published by an edge worker reaches a worker on the hub, and back', async () => {
    const onHub = await connect({ servers: hub.url, reconnect: false });
    const onEdge = await connect({ servers: leaf.url, reconnect: false });
    try {
      expect(onHub.info?.server_name).toBe('gossamer-hub');
      expect(onEdge.info?.server_name).toBe('gossamer-edge');
      expect(await firstMessage(onHub, onEdge, 'gossamer.r1.edge-w1.params')).toBe('via gossamer-edge');
      expect(await firstMessage(onEdge, onHub, 'gossamer.r1.hub-w1.params')).toBe('via gossamer-hub');
    } finally {
      await Promise.all([onHub.close(), onEdge.close()]);
    }
  });
});
