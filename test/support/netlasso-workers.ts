// Real `netlasso-worker` processes (the built CLI, through test/netlasso/fixtures/worker.mjs) over a
// real nats-server started for the test file, with their JSON-line events as they come.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startNatsServer, type NatsServer } from '@gossamer/transport';

const workerScript = resolve(__dirname, '../netlasso/fixtures/worker.mjs');
const dist = resolve(__dirname, '../../packages/cli/dist/commands/netlasso-worker.js');

export interface NetlassoEvent {
  type: string;
  time: string;
  worker?: string;
  lambdaIndex?: number;
  iterations?: number;
  epoch?: number;
  members?: string[];
  nodes?: number;
  resumeLambdaIndex?: number;
  [field: string]: unknown;
}

export interface NetlassoExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr together. */
  output: string;
  events: NetlassoEvent[];
}

export interface NetlassoWorkerProcess {
  child: ChildProcess;
  /** Events so far (all of them once exited). */
  events: NetlassoEvent[];
  exited: Promise<NetlassoExit>;
}

export interface NetlassoBed {
  readonly server: NatsServer;
  /** A scratch directory, removed after the file's tests. */
  readonly dir: string;
  /** Starts one worker process with these arguments; `onEvent` sees each event as it is printed. */
  spawn(args: readonly string[], onEvent?: (e: NetlassoEvent) => void): NetlassoWorkerProcess;
}

/** Registers beforeAll/afterAll: a nats-server and a scratch directory; every worker still running at the end is killed. */
export function useNetlassoBed(prefix: string): NetlassoBed {
  let server: NatsServer | undefined;
  let dir: string | undefined;
  const children = new Set<ChildProcess>();
  beforeAll(async () => {
    if (!existsSync(dist)) throw new Error(`${dist} is missing: worker processes run the built CLI; run \`npx turbo run build\` first`);
    server = await startNatsServer();
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error('the bed is used before beforeAll ran');
      return server;
    },
    get dir() {
      if (!dir) throw new Error('the bed is used before beforeAll ran');
      return dir;
    },
    spawn(args, onEvent = () => {}) {
      const child = fork(workerScript, [...args], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      children.add(child);
      const events: NetlassoEvent[] = [];
      let output = '';
      let partial = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
        partial += d.toString();
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('{')) continue;
          const e = JSON.parse(line) as NetlassoEvent;
          events.push(e);
          onEvent(e);
        }
      });
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<NetlassoExit>((done) =>
        child.once('exit', (code, signal) => {
          children.delete(child);
          done({ code, signal, output, events });
        }),
      );
      return { child, events, exited };
    },
  };
}
