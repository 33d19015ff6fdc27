// The 3-node loopback NATS cluster: the test helper, the local-cluster.mjs script, and the committed
// infra/nats/cluster configs (hosts and ports moved to loopback with command-line flags).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  freePorts,
  startNatsServer,
  useNatsCluster,
  waitFor,
  type NatsServer,
} from '../support/nats-cluster.js';
import { REPO_ROOT } from '../support/nats-secure.js';

interface Routez {
  num_routes: number;
  routes: { remote_id: string }[];
}
interface Varz {
  server_id: string;
  server_name: string;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  expect(response.ok, url).toBe(true);
  return (await response.json()) as T;
}

/** Subscribes on `sub`, waits for interest to reach the publisher's node, publishes on `pub`. */
async function crossNodes(
  sub: NatsConnection,
  pub: NatsConnection,
  subject: string,
  waitForInterest: () => Promise<void>,
): Promise<{ subject: string; data: string; server: string }> {
  const subscription = sub.subscribe(subject, { max: 1 });
  await sub.flush();
  await waitForInterest();
  pub.publish(subject, 'hello from the other node');
  await pub.flush();
  const received = await Promise.race([
    (async () => {
      for await (const m of subscription) return { subject: m.subject, data: m.string() };
      throw new Error('subscription ended without a message');
    })(),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no message on ${subject} within 5 s`)), 5000)),
  ]);
  return { ...received, server: sub.info?.server_name ?? '' };
}

describe('loopback cluster from test/support/nats-cluster.ts', () => {
  const cluster = useNatsCluster();

  it('forms: every node has a route to each of the other two, all distinct servers', async () => {
    const c = cluster();
    expect(c.urls).toHaveLength(3);
    const varz = await Promise.all(c.monitor.map((m) => getJson<Varz>(`${m}/varz`)));
    const ids = varz.map((v) => v.server_id);
    expect(new Set(ids).size).toBe(3);
    for (const [i, m] of c.monitor.entries()) {
      const routez = await getJson<Routez>(`${m}/routez`);
      expect(routez.num_routes).toBe(2);
      expect(routez.routes.map((r) => r.remote_id).sort()).toEqual(ids.filter((_, j) => j !== i).sort());
    }
  });

  it('a message published on node C reaches a subscriber on node A', async () => {
    const c = cluster();
    const a = await connect({ servers: c.urls[0], reconnect: false });
    const cc = await connect({ servers: c.urls[2], reconnect: false });
    try {
      expect(a.info?.server_name).toBe(c.names[0]);
      expect(cc.info?.server_name).toBe(c.names[2]);
      const subject = 'gossamer.test-run.w3.params';
      const got = await crossNodes(a, cc, subject, () => c.waitForInterest(subject));
      expect(got).toEqual({ subject, data: 'hello from the other node', server: c.names[0] });
    } finally {
      await Promise.all([a.close(), cc.close()]);
    }
  });
});

describe('infra/nats/local-cluster.mjs as a command', () => {
  it('prints and writes the client URLs, serves clients, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-lc-'));
    const out = join(dir, 'urls.json');
    const child = spawn(process.execPath, [join(REPO_ROOT, 'infra/nats/local-cluster.mjs'), '--out', out], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      await waitFor(() => stdout.includes('ready') || child.exitCode !== null, 15_000, `not ready: ${stdout}${stderr}`);
      expect(stderr).toBe('');
      const info = JSON.parse(readFileSync(out, 'utf8')) as { urls: string[]; monitor: string[]; dir: string; pids: number[] };
      expect(info.urls).toHaveLength(3);
      expect(stdout).toContain(`NATS_URLS=${info.urls.join(',')}`);
      for (const m of info.monitor) expect((await getJson<Routez>(`${m}/routez`)).num_routes).toBe(2);

      const nc = await connect({ servers: info.urls[1], reconnect: false });
      const reply = nc.subscribe('ping', {
        callback: (_err, msg) => {
          msg.respond('pong');
        },
      });
      const pong = await nc.request('ping', '', { timeout: 2000 });
      expect(pong.string()).toBe('pong');
      reply.unsubscribe();
      await nc.close();

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('stopped (SIGTERM)');
      // Every nats-server it started is gone, and so is its temp dir.
      for (const pid of info.pids) expect(() => process.kill(pid, 0)).toThrow();
      expect(existsSync(info.dir)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('infra/nats/cluster/node-{a,b,c}.conf on loopback', () => {
  const servers: NatsServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('the three committed node configs form one cluster and carry a message from c to a', async () => {
    const clusterPorts = await freePorts(3);
    const wsPorts = await freePorts(3);
    const names = ['a', 'b', 'c'];
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-cluster-conf-'));
    for (const [i, n] of names.entries()) {
      const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
      // nats-server has no flag for the websocket port: the three nodes share this host, so each
      // copy of its committed config gets a loopback port of its own there (nothing else changes).
      const committed = readFileSync(join(REPO_ROOT, `infra/nats/cluster/node-${n}.conf`), 'utf8');
      const config = join(dir, `node-${n}.conf`);
      const rewritten = committed.replace(/(websocket \{\s*listen: )\S+/, `$1127.0.0.1:${wsPorts[i]}`);
      expect(rewritten, `node-${n}.conf has a websocket listener`).not.toBe(committed);
      writeFileSync(config, rewritten);
      servers.push(
        await startNatsServer({
          config,
          // Flags override the config: loopback ports instead of hosts nats-a/b/c.
          args: ['--cluster', `nats://127.0.0.1:${clusterPorts[i]}`, '--routes', routes.join(',')],
        }),
      );
    }
    await waitFor(
      async () => (await Promise.all(servers.map((s) => getJson<Routez>(`${s.monitor}/routez`)))).every((r) => r.num_routes === 2),
      10_000,
      'the committed cluster configs did not form a cluster',
    );
    const varz = await Promise.all(servers.map((s) => getJson<Varz & { cluster: { name: string } }>(`${s.monitor}/varz`)));
    expect(varz.map((v) => v.server_name)).toEqual(['nats-a', 'nats-b', 'nats-c']);
    expect(varz.map((v) => v.cluster.name)).toEqual(['gossamer', 'gossamer', 'gossamer']);

    const a = await connect({ servers: servers[0].url, reconnect: false });
    const c = await connect({ servers: servers[2].url, reconnect: false });
    try {
      const subject = 'gossamer.r.w1.grad';
      // Without the helper's waitForInterest: retry until the subscription's interest has crossed.
      const sub = a.subscribe(subject, { max: 1 });
      await a.flush();
      const timer = setInterval(() => c.publish(subject, 'from c'), 50);
      try {
        for await (const m of sub) {
          expect(m.string()).toBe('from c');
          break;
        }
      } finally {
        clearInterval(timer);
      }
      expect(sub.getProcessed()).toBe(1);
    } finally {
      await Promise.all([a.close(), c.close()]);
    }
  });
});
