// The host test bed (infra/hostbed/hostbed.mjs) for vitest: network namespaces as hosts, a NATS node
// on each, and `gossamer worker` / `netlasso-worker` processes on them, whose JSON lines the test reads.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, expect } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import type { RunConfig } from '@gossamer/worker';
import { startHostBed, type HostBed } from '../../infra/hostbed/hostbed.mjs';
import { bin, type RunLine } from './runs.js';

export { type HostBed };

/**
 * A bed of `hosts` hosts for the tests of one file: made in beforeAll; in afterAll stopped and
 * checked to have left nothing behind (also when a test failed; a crash is caught by the bed's
 * process-exit hook and, failing that, swept by the next bed).
 */
export function useHostBed(hosts: number): () => HostBed {
  let bed: HostBed | undefined;
  beforeAll(async () => {
    bed = await startHostBed({ hosts });
  });
  afterAll(async () => {
    if (!bed) return;
    await bed.stop();
    expect(bed.leftovers()).toEqual([]);
  });
  return () => {
    if (!bed) throw new Error('useHostBed: the bed is not up (call inside a test)');
    return bed;
  };
}

export interface HostWorker {
  host: number;
  child: ChildProcess;
  /** Its JSON lines so far. */
  lines: RunLine[];
  /** Where it writes <id>.ckpt (--out): one directory per process, so a fenced one's is told apart. */
  out: string;
  /** Resolves with its exit and everything it printed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

export interface WorkerSpec {
  runId: string;
  configFile: string;
  /** The ids it hosts, e.g. 'w2'. */
  id: string;
  peerTimeoutMs: number;
  join?: boolean;
  /** Killed after this long, so a hang fails with the worker's output (default 240 s). */
  limitMs?: number;
  onLine?: (line: RunLine) => void;
}

/** Starts `gossamer worker` on host i, connected to its own node with the others as fallbacks. */
export function startHostWorker(bed: HostBed, host: number, spec: WorkerSpec, scratch: string): HostWorker {
  const out = mkdtempSync(join(scratch, `${spec.id}-`));
  const args = ['worker', '--config', spec.configFile, '--id', spec.id, '--out', out];
  if (spec.join) args.push('--join');
  return { ...startHostCommand(bed, host, args, spec), out };
}

/**
 * Runs `gossamer <args>` on host i with the NATS flags of a worker there (its node first, the others
 * as fallbacks, --prefer-first-server), reading its JSON lines; killed after `limitMs`.
 */
export function startHostCommand(bed: HostBed, host: number, args: readonly string[], spec: Pick<WorkerSpec, 'runId' | 'peerTimeoutMs' | 'limitMs' | 'onLine'>): Omit<HostWorker, 'out'> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npx turbo run build" first (npm test does)`);
  const nats = ['--nats', bed.natsUrls(host).join(','), '--prefer-first-server', '--run', spec.runId, '--peer-timeout', String(spec.peerTimeoutMs)];
  const child = bed.exec(host, process.execPath, [bin, ...args, ...nats]);
  let output = '';
  const lines: RunLine[] = [];
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    output += `${text}\n`;
    if (!text.startsWith('{')) return;
    const line = JSON.parse(text) as RunLine;
    lines.push(line);
    spec.onLine?.(line);
  });
  const limitMs = spec.limitMs ?? 240_000;
  const watchdog = setTimeout(() => {
    output += `\n[test] ${args.join(' ')} on host ${host} still running after ${limitMs} ms: killed\n`;
    child.kill('SIGKILL');
  }, limitMs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((done) =>
    child.once('close', (code, signal) => {
      clearTimeout(watchdog);
      done({ code, signal, output });
    }),
  );
  return { host, child, lines, exited };
}

/** A scratch directory with the run config in it; remove() deletes it. */
export function runScratch(config: RunConfig): { dir: string; configFile: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-hosts-'));
  const configFile = join(dir, 'run.json');
  writeFileSync(configFile, JSON.stringify(config));
  return { dir, configFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The final parameters a worker process wrote (--out/<id>.ckpt), as bytes. */
export function finalParams(worker: HostWorker, id: string): Buffer {
  const p = decodeCheckpoint(readFileSync(join(worker.out, `${id}.ckpt`))).sections.get('params') as Float32Array;
  return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves once `check` holds (polled every 50 ms); rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(50);
  }
}
