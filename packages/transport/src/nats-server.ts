// Launches a local nats-server for the CLI's local runs and for tests: a free loopback port chosen by
// the server itself (`-p -1`, read back from the ports file, as nats.js's own test harness does, so
// there is no race between picking a port and binding it), stop/kill/restart on the same port, and
// pause/resume (SIGSTOP/SIGCONT) to freeze it in fault-injection tests, and optionally JetStream
// (the launcher's server keeps checkpoints in an object store), and optionally a websocket listener
// for browser workers (plain ws:// on loopback; infra/nats has the wss:// configs). Nothing is printed: the server's
// output is kept (last 16 KiB) for error messages.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface NatsServerOptions {
  /** The executable: a path, or a name looked up on PATH (default $GOSSAMER_NATS_SERVER or "nats-server"). */
  readonly binary?: string;
  /** Interface to listen on (default 127.0.0.1: never exposed beyond this machine). */
  readonly host?: string;
  /** Port; default: a free one chosen by the server. */
  readonly port?: number;
  /** Largest message, bytes (server default 1 MiB). */
  readonly maxPayload?: number;
  /** How long the server waits on a blocked client socket before cutting it as a slow consumer, ms. */
  readonly writeDeadlineMs?: number;
  /** Largest backlog the server keeps for one client before cutting it, bytes (server default 64 MiB). */
  readonly maxPendingBytes?: number;
  /** More configuration lines, in nats-server's config syntax. */
  readonly extraConfig?: string;
  /** Give up starting after this long, ms (default 10 000). */
  readonly readyTimeoutMs?: number;
  /**
   * Enable JetStream (`-js`), storing under the server's temporary directory, so that it survives
   * restart() and goes with close() (default false: a cluster config without a server_name, for
   * one, cannot run it).
   */
  readonly jetstream?: boolean;
  /**
   * Also listen for websocket clients (browser workers, wsconnect): `true`, a free port chosen by
   * the server; a number, that port. Without `websocketTls`, plain ws:// (loopback and tests; a page
   * served over https:// needs wss://). The URL is `wsUrl`.
   */
  readonly websocket?: boolean | number;
  /** Serve the websocket listener over TLS (wss://) with this certificate chain and key (PEM files). */
  readonly websocketTls?: { readonly certFile: string; readonly keyFile: string };
}

/** nats-server is not installed (or not where it was said to be); the message says how to fix it. */
export class NatsServerNotFoundError extends Error {
  constructor(readonly binary: string) {
    super(
      `nats-server not found (looked for ${JSON.stringify(binary)}${binary.includes('/') ? '' : ' on PATH'}). ` +
        'Install it with `apt-get install nats-server` (Debian/Ubuntu), `brew install nats-server` (macOS), or a release from ' +
        'https://github.com/nats-io/nats-server/releases; set GOSSAMER_NATS_SERVER to its path; or give the URL of a running NATS server instead.',
    );
    this.name = 'NatsServerNotFoundError';
  }
}

/** nats-server started but did not become ready, or exited early; `output` is what it printed. */
export class NatsServerStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}${output ? `\n--- nats-server output ---\n${output.trimEnd()}` : ''}`);
    this.name = 'NatsServerStartError';
  }
}

const OUTPUT_KEEP = 16 * 1024;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills every server this process started when it exits, so no test run leaves one behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Resolves `binary` to an executable path, or throws NatsServerNotFoundError. */
export function findNatsServer(binary = process.env.GOSSAMER_NATS_SERVER ?? 'nats-server'): string {
  const isExecutable = (path: string): boolean => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (binary.includes('/')) {
    if (isExecutable(binary)) return binary;
    throw new NatsServerNotFoundError(binary);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, binary))) return join(dir, binary);
  }
  throw new NatsServerNotFoundError(binary);
}

/** A running (or stopped, restartable) nats-server. */
export class NatsServer {
  private child: ChildProcess | undefined;
  private output = '';
  private currentPort: number;
  private currentWsPort: number | undefined;
  private readonly dir: string;
  private readonly configFile: string;

  private constructor(
    private readonly binary: string,
    private readonly options: NatsServerOptions,
  ) {
    this.currentPort = options.port ?? -1;
    const ws = options.websocket;
    this.currentWsPort = ws === undefined || ws === false ? undefined : ws === true ? -1 : ws;
    this.dir = mkdtempSync(join(tmpdir(), 'gossamer-nats-'));
    this.configFile = join(this.dir, 'server.conf');
    this.writeConfig();
  }

  /** Written before every launch: after the first, the websocket port is the one the server chose. */
  private writeConfig(): void {
    const { options } = this;
    const lines = [
      options.maxPayload !== undefined ? `max_payload: ${options.maxPayload}` : '',
      options.writeDeadlineMs !== undefined ? `write_deadline: "${options.writeDeadlineMs}ms"` : '',
      options.maxPendingBytes !== undefined ? `max_pending: ${options.maxPendingBytes}` : '',
      this.currentWsPort !== undefined ? websocketBlock(`${this.host}:${this.currentWsPort}`, options.websocketTls) : '',
      options.extraConfig ?? '',
    ];
    writeFileSync(this.configFile, `${lines.filter(Boolean).join('\n')}\n`);
  }

  /** Starts a server and resolves once it accepts connections. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const server = new NatsServer(findNatsServer(options.binary), options);
    try {
      await server.launch();
    } catch (err) {
      server.cleanup();
      throw err;
    }
    return server;
  }

  get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  /** The port (fixed after the first start, so restart() comes back on it). */
  get port(): number {
    return this.currentPort;
  }

  get url(): string {
    return `nats://${this.host}:${this.currentPort}`;
  }

  /** The websocket URL (`ws://host:port`, for wsconnect), or undefined without the `websocket` option. */
  get wsUrl(): string | undefined {
    if (this.currentWsPort === undefined) return undefined;
    return `${this.options.websocketTls ? 'wss' : 'ws'}://${this.host}:${this.currentWsPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the process runs (also when paused). */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** What the server printed (the last 16 KiB). */
  get log(): string {
    return this.output;
  }

  private async launch(): Promise<void> {
    const timeoutMs = this.options.readyTimeoutMs ?? 10_000;
    for (const f of readdirSync(this.dir)) if (f.endsWith('.ports')) rmSync(join(this.dir, f), { force: true });
    this.writeConfig();
    const args = ['-a', this.host, '-p', String(this.currentPort), '--ports_file_dir', this.dir, '-c', this.configFile];
    if (this.options.jetstream) args.push('-js', '--store_dir', join(this.dir, 'jetstream'));
    const child = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    installExitHook();
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_KEEP);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let exited: string | undefined;
    child.once('error', (err) => (exited = err.message));
    child.once('exit', (code, signal) => {
      live.delete(child);
      exited ??= `exited with ${signal ?? `code ${code}`}`;
      if (this.child === child) this.child = undefined;
    });
    const deadline = performance.now() + timeoutMs;
    const portsFile = join(this.dir, `${this.binary.split('/').pop()}_${child.pid}.ports`);
    for (;;) {
      if (exited !== undefined) throw new NatsServerStartError(`nats-server ${exited} before it was ready`, this.output);
      if (performance.now() > deadline) {
        child.kill('SIGKILL');
        throw new NatsServerStartError(`nats-server was not ready within ${timeoutMs} ms`, this.output);
      }
      if (existsSync(portsFile)) {
        const ports = portsFromPortsFile(readFileSync(portsFile, 'utf8'));
        const wsReady = this.currentWsPort === undefined || ports?.websocket !== undefined;
        if (ports !== undefined && wsReady && (await canConnect(this.host, ports.nats))) {
          this.currentPort = ports.nats;
          if (this.currentWsPort !== undefined) this.currentWsPort = ports.websocket ?? this.currentWsPort;
          return;
        }
      }
      await sleep(10);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL after `graceMs`) and waits for it to exit. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGCONT'); // a paused server cannot handle SIGTERM
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Kills the server at once (SIGKILL), as a crash would, and waits for it to exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops (if running) and starts again on the same port; clients with reconnect enabled come back. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open but nothing moves. Resolves once every thread
   * of the server has stopped (read from /proc where there is one): the signal only takes effect as
   * each thread is next scheduled, which on a loaded machine can be many milliseconds after kill()
   * returns, and until then the server still routes messages.
   */
  async pause(timeoutMs = 10_000): Promise<void> {
    const child = this.child;
    if (child?.pid === undefined) return;
    child.kill('SIGSTOP');
    const deadline = performance.now() + timeoutMs;
    // Stopped, and still stopped a few milliseconds later (seen running again: stopped again).
    let stoppedSince: number | undefined;
    for (;;) {
      if (this.child !== child) return; // exited meanwhile
      const now = performance.now();
      if (allThreadsStopped(child.pid)) {
        stoppedSince ??= now;
        if (now - stoppedSince >= 5) return;
      } else if (stoppedSince !== undefined) {
        stoppedSince = undefined;
        child.kill('SIGSTOP');
      }
      if (now > deadline) throw new Error(`nats-server (pid ${child.pid}) did not stop within ${timeoutMs} ms of SIGSTOP`);
      await sleep(1);
    }
  }

  /** Unfreezes a paused server (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Stops the server and removes its temporary files. */
  async close(): Promise<void> {
    await this.stop();
    this.cleanup();
  }

  private cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a nats-server (see NatsServerOptions); resolves once it accepts connections. */
export function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  return NatsServer.start(options);
}

function websocketBlock(listen: string, tls: NatsServerOptions['websocketTls']): string {
  const security = tls ? `tls {\n    cert_file: ${JSON.stringify(tls.certFile)}\n    key_file: ${JSON.stringify(tls.keyFile)}\n  }` : 'no_tls: true';
  return `websocket {\n  listen: "${listen}"\n  ${security}\n}`;
}

/** The client and websocket ports from a ports file ({"nats": [url], "websocket": [url]}). */
function portsFromPortsFile(text: string): { nats: number; websocket: number | undefined } | undefined {
  const portOf = (url: string | undefined): number | undefined => {
    if (url === undefined) return undefined;
    const port = Number(new URL(url).port);
    return Number.isInteger(port) && port > 0 ? port : undefined;
  };
  try {
    const parsed = JSON.parse(text) as { nats?: string[]; websocket?: string[] };
    const nats = portOf(parsed.nats?.[0]);
    return nats === undefined ? undefined : { nats, websocket: portOf(parsed.websocket?.[0]) };
  } catch {
    return undefined; // written but not complete yet
  }
}

/**
 * True when every thread of process `pid` is stopped (state T), per /proc/<pid>/task/<tid>/stat.
 * Where there is no /proc (not Linux), true: the caller cannot do better than the signal.
 */
function allThreadsStopped(pid: number): boolean {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return !existsSync('/proc/self'); // no /proc: cannot tell; a vanished process: nothing runs
  }
  for (const tid of tids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread exited
    }
    // "tid (comm) S ...": the state follows the last ')' (comm may contain spaces and parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state !== 'T' && state !== 't') return false;
  }
  return true;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
