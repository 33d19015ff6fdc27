#!/usr/bin/env node
// A test bed of "hosts" on one Linux machine: each host is a network namespace with its own address,
// joined to the others by a veth pair into a bridge, and runs one node of a NATS cluster (the configs
// of infra/nats/cluster, unchanged, for the first three). Faults are what break between machines:
// a host's link going down, a host dying, its NATS node dying, a partition. Root is needed (ip netns).
//
//   node infra/hostbed/hostbed.mjs [--hosts 3]      # start; prints how to run workers; Ctrl-C removes it all
//   node infra/hostbed/hostbed.mjs --cleanup        # remove what crashed test beds left behind
//
// Nothing is added to the root namespace: the bridge has a namespace of its own, and every address
// (10.77.0.0/24) exists only inside namespaces the bed created, so traffic never leaves them. Every
// name starts with a prefix `gtb<pid>x<n>` unique to the bed, which is how teardown (and the sweep of
// beds whose process died) finds everything: namespaces, /etc/netns/<ns>/hosts, processes inside.
//
// From code: `import { startHostBed } from './hostbed.mjs'` (types in hostbed.d.mts).

import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLUSTER_DIR = resolve(here, '..', 'nats', 'cluster');
/** The bed's subnet; it exists only inside the bed's namespaces. */
export const SUBNET = '10.77.0';
const PREFIX_RE = /^gtb(\d+)x\d+-/;
const TAIL = 16 * 1024;
let beds = 0;
const live = new Set();

/** nats-a, nats-b, …: the names infra/nats/cluster's configs (and docker-compose) give the nodes. */
export function hostName(i) {
  return `nats-${String.fromCharCode(97 + i)}`;
}

function ip(args) {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Whether `pid` is a running process (a zombie, killed and not yet reaped, is not). */
function alive(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function namespaces() {
  return ip(['netns', 'list'])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n);
}

/** Kills every process in the namespaces of `prefix`, deletes them and their /etc/netns entries. */
export function removeBed(prefix) {
  const mine = namespaces().filter((n) => n.startsWith(`${prefix}-`));
  const pids = mine.flatMap((ns) => {
    try {
      return ip(['netns', 'pids', ns]).split('\n').filter((p) => p.trim()).map(Number);
    } catch {
      return [];
    }
  });
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  // A namespace with a process still in it outlives its name: wait for the kills to land.
  const deadline = Date.now() + 3000;
  while (pids.some(alive) && Date.now() < deadline) execFileSync('sleep', ['0.05']);
  for (const ns of mine) {
    try {
      ip(['netns', 'del', ns]);
    } catch {
      // removed meanwhile
    }
  }
  if (existsSync('/etc/netns')) for (const n of readdirSync('/etc/netns')) if (n.startsWith(`${prefix}-`)) rmSync(join('/etc/netns', n), { recursive: true, force: true });
}

/** What is left of `prefix` (namespaces, /etc/netns entries, root-namespace links, live pids): [] when clean. */
export function leftovers(prefix, pids = []) {
  const left = namespaces().filter((n) => n.startsWith(`${prefix}-`)).map((n) => `namespace ${n}`);
  if (existsSync('/etc/netns')) for (const n of readdirSync('/etc/netns')) if (n.startsWith(`${prefix}-`)) left.push(`/etc/netns/${n}`);
  for (const line of ip(['-o', 'link']).split('\n')) if (line.includes(prefix)) left.push(`link ${line.trim()}`);
  for (const pid of pids) if (alive(pid)) left.push(`process ${pid}`);
  return left;
}

/** Removes beds whose creating process is gone (a test run that was killed). Returns their prefixes. */
export function sweepStaleBeds() {
  const stale = new Set();
  for (const ns of namespaces()) {
    const m = PREFIX_RE.exec(ns);
    if (m && !alive(Number(m[1]))) stale.add(ns.slice(0, ns.indexOf('-')));
  }
  if (existsSync('/etc/netns')) {
    for (const n of readdirSync('/etc/netns')) {
      const m = PREFIX_RE.exec(n);
      if (m && !alive(Number(m[1]))) stale.add(n.slice(0, n.indexOf('-')));
    }
  }
  for (const prefix of stale) removeBed(prefix);
  return [...stale];
}

/** Fails with what to do when network namespaces cannot be made here (not root, no iproute2). */
export function checkNetnsAvailable() {
  const probe = `gtb${process.pid}xprobe-t`;
  try {
    ip(['netns', 'add', probe]);
    ip(['netns', 'del', probe]);
  } catch (e) {
    const detail = e instanceof Error ? String(e.stderr ?? e.message).trim() : String(e);
    throw new Error(`the host test bed needs network namespaces (root and iproute2's "ip netns"): ${detail}`);
  }
}

/** Node i's nats-server config: infra/nats/cluster/node-{a,b,c}.conf as is; later nodes modelled on node-c. */
function natsConfig(i, count) {
  if (i < 3) return readFileSync(join(CLUSTER_DIR, `node-${'abc'[i]}.conf`), 'utf8');
  const routes = Array.from({ length: count }, (_, j) => j).filter((j) => j !== i).map((j) => `    nats-route://${hostName(j)}:6222`);
  return readFileSync(join(CLUSTER_DIR, 'node-c.conf'), 'utf8')
    .replace(/^server_name: nats-c$/m, `server_name: ${hostName(i)}`)
    .replace(/routes: \[[^\]]*\]/, `routes: [\n${routes.join('\n')}\n  ]`);
}

/**
 * Creates `hosts` namespaces on a bridge and starts a NATS node on each; resolves once every node
 * routes to every other.
 * @param {import('./hostbed.d.mts').HostBedOptions} [options]
 * @returns {Promise<import('./hostbed.d.mts').HostBed>}
 */
export async function startHostBed(options = {}) {
  const count = options.hosts ?? 3;
  if (!Number.isInteger(count) || count < 3 || count > 26) throw new RangeError(`hosts: 3 … 26 (the cluster configs name three nodes), got ${count}`);
  const serverBin = options.serverBin ?? process.env.NATS_SERVER ?? 'nats-server';
  checkNetnsAvailable();
  sweepStaleBeds();
  const prefix = `gtb${process.pid}x${beds++}`;
  const bridgeNs = `${prefix}-br`;
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const hosts = Array.from({ length: count }, (_, i) => ({
    index: i,
    name: hostName(i),
    ns: `${prefix}-h${i}`,
    ip: `${SUBNET}.${i + 1}`,
    url: `nats://${hostName(i)}:4222`,
    veth: `h${i}`,
  }));
  const children = new Set();
  const pids = [];
  const nats = new Map();
  const logs = new Map();
  let stopped = false;

  const teardown = () => {
    if (stopped) return;
    stopped = true;
    live.delete(teardown);
    for (const child of children) child.kill('SIGKILL');
    removeBed(prefix);
    rmSync(dir, { recursive: true, force: true });
  };
  live.add(teardown);

  /** Runs `command` inside host i's namespace (its /etc/hosts names every node). */
  const exec = (i, command, args, spawnOptions = {}) => {
    if (stopped) throw new Error(`host bed ${prefix} is stopped`);
    const child = spawn('ip', ['netns', 'exec', hosts[i].ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    children.add(child);
    if (child.pid) pids.push(child.pid);
    child.once('exit', () => children.delete(child));
    return child;
  };

  /** GET http://127.0.0.1:8222<path> inside host i (the monitoring port of infra's configs). */
  const monitor = (i, path) =>
    new Promise((res, rej) =>
      execFile('ip', ['netns', 'exec', hosts[i].ns, 'curl', '-sf', '-m', '1', `http://127.0.0.1:8222${path}`], { encoding: 'utf8' }, (err, out) => (err ? rej(err) : res(JSON.parse(out)))),
    );

  const waitUntil = async (check, timeoutMs, what) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await check().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`host bed ${prefix}: ${what} within ${timeoutMs} ms\n${[...logs].map(([i, l]) => `--- ${hostName(i)}\n${l.slice(-2000)}`).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const startNats = async (i) => {
    const old = nats.get(i);
    if (old && old.exitCode === null && old.signalCode === null) throw new Error(`${hostName(i)} is running`);
    const child = exec(i, serverBin, ['-c', join(dir, `${hosts[i].name}.conf`)]);
    nats.set(i, child);
    logs.set(i, logs.get(i) ?? '');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => logs.set(i, (logs.get(i) + chunk).slice(-TAIL)));
    await waitUntil(async () => (await monitor(i, '/healthz')).status === 'ok', 10_000, `${hostName(i)} not healthy`);
  };

  const killNats = (i, signal = 'SIGKILL') =>
    new Promise((res) => {
      const child = nats.get(i);
      if (!child || child.exitCode !== null || child.signalCode !== null) return res(undefined);
      child.once('exit', () => res(undefined));
      child.kill(signal);
    });

  // /routez of 2.9 names a route's peer by its address only.
  const routes = async (i) => (await monitor(i, '/routez')).routes.map((r) => hosts.find((h) => h.ip === r.ip)?.name ?? r.ip);
  /** Waits until each host of `group` routes to every other host of it (default: all). */
  const waitForRoutes = (group = hosts.map((h) => h.index), timeoutMs = 20_000) =>
    waitUntil(
      async () => {
        for (const i of group) {
          const peers = new Set(await routes(i));
          if (!group.every((j) => j === i || peers.has(hostName(j)))) return false;
        }
        return true;
      },
      timeoutMs,
      `routes between ${group.map(hostName).join(', ')} not up`,
    );

  try {
    ip(['netns', 'add', bridgeNs]);
    ip(['-n', bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', bridgeNs, 'link', 'set', 'br0', 'up']);
    const hostsFile = ['127.0.0.1 localhost', ...hosts.map((h) => `${h.ip} ${h.name}`), ''].join('\n');
    for (const h of hosts) {
      ip(['netns', 'add', h.ns]);
      // Both ends are made inside their namespaces: no interface ever appears in the root one.
      ip(['link', 'add', 'eth0', 'netns', h.ns, 'type', 'veth', 'peer', 'name', h.veth, 'netns', bridgeNs]);
      ip(['-n', bridgeNs, 'link', 'set', h.veth, 'master', 'br0', 'up']);
      ip(['-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0']);
      ip(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
      // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts: the configs' host names resolve.
      mkdirSync(join('/etc/netns', h.ns), { recursive: true });
      writeFileSync(join('/etc/netns', h.ns, 'hosts'), hostsFile);
      writeFileSync(join(dir, `${h.name}.conf`), natsConfig(h.index, count));
    }
    await Promise.all(hosts.map((h) => startNats(h.index)));
    await waitForRoutes();
  } catch (e) {
    teardown();
    throw e;
  }

  const setLink = (i, state) => ip(['-n', bridgeNs, 'link', 'set', hosts[i].veth, state]);
  return {
    prefix,
    dir,
    hosts,
    natsUrls: (i) => [hosts[i].url, ...hosts.filter((h) => h.index !== i).map((h) => h.url)],
    exec,
    startNats,
    killNats,
    natsRunning: (i) => {
      const c = nats.get(i);
      return c !== undefined && c.exitCode === null && c.signalCode === null;
    },
    natsLog: (i) => logs.get(i) ?? '',
    routes,
    connz: async (i) => (await monitor(i, '/connz')).connections.map((c) => c.name ?? ''),
    waitForRoutes,
    cut: (i) => setLink(i, 'down'),
    restore: (i) => setLink(i, 'up'),
    split(groups) {
      // Group k's ports move to bridge br<k>: inside a group all is as before, across groups nothing passes.
      for (const [k, group] of groups.entries()) {
        if (k > 0 && !ip(['-n', bridgeNs, '-o', 'link']).includes(` br${k}:`)) {
          ip(['-n', bridgeNs, 'link', 'add', `br${k}`, 'type', 'bridge']);
          ip(['-n', bridgeNs, 'link', 'set', `br${k}`, 'up']);
        }
        for (const i of group) ip(['-n', bridgeNs, 'link', 'set', hosts[i].veth, 'master', `br${k}`]);
      }
    },
    heal() {
      for (const h of hosts) ip(['-n', bridgeNs, 'link', 'set', h.veth, 'master', 'br0', 'up']);
    },
    pids: () => [...pids],
    async stop() {
      const exits = [...children].map((c) => new Promise((res) => (c.exitCode !== null || c.signalCode !== null ? res(undefined) : c.once('exit', () => res(undefined)))));
      teardown();
      await Promise.all(exits);
    },
    leftovers: () => leftovers(prefix, pids),
  };
}

// Whatever way the process ends, its beds go with it (a failed test, an exception, Ctrl-C).
process.on('exit', () => {
  for (const teardown of [...live]) teardown();
});

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  if (args.includes('--cleanup')) {
    const removed = sweepStaleBeds();
    console.log(removed.length ? `removed ${removed.join(', ')}` : 'nothing to remove');
    process.exit(0);
  }
  const at = args.indexOf('--hosts');
  const bed = await startHostBed({ hosts: at >= 0 ? Number(args[at + 1]) : 3 });
  console.log(`host bed ${bed.prefix}: ${bed.hosts.map((h) => `${h.name} ${h.ip} (netns ${h.ns})`).join(', ')}; every route up`);
  console.log(`run a worker on ${bed.hosts[0].name}:\n  ip netns exec ${bed.hosts[0].ns} node packages/cli/dist/bin.js worker --nats ${bed.natsUrls(0).join(',')} --prefer-first-server --run r1 --config run.json --id w0`);
  console.log(`cut its link: ip -n ${bed.prefix}-br link set ${bed.hosts[0].veth} down   (Ctrl-C removes everything)`);
  const stop = () => {
    void bed.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
