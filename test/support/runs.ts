// Driving `gossamer train` as a user would, for the fault tests: a real launcher, real worker
// processes, a real embedded nats-server; the test watches the JSON lines and injects faults.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { decodeCheckpoint } from '@gossamer/model';
import type { RunConfig } from '@gossamer/worker';

export const bin = resolve(__dirname, '../../packages/cli/dist/bin.js');

export interface RunLine {
  time: string;
  type: string;
  worker?: string;
  round?: number;
  epoch?: number;
  members?: string[];
  startRound?: number;
  removed?: string[];
  accuracy?: number;
  localAccuracy?: number;
  mergedAccuracy?: number;
  consensusDistance?: number;
}

export interface TrainRun {
  child: ChildProcess;
  /** The run's scratch directory; the run directory is `${dir}/run`. */
  dir: string;
  lines: RunLine[];
  /** Resolves with the exit code (or the signal's name) and the launcher's stderr. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/**
 * Starts `train --config <config> --out <dir>/run --json …args`, calling `onLine` for every event.
 * A run still going after `limitMs` is killed (with its workers), so a hang fails the test with
 * the run's own output rather than the test runner's timeout.
 */
export function startTrain(config: RunConfig, args: readonly string[], onLine: (line: RunLine, run: TrainRun) => void = () => {}, limitMs = 100_000): TrainRun {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npx turbo run build" first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-run-'));
  const configFile = join(dir, 'run.json');
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn(process.execPath, [bin, 'train', '--config', configFile, '--out', join(dir, 'run'), '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const watchdog = setTimeout(() => {
    stderr += `\n[test] the run was still going after ${limitMs} ms; killed. Worker processes left: ${[...workerProcesses(dir).values()].join(' ') || 'none'}\n`;
    for (const pid of workerProcesses(dir).keys()) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
  }, limitMs);
  const run: TrainRun = {
    child,
    dir,
    lines: [],
    exited: new Promise((done) =>
      child.on('close', (code, signal) => {
        clearTimeout(watchdog);
        done({ code, signal, stderr });
      }),
    ),
  };
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    const line = JSON.parse(text) as RunLine;
    run.lines.push(line);
    onLine(line, run);
  });
  return run;
}

/** Worker processes of the run in `dir` still alive: pid → the ids they host. */
export function workerProcesses(dir: string): Map<number, string> {
  const ps = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  const found = new Map<number, string>();
  for (const line of ps.split('\n')) {
    const [pid, stat] = line.trim().split(/\s+/);
    if (!line.includes(`${dir}/run/config.json`) || stat?.startsWith('Z')) continue;
    found.set(Number(pid), /--id (\S+)/.exec(line)?.[1] ?? '');
  }
  return found;
}

/** The pid of the worker process hosting `id` in the run in `dir`. */
export function workerPid(dir: string, id: string): number {
  for (const [pid, ids] of workerProcesses(dir)) if (ids.split(',').includes(id)) return pid;
  throw new Error(`no worker process hosts ${id} in ${dir}`);
}

/** Each worker's final parameters (its `<run>/workers/<id>.ckpt`), as bytes to compare bit for bit. */
export function finalParams(runDir: string, ids: readonly string[] = ['w0', 'w1', 'w2', 'w3']): Buffer[] {
  return ids.map((w) => {
    const p = decodeCheckpoint(readFileSync(join(runDir, 'workers', `${w}.ckpt`))).sections.get('params') as Float32Array;
    return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  });
}
