// `gossamer train --browser-workers K`: the launcher runs the last K workers as worker pages in
// headless Chromium beside its worker processes, in one run. A bad K (or a run pages cannot take
// part in) is refused before anything starts; a good one ends with every worker's checkpoint in
// <run>/workers, equal to the in-process simulation bit for bit (both Dawns run SwiftShader here).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '@gossamer/model';
import { resolveRunConfig, simulateRun } from '@gossamer/worker';
import { runCli, shown } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gossamer-browser-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = resolveRunConfig({
  algo: 'dsgd',
  topology: 'ring',
  schedule: 'gossip',
  dataset: { kind: 'blobs', samples: 240, classes: 3, features: 8 },
  model: 'mlp:12',
  optimizer: { kind: 'adamw', lr: 0.01 },
  batchSize: 16,
  workers: 3,
  rounds: 3,
  localSteps: 2,
  evalEvery: 0,
  seed: 5,
});
const configFile = join(dir, 'run.json');
writeFileSync(configFile, JSON.stringify(config));

async function refused(name: string, args: string[], env: NodeJS.ProcessEnv = process.env, ...parts: string[]) {
  const out = join(dir, name);
  const result = await runCli(['train', '--config', configFile, '--out', out, ...args], { env });
  expect(result.code, shown(result)).toBe(2);
  for (const part of parts) expect(result.stderr, shown(result)).toContain(part);
  expect(existsSync(out), 'nothing was started').toBe(false);
}

describe('gossamer train --browser-workers', () => {
  it('refuses, before starting anything, a K outside 1..workers, --nats, --resume and a missing browser', async () => {
    await refused('too-many', ['--browser-workers', '4'], process.env, '--browser-workers 4', "1 to the run's 3 workers");
    await refused('zero', ['--browser-workers', '0'], process.env, '--browser-workers 0');
    await refused('not-a-number', ['--browser-workers', 'two'], process.env, '--browser-workers two');
    await refused('remote', ['--browser-workers', '1', '--nats', 'nats://127.0.0.1:1'], process.env, 'websocket listener');
    await refused('no-chromium', ['--browser-workers', '1'], { ...process.env, GOSSAMER_CHROMIUM: join(dir, 'no-such-chromium') }, 'no Chromium found', 'no-such-chromium');
    const resumed = await runCli(['train', '--resume', join(dir, 'no-run'), '--browser-workers', '1']);
    expect(resumed.code, shown(resumed)).toBe(2);
    expect(resumed.stderr).toContain('--browser-workers with --resume');
  });

  it('runs 2 worker processes and 1 worker page to the simulation\'s parameters', { timeout: 300_000 }, async () => {
    const out = join(dir, 'mixed');
    const result = await runCli(['train', '--config', configFile, '--out', out, '--quiet', '--browser-workers', '1']);
    expect(result.code, shown(result)).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { finished: string[]; failures: unknown[] };
    expect(summary.finished).toEqual(['w0', 'w1', 'w2']);
    expect(summary.failures).toEqual([]);
    // w2 was the page: its events (the page's states among them) are in the run's metrics.
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => l.type === 'page' && l.worker === 'w2').map((l) => l.state)).toEqual(['loading', 'joining', 'training', 'done']);
    expect(lines.filter((l) => l.type === 'round' && l.worker === 'w2').length).toBe(3);
    expect(lines.some((l) => l.type === 'page' && l.worker !== 'w2')).toBe(false);
    for (const sim of await simulateRun(config)) {
      const got = decodeCheckpoint(readFileSync(join(out, 'workers', `${sim.worker}.ckpt`))).sections.get('params') as Float32Array;
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(sim.params.buffer, sim.params.byteOffset, sim.params.byteLength)), sim.worker).toBe(true);
    }
  });
});
