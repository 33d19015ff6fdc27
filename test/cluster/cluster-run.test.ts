import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, simulateRun } from '@gossamer/worker';
import { startNatsCluster } from '../support/nats-cluster.js';

// Issue 7: a run across a 3-node NATS cluster on loopback, each worker process connected to a
// different node, gives the same result as the in-process simulation (and so as one server: the
// multi-process tests show one server equals it too). Messages between workers cross cluster routes.
const bin = resolve(__dirname, '../../packages/cli/dist/bin.js');

function runWorker(args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, 'worker', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('exit', (code) => (code === 0 ? done() : fail(new Error(`worker ${args.join(' ')} exited with ${code}:\n${stderr}`))));
  });
}

describe('a run across a 3-node NATS cluster', () => {
  it('D-SGD and all-reduce SGD with workers on different nodes equal the simulation', async () => {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run "npx turbo run build" first (npm test does)`);
    const cluster = await startNatsCluster({ nodes: 3 });
    try {
      for (const algo of ['dsgd', 'allreduce'] as const) {
        const dir = mkdtempSync(join(tmpdir(), 'gossamer-cluster-'));
        const config = resolveRunConfig({
          algo,
          dataset: { kind: 'blobs', samples: 360, classes: 3, features: 6 },
          model: 'mlp:8',
          optimizer: { kind: 'sgd', lr: 0.1 },
          batchSize: 12,
          workers: 3,
          rounds: 3,
          localSteps: 2,
          evalEvery: 0,
          seed: 4,
        });
        const configFile = join(dir, 'run.json');
        writeFileSync(configFile, JSON.stringify(config));
        // Worker w_i talks to node i only.
        await Promise.all(
          [0, 1, 2].map((i) => runWorker(['--nats', cluster.urls[i], '--run', `cluster-${algo}`, '--config', configFile, '--id', `w${i}`, '--out', dir])),
        );
        const simulated = await simulateRun(config);
        for (const sim of simulated) {
          const params = decodeCheckpoint(readFileSync(join(dir, `${sim.worker}.ckpt`))).sections.get('params') as Float32Array;
          // The same bits, as over one server (±0 told apart).
          const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
          expect(bits(params), `${algo} ${sim.worker}`).toEqual(bits(sim.params));
        }
        // All-reduce SGD keeps every replica identical; D-SGD on a ring of 3 (complete) mixes them.
        if (algo === 'allreduce') expect(simulated[1].params).toEqual(simulated[0].params);
      }
    } finally {
      await cluster.stop();
    }
    // Each worker process compiles its pipelines on first use: tens of seconds on a busy CPU adapter.
  }, 300_000);
});
