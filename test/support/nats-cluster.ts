// NATS servers for tests: a 3-node loopback cluster (infra/nats/local-cluster.mjs) and single servers
// started from a config file, on free ports, stopped cleanly.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import {
  freePorts,
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
} from '../../infra/nats/local-cluster.mjs';

export { freePorts, startLocalCluster, type LocalCluster, type LocalClusterOptions };

/** The nats-server binary tests use: $NATS_SERVER or `nats-server` on PATH. */
export const NATS_SERVER = process.env.NATS_SERVER ?? 'nats-server';

/** Starts a loopback cluster (3 nodes unless told) and resolves once every route is up. */
export function startNatsCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  return startLocalCluster(options);
}

/**
 * A loopback cluster for the tests of one file: started in beforeAll, stopped in afterAll.
 * Returns a getter to call inside tests.
 */
export function useNatsCluster(options: LocalClusterOptions = {}): () => LocalCluster {
  let cluster: LocalCluster | undefined;
  beforeAll(async () => {
    cluster = await startLocalCluster(options);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('useNatsCluster: cluster not ready (call inside a test)');
    return cluster;
  };
}

/** Result of `nats-server -t -c file`: whether the config is valid, and what the server said. */
export function testNatsConfig(file: string, options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { ok: boolean; output: string } {
  const result = spawnSync(NATS_SERVER, ['-t', '-c', file], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: 10_000,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`.trim();
  return { ok: result.status === 0, output };
}

export interface NatsServerOptions {
  /** Config file (`-c`). */
  config?: string;
  /** Working directory (relative paths in the config, e.g. TLS files, resolve against it). */
  cwd?: string;
  /** Extra command-line flags; they override the config file. */
  args?: readonly string[];
  /** Bind address for -a (default 127.0.0.1). */
  host?: string;
  readyTimeoutMs?: number;
}

export interface NatsServer {
  /** Client port and URL (the -p flag overrides the config's port). */
  readonly port: number;
  readonly url: string;
  /** Monitoring base URL (http://host:port, from -m). */
  readonly monitor: string;
  readonly process: ChildProcess;
  /** The server's log so far (stderr, last 16 KiB). */
  log(): string;
  stop(): Promise<void>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function stopChild(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Starts one nats-server on free client and monitoring ports (`-a host -p PORT -m PORT` override the
 * config) and resolves when /healthz answers ok.
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const host = options.host ?? '127.0.0.1';
  const [port, httpPort] = await freePorts(2, host);
  const args = [
    ...(options.config ? ['-c', options.config] : []),
    '-a',
    host,
    '-p',
    String(port),
    '-m',
    String(httpPort),
    ...(options.args ?? []),
  ];
  const child = spawn(NATS_SERVER, args, { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log = (log + chunk).slice(-16 * 1024);
  });
  child.on('error', (err) => {
    log += `\n${NATS_SERVER}: ${err.message}`;
  });
  // The monitoring listener binds to the config's http host when it sets one (e.g. 127.0.0.1).
  const monitor = `http://127.0.0.1:${httpPort}`;
  const server: NatsServer = {
    port,
    url: `nats://${host}:${port}`,
    monitor,
    process: child,
    log: () => log,
    stop: () => stopChild(child),
  };
  const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`nats-server ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}):\n${log.trim()}`);
    }
    try {
      const response = await fetch(`${monitor}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return server;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`nats-server ${args.join(' ')} not healthy in time:\n${log.trim()}`);
    }
    await sleep(50);
  }
}

/** Polls `check` every 50 ms until it is true, or throws `message` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message);
    await sleep(50);
  }
}
