// Chaos benchmark (issue 14 item 7): a D-SGD run of real worker processes over a real nats-server,
// during which a seeded driver kills workers (SIGKILL), freezes them past the failure-detection
// timeout (SIGSTOP, then SIGCONT: they find themselves fenced and exit), restarts the nats-server,
// and brings every failed worker back with `worker --join`. It measures what elasticity costs:
// detection time, time until the worker is back in the run, rounds lost, and the final accuracy
// against the same run without faults (the in-process simulation, which a fault-free multi-process
// run equals bit for bit).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { createRng } from '@gossamer/topology';
import { startNatsServer } from '@gossamer/transport';
import { resolveRunConfig, simulateRun, type RunConfig } from '@gossamer/worker';
import type { BenchResult } from './types.js';
import { percent } from '../format.js';

export interface ChaosBenchOptions {
  workers?: number;
  rounds?: number;
  /** Seeds the driver (which fault, which worker, when). */
  seed?: number;
  /** Mean time between faults, ms. */
  faultEveryMs?: number;
  /** Stop injecting after this many faults (default: no limit but the run's first 60% of rounds). */
  maxFaults?: number;
  peerTimeoutMs?: number;
  adapter?: string;
  /** Fault kinds in turn instead of drawn (a short run that must see each kind). */
  pattern?: readonly FaultKind[];
}

export type FaultKind = 'kill' | 'freeze' | 'server-restart';

export interface InjectedFault {
  kind: FaultKind;
  worker?: string;
  atMs: number;
  /** Fault → the first view without the worker (kill, freeze). */
  detectionMs?: number;
  /** Fault → the view that has the worker back (after its restart with --join). */
  recoveryMs?: number;
}

export interface ChaosSummary {
  workers: number;
  rounds: number;
  faults: InjectedFault[];
  /** Faults whose worker was removed and came back (kill, freeze), or that removed nobody (server restarts). */
  survived: number;
  viewChanges: number;
  /** Rounds the workers did not train (Σ over workers of rounds − rounds reported). */
  roundsLost: number;
  completed: boolean;
  mergedAccuracy?: number;
  faultFreeAccuracy?: number;
  seconds: number;
}

interface Line {
  time: string;
  type: string;
  worker?: string;
  round?: number;
  epoch?: number;
  removed?: string[];
  added?: string[];
  accuracy?: number;
}

/** The p-quantile with linear interpolation (p = 0.5: the median; 1: the maximum). */
const percentile = (values: number[], p: number): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  return sorted[lo] + (sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]) * (at - lo);
};

export async function runChaos(options: ChaosBenchOptions = {}): Promise<ChaosSummary> {
  const n = options.workers ?? 16;
  const peerTimeoutMs = options.peerTimeoutMs ?? 2000;
  const draw = createRng(options.seed ?? 1);
  const random = () => draw.float();
  const config: RunConfig = resolveRunConfig({
    algo: 'dsgd',
    topology: 'ring',
    schedule: 'gossip',
    merge: 'exact',
    dataset: { kind: 'blobs', samples: 200 * n, classes: 4, features: 8 },
    model: 'mlp:8',
    optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
    batchSize: 16,
    workers: n,
    rounds: options.rounds ?? 400,
    localSteps: 2,
    evalEvery: 0,
    seed: options.seed ?? 1,
  });
  const rounds = config.rounds as number;
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-chaos-'));
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const server = await startNatsServer();
  const runId = randomBytes(6).toString('hex');
  const bin = fileURLToPath(new URL('../bin.js', import.meta.url));
  const t0 = Date.now();
  const lines: (Line & { at: number })[] = [];
  const processes = new Map<string, ChildProcess>();
  const exits: Promise<void>[] = [];
  let finishing = false;
  const faults: InjectedFault[] = [];

  const launch = (id: string, joining: boolean): void => {
    const args = [bin, 'worker', '--nats', server.url, '--run', runId, '--config', configFile, '--id', id, '--out', join(dir, 'workers'), '--peer-timeout', String(peerTimeoutMs)];
    if (options.adapter) args.push('--adapter', options.adapter);
    if (joining) args.push('--join');
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    processes.set(id, child);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      const line = JSON.parse(text) as Line;
      lines.push({ ...line, at: Date.parse(line.time) - t0 });
    });
    exits.push(
      new Promise((resolve) =>
        child.on('close', (code) => {
          if (processes.get(id) === child) processes.delete(id);
          // A crashed or fenced worker comes back, as a user restarting it would do.
          if (code !== 0 && !finishing) setTimeout(() => !finishing && launch(id, true), 500);
          resolve();
        }),
      ),
    );
  };
  const down = new Set<string>();
  for (let i = 0; i < n; i++) launch(`w${i}`, false);

  const progress = () => Math.max(0, ...lines.filter((l) => l.type === 'round').map((l) => l.round ?? 0)) / rounds;
  const viewsWithout = (w: string, after: number) => lines.filter((l) => l.type === 'view' && l.at >= after && l.removed?.includes(w));
  const viewsWith = (w: string, after: number) => lines.filter((l) => l.type === 'view' && l.at >= after && l.added?.includes(w));
  try {
    // Faults while training is under way; the last 40% of the rounds let every worker come back.
    while (!lines.some((l) => l.type === 'merged')) {
      await new Promise((resolve) => setTimeout(resolve, (options.faultEveryMs ?? 3000) * (0.5 + random())));
      const started = lines.some((l) => l.type === 'round');
      if (!started || progress() > 0.6 || (options.maxFaults !== undefined && faults.length >= options.maxFaults)) continue;
      // Workers whose fault has not yet been followed by their return to the run.
      for (const w of [...down]) {
        const f = faults.filter((x) => x.worker === w).at(-1) as InjectedFault;
        if (viewsWith(w, f.atMs).length > 0) down.delete(w);
      }
      const candidates = [...processes.keys()].filter((w) => !down.has(w));
      // Never more than a minority down at once: the survivors must keep a quorum.
      const canFail = down.size + 1 < n / 2 && candidates.length > 0;
      const drawn = random();
      const kind: FaultKind = options.pattern ? options.pattern[faults.length % options.pattern.length] : drawn < 0.2 ? 'server-restart' : drawn < 0.65 ? 'kill' : 'freeze';
      const at = Date.now() - t0;
      if (kind !== 'server-restart' && !canFail) continue;
      if (kind === 'server-restart') {
        faults.push({ kind: 'server-restart', atMs: at });
        await server.kill();
        await server.restart();
        continue;
      }
      const worker = candidates[Math.floor(random() * candidates.length)];
      const child = processes.get(worker) as ChildProcess;
      down.add(worker);
      if (kind === 'kill') {
        faults.push({ kind: 'kill', worker, atMs: at });
        child.kill('SIGKILL');
      } else {
        faults.push({ kind: 'freeze', worker, atMs: at });
        child.kill('SIGSTOP');
        setTimeout(() => child.kill('SIGCONT'), 2 * peerTimeoutMs + 1000);
      }
    }
    // The run merged: the others finish within moments; a joiner still waiting to be added is stopped.
    finishing = true;
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 20_000))]);
  } finally {
    finishing = true;
    for (const child of processes.values()) child.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }

  for (const f of faults) {
    if (f.worker === undefined) continue;
    const removed = viewsWithout(f.worker, f.atMs)[0];
    if (removed) f.detectionMs = removed.at - f.atMs;
    const back = viewsWith(f.worker, f.atMs)[0];
    if (back) f.recoveryMs = back.at - f.atMs;
  }
  const serverRestartsHarmless = faults.filter((f) => f.kind === 'server-restart').length;
  const survived = faults.filter((f) => f.recoveryMs !== undefined).length + serverRestartsHarmless;
  const trained = new Map<string, Set<number>>();
  for (const l of lines) if (l.type === 'round' && l.worker) (trained.get(l.worker) ?? trained.set(l.worker, new Set()).get(l.worker)!).add(l.round ?? 0);
  const roundsLost = Array.from({ length: n }, (_, i) => rounds - (trained.get(`w${i}`)?.size ?? 0)).reduce((a, b) => a + b, 0);
  const merged = lines.find((l) => l.type === 'merged');
  const faultFree = await simulateRun(config);
  return {
    workers: n,
    rounds,
    faults,
    survived,
    viewChanges: new Set(lines.filter((l) => l.type === 'view').map((l) => l.epoch)).size,
    roundsLost,
    completed: merged !== undefined,
    mergedAccuracy: merged?.accuracy,
    faultFreeAccuracy: faultFree[0].mergedAccuracy,
    seconds: (Date.now() - t0) / 1000,
  };
}

export async function benchChaos(options: ChaosBenchOptions = {}): Promise<BenchResult> {
  const s = await runChaos(options);
  const detection = s.faults.map((f) => f.detectionMs).filter((v): v is number => v !== undefined);
  const recovery = s.faults.map((f) => f.recoveryMs).filter((v): v is number => v !== undefined);
  const count = (kind: FaultKind) => s.faults.filter((f) => f.kind === kind).length;
  const ms = (v: number | undefined) => (v === undefined ? '–' : Math.round(v));
  return {
    name: 'chaos',
    columns: ['measure', 'value'],
    rows: [
      ['workers × rounds', `${s.workers} × ${s.rounds}`],
      ['faults injected (kill / freeze / server restart)', `${s.faults.length} (${count('kill')} / ${count('freeze')} / ${count('server-restart')})`],
      ['faults survived', s.survived],
      ['view changes', s.viewChanges],
      ['detection ms (median / max)', `${ms(percentile(detection, 0.5))} / ${ms(percentile(detection, 1))}`],
      ['back in the run ms (median / max)', `${ms(percentile(recovery, 0.5))} / ${ms(percentile(recovery, 1))}`],
      ['rounds lost (Σ over workers)', s.roundsLost],
      ['run completed', s.completed ? 'yes' : 'NO'],
      ['merged accuracy / fault-free', `${percent(s.mergedAccuracy)} / ${percent(s.faultFreeAccuracy)}`],
      ['seconds', Math.round(s.seconds)],
    ],
    notes: [
      'D-SGD on a ring with the exact merge; every worker its own process; faults from a seeded driver during the first 60% of the rounds, at most a minority down at once',
      'a killed or fenced (frozen, then woken) worker is restarted with `worker --join` 0.5 s after it exits; a server restart is kill -9 and a restart on the same port',
      'detection: fault → the first view without the worker; back: fault → the view that adds it again; the fault-free accuracy is the in-process simulation of the same run',
    ],
    json: s,
  };
}
