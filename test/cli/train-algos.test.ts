// `gossamer train` for the algorithms the other CLI tests do not drive (dsgd and co2 run in
// test/dsgd and test/co2, local in train-report, netlasso in train-netlasso): each finishes on tiny
// settings over an embedded nats-server and real worker processes, and writes its run directory.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { runCli, shown } from './cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'gossamer-cli-algos-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const tiny = ['--workers', '2', '--processes', '1', '--dataset', 'blobs:240,3,6', '--model', 'softmax', '--optimizer', 'sgd', '--lr', '0.1', '--batch', '12', '--rounds', '3', '--local-steps', '2', '--quiet'];

interface Event {
  type: string;
  worker?: string;
  round?: number;
  [field: string]: unknown;
}

function checkRunDir(dir: string, algo: string): Event[] {
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { algo: string; workers: number };
  expect(config).toMatchObject({ algo, workers: 2 });
  const events = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Event);
  expect(events.filter((e) => e.type === 'done').map((e) => e.worker).sort()).toEqual(['w0', 'w1']);
  expect(new Set(events.filter((e) => e.type === 'round').map((e) => e.round))).toEqual(new Set([0, 1, 2]));
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { workers: number; meanLocalAccuracy: number };
  expect(summary.workers).toBe(2);
  expect(summary.meanLocalAccuracy).toBeGreaterThan(1 / 3); // above chance on 3 separable blobs
  for (const id of ['w0', 'w1']) {
    const params = decodeCheckpoint(readFileSync(join(dir, 'workers', `${id}.ckpt`))).sections.get('params') as Float32Array;
    expect(params.every(Number.isFinite)).toBe(true);
  }
  return events;
}

describe('gossamer train --algo <each> (tiny, 2 workers, real processes)', () => {
  it.each(['allreduce', 'localsgd', 'slowmo'])('%s finishes and writes config, metrics, checkpoints and summary', async (algo) => {
    const dir = join(scratch, algo);
    const result = await runCli(['train', '--algo', algo, ...tiny, '--out', dir], { timeoutMs: 200_000 });
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toMatch(/^done: 2 workers, mean local test accuracy \d+\.\d\d%/m);
    checkRunDir(dir, algo);
  }, 240_000);

  it('dsgd from a YAML config file, flags overriding it', async () => {
    const file = join(scratch, 'run.yaml');
    writeFileSync(
      file,
      ['algo: dsgd', 'workers: 2', 'processes: 1', 'dataset: { kind: blobs, samples: 240, classes: 3, features: 6 }', 'model: softmax',
        'optimizer: { kind: sgd, lr: 0.1 }', 'batchSize: 12', 'rounds: 3', 'localSteps: 2', 'topology: ring', 'schedule: gossip'].join('\n'),
    );
    const dir = join(scratch, 'dsgd-yaml');
    const result = await runCli(['train', '--config', file, '--seed', '7', '--out', dir, '--quiet'], { timeoutMs: 200_000 });
    expect(result.code, shown(result)).toBe(0);
    checkRunDir(dir, 'dsgd');
    // The run directory keeps the resolved config, flags included, so the run can be repeated.
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ seed: 7, topology: 'ring', batchSize: 12 });
    expect(existsSync(join(dir, 'workers', 'w1.ckpt'))).toBe(true);
  }, 240_000);
});
