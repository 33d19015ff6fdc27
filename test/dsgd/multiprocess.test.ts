import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, simulateRun, type RunConfig } from '@gossamer/worker';

// The property (a): a run of real worker processes over a real nats-server equals the
// in-process simulation with the same seeds, parameter by parameter. Both run the same kernels on the
// same kind of adapter and mix in a canonical order, so the parameters are the same bits.
const run = promisify(execFile);
const bin = resolve(__dirname, '../../packages/cli/dist/bin.js');

async function compare(partial: Partial<RunConfig>): Promise<void> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npx turbo run build" first (npm test does)`);
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-mp-'));
  const config = resolveRunConfig({
    dataset: { kind: 'blobs', samples: 480, classes: 3, features: 8 },
    model: 'mlp:12',
    optimizer: { kind: 'adamw', lr: 0.01 },
    batchSize: 16,
    workers: 4,
    processes: 2,
    rounds: 4,
    localSteps: 2,
    evalEvery: 0,
    seed: 11,
    ...partial,
  });
  const configFile = join(dir, 'run.json');
  writeFileSync(configFile, JSON.stringify(config));
  await run(process.execPath, [bin, 'train', '--config', configFile, '--out', join(dir, 'run'), '--quiet'], { timeout: 240_000 });
  const simulated = await simulateRun(config);
  for (const sim of simulated) {
    const ckpt = decodeCheckpoint(readFileSync(join(dir, 'run', 'workers', `${sim.worker}.ckpt`)));
    const params = ckpt.sections.get('params') as Float32Array;
    expect(params.length).toBe(sim.params.length);
    // The same bits (±0 and NaN payloads told apart): float32 arithmetic in the same order on both sides.
    const bits = (a: Float32Array): Uint32Array => new Uint32Array(a.buffer, a.byteOffset, a.length);
    const [got, want] = [bits(params), bits(sim.params)];
    let first = -1;
    for (let i = 0; i < got.length && first < 0; i++) if (got[i] !== want[i]) first = i;
    expect(first, first >= 0 ? `${sim.worker} parameter ${first}: ${params[first]} vs simulated ${sim.params[first]}` : '').toBe(-1);
  }
  // The workers really trained and communicated: parameters moved and differ between workers.
  expect(simulated[0].params.some((v, i) => v !== simulated[1].params[i])).toBe(partial.schedule === 'final-merge:0.5' ? false : true);
}

describe('multi-process D-SGD over nats-server equals the in-process simulation', () => {
  it('ring gossip, adapt-then-combine, 4 workers in 2 processes', async () => {
    await compare({ algo: 'dsgd', topology: 'ring', schedule: 'gossip' });
  });

  it('overlapped D-PSGD on the one-peer exponential graph, and random pairwise gossip + exact final merge', async () => {
    await compare({ algo: 'dsgd', topology: 'one-peer-exponential', schedule: 'gossip', order: 'overlapped' });
    await compare({ algo: 'dsgd', schedule: 'final-merge:0.5', partition: { kind: 'dirichlet', alpha: 0.5 } });
  });
});
