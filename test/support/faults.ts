// The fault tests' shared shape: a `train` run of real worker processes over the embedded
// nats-server, a fault injected once w1 reports a round, and what the survivors must show.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, simulateRun, type RunConfig } from '@gossamer/worker';
import { startTrain } from './runs.js';

// The survivors must show: exit 0, one new view agreed by all of them, their merged models (the
// replicas, for all-reduce SGD and CO2) the same bits, and a model as good as the fault-free run's
// (the in-process simulation, which equals a fault-free multi-process run bit for bit) within a
// stated margin.
export const PEER_TIMEOUT_MS = 3000;
/** Detection (the peer timeout), the agreement (an ack round, bounded by the peer timeout) and slack for a 2-core CI machine. */
export const RECOVERY_BOUND_MS = 2 * PEER_TIMEOUT_MS + 4000;
/** Merged accuracy may trail the fault-free run by this much: a quarter of the data is gone for the rest of the run. */
export const ACCURACY_MARGIN = 0.05;

/** The README's run shape, small: D-SGD on a ring of 4, exact final merge. */
export const dsgd: RunConfig = resolveRunConfig({
  algo: 'dsgd',
  topology: 'ring',
  schedule: 'gossip',
  merge: 'exact',
  dataset: { kind: 'blobs', samples: 1600, classes: 4, features: 8 },
  model: 'mlp:16',
  optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
  batchSize: 16,
  workers: 4,
  rounds: 70,
  localSteps: 2,
  evalEvery: 0,
  consensusEvery: 5,
  seed: 3,
});

/** Runs `train` on `config` and calls `fault(dir)` once worker w1 has reported round `atRound`. */
export async function runWithFault(config: RunConfig, atRound: number, fault: (dir: string) => void, args: string[] = []) {
  let faultAt = 0;
  const run = startTrain(config, ['--peer-timeout', String(PEER_TIMEOUT_MS), ...args], (line, r) => {
    if (faultAt === 0 && line.type === 'round' && line.worker === 'w1' && line.round === atRound) {
      faultAt = Date.now();
      fault(r.dir);
    }
  });
  const { code, stderr } = await run.exited;
  const summary = JSON.parse(readFileSync(join(run.dir, 'run', 'summary.json'), 'utf8')) as Record<string, unknown>;
  return { code, lines: run.lines, summary, dir: run.dir, faultAt, stderr };
}

export async function expectSurvivorsAgree(config: RunConfig, result: Awaited<ReturnType<typeof runWithFault>>, lost: string): Promise<void> {
  const { code, lines, summary, dir, faultAt, stderr } = result;
  expect(code, stderr.slice(-3000)).toBe(0);
  expect(faultAt).toBeGreaterThan(0);
  const survivors = ['w0', 'w1', 'w2', 'w3'].filter((w) => w !== lost);
  // One new view, the same on every survivor, without the lost worker.
  const views = lines.filter((l) => l.type === 'view');
  expect(views.map((v) => v.worker).sort()).toEqual(survivors);
  for (const v of views) {
    expect(v.epoch).toBe(1);
    expect(v.members).toEqual(survivors);
    expect(v.removed).toEqual([lost]);
    expect(v.startRound).toBe(views[0].startRound);
    // No survivor waited longer than detection + agreement (never the 600 s receive timeout).
    expect(Date.parse(v.time) - faultAt).toBeLessThan(RECOVERY_BOUND_MS);
  }
  // Every survivor trained every round (and, with a merge, merged over the survivors).
  for (const w of survivors) expect(lines.filter((l) => l.type === 'round' && l.worker === w).length).toBe(config.rounds);
  const merged = lines.filter((l) => l.type === 'merged');
  if (config.algo === 'dsgd') {
    expect(merged.map((m) => m.worker).sort()).toEqual(survivors);
    for (const m of merged) expect(m.consensusDistance).toBe(0);
  }
  // Exact merge, all-reduce SGD, CO2: identical bits over the survivors.
  const params = survivors.map((w) => decodeCheckpoint(readFileSync(join(dir, 'run', 'workers', `${w}.ckpt`))).sections.get('params') as Float32Array);
  for (const p of params.slice(1)) expect(Buffer.from(p.buffer, p.byteOffset, p.byteLength).equals(Buffer.from(params[0].buffer, params[0].byteOffset, params[0].byteLength))).toBe(true);
  // The summary records the loss, the view and who finished.
  expect(summary.finished).toEqual(survivors);
  expect((summary.views as { epoch: number; removed: string[] }[]).map((v) => [v.epoch, v.removed])).toEqual([[1, [lost]]]);
  expect((summary.failures as { workers: string }[]).map((f) => f.workers)).toEqual([lost]);
  // As good as the fault-free run, within the margin.
  const faultFree = await simulateRun(config);
  expect(faultFree.length).toBe(4);
  const accuracy = (r: { mergedAccuracy?: number; localAccuracy?: number }) => (r.mergedAccuracy ?? r.localAccuracy) as number;
  const done = lines.find((l) => l.type === 'done') as unknown as { mergedAccuracy?: number; localAccuracy?: number };
  expect(accuracy(done)).toBeGreaterThan(accuracy(faultFree[0]) - ACCURACY_MARGIN);
}

/** The parameters each of `workers` ended with (its final checkpoint in the run directory). */
export function finalParamsOf(dir: string, workers: readonly string[]): Float32Array[] {
  return workers.map((w) => decodeCheckpoint(readFileSync(join(dir, 'run', 'workers', `${w}.ckpt`))).sections.get('params') as Float32Array);
}

/** Whether two float32 arrays hold the same bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * A CSV of 800 rows, 4 features, 4 classes, whose class 3 has features ~1e38: with
 * `partition: { kind: 'shards', shardsPerWorker: 1 }` one worker is dealt that class and overflows
 * to Inf/NaN within a few steps (a corrupt shard). Returns its path.
 */
export function corruptShardCsv(): string {
  const csv = join(mkdtempSync(join(tmpdir(), 'gossamer-nan-')), 'data.csv');
  const rows = ['f0,f1,f2,f3,label'];
  for (let i = 0; i < 800; i++) {
    const label = i % 4;
    const scale = label === 3 ? 1e38 : 1;
    rows.push([0, 1, 2, 3].map((j) => (scale * Math.sin(i * 7 + j * 3 + label)).toPrecision(6)).join(',') + `,${label}`);
  }
  writeFileSync(csv, `${rows.join('\n')}\n`);
  return csv;
}
