import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, simulateRun, type HostedResult, type RunConfig } from '@gossamer/worker';
import { useGpu } from '../support/gpu.js';

// ALGORITHMS.md §3's identity: in no-staleness mode with β = 0, α = 1, λ = 1 and no clipping, CO2 is
// exactly Local SGD — bit for bit, in the simulator and in real worker processes over a real
// nats-server (with the link throttled, which must change timings only, never values).
const run = promisify(execFile);
const bin = resolve(__dirname, '../../packages/cli/dist/bin.js');

const base: Partial<RunConfig> = {
  dataset: { kind: 'blobs', samples: 480, classes: 3, features: 8 },
  model: 'mlp:12',
  optimizer: { kind: 'adamw', lr: 0.01 },
  batchSize: 16,
  workers: 4,
  rounds: 4,
  localSteps: 3,
  evalEvery: 0,
  seed: 5,
};
const co2AsLocalSgd: Partial<RunConfig> = { algo: 'co2', outer: { alpha: 1, beta: 0, penalty: 'constant:1', clip: 'none', staleness: 'none' } };

function expectSameBits(a: readonly HostedResult[], b: readonly { worker: string; params: Float32Array }[]): void {
  expect(a.map((r) => r.worker)).toEqual(b.map((r) => r.worker));
  a.forEach((r, i) => {
    expect(r.params.length).toBe(b[i].params.length);
    const differing = r.params.filter((v, k) => v !== b[i].params[k]).length;
    expect(differing, `${r.worker}: parameters that differ`).toBe(0);
  });
}

describe('CO2 in the Local SGD limit equals Local SGD exactly', () => {
  // One device for every simulated run of this file: pipelines compile once.
  const gpu = useGpu();

  it('in-process (simulateRun), and it really trained and averaged', async () => {
    const local = await simulateRun(resolveRunConfig({ ...base, algo: 'localsgd' }), { gpu: gpu() });
    const co2 = await simulateRun(resolveRunConfig({ ...base, ...co2AsLocalSgd }), { gpu: gpu() });
    expectSameBits(co2, local);
    // Averaging every round leaves all workers with the same parameters; training moved them.
    expect(local.every((r) => r.params.every((v, k) => v === local[0].params[k]))).toBe(true);
    const none = await simulateRun(resolveRunConfig({ ...base, algo: 'local', workers: 4 }), { gpu: gpu() });
    expect(none[0].params.some((v, k) => v !== none[1].params[k])).toBe(true);
    expect(none[0].params.some((v, k) => v !== local[0].params[k])).toBe(true);
  });

  it('multi-process: `gossamer train --algo co2` (4 workers, 2 processes, nats-server, 100 Mbit/s links) equals the simulated Local SGD', async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npx turbo run build" first (npm test does)`);
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-co2-'));
    const config = resolveRunConfig({ ...base, ...co2AsLocalSgd, processes: 2, bandwidthMbps: 100 });
    const configFile = join(dir, 'run.json');
    writeFileSync(configFile, JSON.stringify(config));
    await run(process.execPath, [bin, 'train', '--config', configFile, '--out', join(dir, 'run'), '--quiet'], { timeout: 240_000 });
    const simulated = await simulateRun(resolveRunConfig({ ...base, algo: 'localsgd' }), { gpu: gpu() });
    const processes = simulated.map((s) => ({
      worker: s.worker,
      params: decodeCheckpoint(readFileSync(join(dir, 'run', 'workers', `${s.worker}.ckpt`))).sections.get('params') as Float32Array,
    }));
    expectSameBits(simulated, processes);
    // The workers reported per-round compute, wait and bytes over the throttled link.
    const rounds = readFileSync(join(dir, 'run', 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; worker?: string; computeMs?: number; waitMs?: number; bytesSent?: number })
      .filter((e) => e.type === 'round' && e.worker === 'w0');
    expect(rounds.length).toBe(4);
    expect(rounds.every((e) => (e.computeMs ?? 0) > 0 && (e.waitMs ?? -1) >= 0 && (e.bytesSent ?? 0) > 0)).toBe(true);
  });

  it('full CO2 (one-round staleness, gap penalty, norm clip φ = 0.05, β = 0.5) over worker processes equals its simulation bit for bit, and the penalty and clip act', async () => {
    const full: Partial<RunConfig> = { algo: 'co2', outer: { alpha: 1, beta: 0.5, penalty: 'gap:1', clip: 'norm:0.05', staleness: 'one-round' } };
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-co2-stale-'));
    const config = resolveRunConfig({ ...base, ...full, processes: 2 });
    const configFile = join(dir, 'run.json');
    writeFileSync(configFile, JSON.stringify(config));
    await run(process.execPath, [bin, 'train', '--config', configFile, '--out', join(dir, 'run'), '--quiet'], { timeout: 240_000 });
    const simulated = await simulateRun(resolveRunConfig({ ...base, ...full }), { gpu: gpu() });
    const processes = simulated.map((s) => ({
      worker: s.worker,
      params: decodeCheckpoint(readFileSync(join(dir, 'run', 'workers', `${s.worker}.ckpt`))).sections.get('params') as Float32Array,
    }));
    expectSameBits(simulated, processes);
    // Every worker applied the same stale averages: they end on the same anchor.
    expect(simulated.every((r) => r.params.every((v, k) => v === simulated[0].params[k]))).toBe(true);
    // The penalty and the clip change the run (they are applied, not parsed and dropped).
    const outer = full.outer as NonNullable<RunConfig['outer']>;
    const noPenalty = await simulateRun(resolveRunConfig({ ...base, ...full, outer: { ...outer, penalty: 'none' } }), { gpu: gpu() });
    const noClip = await simulateRun(resolveRunConfig({ ...base, ...full, outer: { ...outer, clip: 'none' } }), { gpu: gpu() });
    expect(noPenalty[0].params.some((v, k) => v !== simulated[0].params[k])).toBe(true);
    expect(noClip[0].params.some((v, k) => v !== simulated[0].params[k])).toBe(true);
  });
});
