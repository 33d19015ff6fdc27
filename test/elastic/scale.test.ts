import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveRunConfig } from '@gossamer/worker';
import { startTrain } from '../support/runs.js';

// Issue 14: 256 logical workers on this machine must work. 256 D-SGD workers in 4 processes over
// one nats-server, with failure detection on at its default timeout (3 s): every worker finishes and
// nobody is falsely declared gone. Heartbeats go to 4 ring neighbours each (docs/elastic.md "Failure
// detection"), about 1,000 a second in all; all-to-all they were 65,536 a second, which fell behind on
// this 2-core machine even with a 20 s timeout.
describe('scale', () => {
  it('256 logical workers in 4 processes train to the end with no false failure detection', async () => {
    const config = resolveRunConfig({
      algo: 'dsgd',
      topology: 'ring',
      schedule: 'gossip',
      dataset: { kind: 'blobs', samples: 256 * 16, classes: 4, features: 8 },
      model: 'softmax',
      optimizer: { kind: 'sgd', lr: 0.05 },
      batchSize: 8,
      workers: 256,
      processes: 4,
      rounds: 3,
      evalEvery: 0,
      seed: 2,
    });
    const run = startTrain(config, [], undefined, 170_000);
    const { code, stderr } = await run.exited;
    expect(code, stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(readFileSync(join(run.dir, 'run', 'summary.json'), 'utf8')) as { finished: string[]; views: unknown[]; failures: unknown[] };
    expect(summary.finished.length).toBe(256);
    expect(summary.views).toEqual([]);
    expect(summary.failures).toEqual([]);
    expect(run.lines.filter((l) => l.type === 'round').length).toBe(256 * 3);
  }, 180_000);
});
