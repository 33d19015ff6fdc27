import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, type RunConfig } from '@gossamer/worker';
import { bin, finalParams, startTrain } from '../support/runs.js';

// Issue 14 item 4: with --checkpoint-every, every worker writes a checkpoint to resume from; a run
// stopped with Ctrl-C and continued with `train --resume <run>` ends with exactly the parameters
// of the same run left alone, bit for bit: D-SGD (with its exact merge) and CO2, whose all-reduce
// is in flight across the checkpoint.
const base = {
  dataset: { kind: 'blobs', samples: 800, classes: 4, features: 8 },
  model: 'mlp:12',
  optimizer: { kind: 'adamw', lr: 0.01 },
  batchSize: 16,
  workers: 4,
  rounds: 12,
  localSteps: 2,
  evalEvery: 0,
  checkpointEvery: 4,
  seed: 5,
} as const;

/** Runs `config` to the end; returns the run directory. */
async function uninterrupted(config: RunConfig): Promise<string> {
  const run = startTrain(config, []);
  const { code, stderr } = await run.exited;
  expect(code, stderr.slice(-2000)).toBe(0);
  return join(run.dir, 'run');
}

/** Runs `config`, stops it with SIGINT once every worker has started round 9, and resumes it. */
async function interruptedAndResumed(config: RunConfig): Promise<string> {
  const reached = new Set<string>();
  const run = startTrain(config, [], (line, r) => {
    if (line.type === 'round' && line.round === 8 && line.worker) reached.add(line.worker);
    if (reached.size === 4 && !r.child.killed) r.child.kill('SIGINT');
  });
  const stopped = await run.exited;
  expect(stopped.code, stopped.stderr.slice(-2000)).toBe(130);
  const runDir = join(run.dir, 'run');
  expect(existsSync(join(runDir, 'checkpoints', 'round-8', 'w3.ckpt'))).toBe(true);
  const { stdout } = await promisify(execFile)(process.execPath, [bin, 'train', '--resume', runDir], { timeout: 240_000 });
  // Round 8's periodic checkpoint, or the final one of the Ctrl-C (the round the workers agreed to stop at).
  expect(Number(/resuming .* at round (\d+)/.exec(stdout)?.[1])).toBeGreaterThanOrEqual(8);
  return runDir;
}

describe('checkpoints and --resume', () => {
  for (const [name, partial] of [
    ['D-SGD on a ring with the exact merge', { algo: 'dsgd', topology: 'ring', schedule: 'gossip', merge: 'exact' }],
    ['CO2 with its one-round-stale all-reduce in flight at the checkpoint', { algo: 'co2' }],
  ] as const) {
    it(`${name}: stopped with Ctrl-C and resumed, it ends with the uninterrupted run's parameters, bit for bit`, async () => {
      const config = resolveRunConfig({ ...base, ...partial } as Partial<RunConfig>);
      const [reference, resumed] = [await uninterrupted(config), await interruptedAndResumed(config)];
      const want = finalParams(reference);
      const got = finalParams(resumed);
      for (let k = 0; k < 4; k++) expect(got[k].equals(want[k]), `w${k}`).toBe(true);
      // The run really trained across the resume: parameters moved from the round-8 checkpoint.
      const at8 = decodeCheckpoint(readFileSync(join(resumed, 'checkpoints', 'round-8', 'w0.ckpt'))).sections.get('params') as Float32Array;
      expect(Buffer.from(at8.buffer).equals(got[0])).toBe(false);
      const summary = JSON.parse(readFileSync(join(resumed, 'summary.json'), 'utf8')) as { resumedAt: number; finished: string[] };
      expect(summary.finished).toEqual(['w0', 'w1', 'w2', 'w3']);
    });
  }
});
