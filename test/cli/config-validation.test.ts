// Everything a run needs is checked by the launcher before it spawns anything: a bad flag or config
// field exits 2 with a message naming the flag (or field) and what it may be, and leaves no run
// directory behind. `gossamer schema` prints the JSON Schema those checks come from.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '@gossamer/worker';
import { runCli, shown } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gossamer-config-validation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `gossamer train` for a 4-worker D-SGD run with `args`; `out` is its (would-be) run directory. */
async function train(name: string, args: string[]) {
  const out = join(dir, name);
  const result = await runCli(['train', '--algo', 'dsgd', '--workers', '4', '--dataset', 'blobs', '--out', out, ...args]);
  return { ...result, out };
}

function expectRefusedBeforeSpawn(result: Awaited<ReturnType<typeof train>>, ...parts: string[]) {
  expect(result.code, shown(result)).toBe(2);
  for (const part of parts) expect(result.stderr, shown(result)).toContain(part);
  expect(result.stderr).toContain('Run "gossamer train --help" for the options.');
  // The launcher creates the run directory right before it spawns the nats-server and workers.
  expect(existsSync(result.out), 'nothing was started').toBe(false);
}

describe('gossamer train refuses a bad run before spawning any worker', () => {
  it('a bad --topology, naming the flag and the topologies there are', async () => {
    expectRefusedBeforeSpawn(await train('bad-topology', ['--topology', 'hypercube']), '--topology hypercube', 'unknown topology', 'ring:N');
    expectRefusedBeforeSpawn(await train('bad-topology-size', ['--topology', 'random-regular:4:9']), '--topology random-regular:4:9', 'd < n');
  });

  it('a bad topology in a config file, naming the file and the field', async () => {
    const config = join(dir, 'bad-topology.json');
    writeFileSync(config, JSON.stringify({ algo: 'dsgd', workers: 4, topology: 'ring:x', dataset: { kind: 'blobs', samples: 200, classes: 2, features: 4 } }));
    const result = await runCli(['train', '--config', config, '--out', join(dir, 'bad-topology-file')]);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(`--config ${config}: run config: topology "ring:x"`);
    expect(existsSync(join(dir, 'bad-topology-file'))).toBe(false);
  });

  it('a NaN, blank or infinite timer or count', async () => {
    expectRefusedBeforeSpawn(await train('nan-timer', ['--peer-timeout', 'NaN']), '--peer-timeout NaN: expected a positive number of milliseconds');
    expectRefusedBeforeSpawn(await train('inf-timer', ['--peer-timeout', 'Infinity']), '--peer-timeout Infinity');
    expectRefusedBeforeSpawn(await train('blank-rounds', ['--rounds', ' ']), '--rounds  : expected a non-negative integer');
    expectRefusedBeforeSpawn(await train('nan-batch', ['--batch', 'NaN']), '--batch NaN: expected a positive integer');
  });

  it('an unknown enum value, with the allowed values', async () => {
    expectRefusedBeforeSpawn(await train('bad-order', ['--order', 'sideways']), '--order sideways: use adapt-then-combine or overlapped');
    expectRefusedBeforeSpawn(await train('bad-staleness', ['--algo', 'co2', '--staleness', 'two-rounds']), '--staleness two-rounds: use one-round or none');
    expectRefusedBeforeSpawn(await train('bad-schedule', ['--schedule', 'sometimes']), '--schedule sometimes', 'unknown schedule', 'final-merge');
    const config = join(dir, 'bad-enum.json');
    writeFileSync(config, JSON.stringify({ algo: 'dsgd', workers: 2, optimizer: { kind: 'lion', lr: 0.1 } }));
    const result = await runCli(['train', '--config', config, '--out', join(dir, 'bad-enum')]);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain('optimizer.kind "lion" is unknown; use sgd, momentum or adamw');
  });

  it('a --dp spec: a bad one says why; a valid one is refused because DP-SGD is not wired in yet', async () => {
    expectRefusedBeforeSpawn(await train('bad-dp', ['--dp', 'clip:1,noise:0']), '--dp clip:1,noise:0: noise must be', 'σ = 0 is no privacy');
    expectRefusedBeforeSpawn(await train('half-dp', ['--dp', 'epsilon:3,clip:1']), '--dp epsilon:3,clip:1: missing delta');
    expectRefusedBeforeSpawn(await train('dp-noise', ['--dp', 'clip:1,noise:1.1']), '--dp clip:1,noise:1.1: DP-SGD is not wired into the training step yet');
    expectRefusedBeforeSpawn(await train('dp-budget', ['--dp', 'epsilon:3,delta:1e-5,clip:1']), 'DP-SGD is not wired into the training step yet');
  });

  it('a missing CSV file, naming the flag and the path (not a bare ENOENT)', async () => {
    const missing = join(dir, 'no-such-data.csv');
    const result = await train('missing-csv', ['--dataset', `csv:${missing}:label`]);
    expectRefusedBeforeSpawn(result, `--dataset csv:${missing}:label`, `CSV file ${missing} does not exist`);
    expect(result.stderr).not.toContain('ENOENT');
  });
});

describe('gossamer schema', () => {
  it('prints a JSON Schema that accepts a real run config and rejects bad ones', async () => {
    const result = await runCli(['schema']);
    expect(result.code, shown(result)).toBe(0);
    const schema = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    const validate = new Ajv2020({ strict: false }).compile(schema);
    // What `gossamer train` writes to <run>/config.json, and a file with only a few fields.
    const real = resolveRunConfig({ algo: 'dsgd', workers: 4, topology: 'torus', schedule: 'final-merge:0.2', partition: { kind: 'dirichlet', alpha: 0.1 }, optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 } });
    expect(validate(JSON.parse(JSON.stringify(real))), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ $schema: './run.schema.json', algo: 'co2', workers: 8, outer: { beta: 0.5 } }), JSON.stringify(validate.errors)).toBe(true);
    for (const bad of [{ workers: 0 }, { algo: 'gossip' }, { batchSize: 1.5 }, { optimizer: { kind: 'lion', lr: 1 } }, { dataset: { kind: 'csv' } }, { wrokers: 4 }, { outer: { beta: 1 } }]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

describe('gossamer train --algo netlasso checks the problem spec before spawning', () => {
  it.each([
    [{ generator: 'clustered-quadratic', nodes: 24, groups: 3, pIn: 1.5, pOut: 0.05, dim: 2, seed: 3 }, 'pIn must be a number in [0, 1], got 1.5'],
    [{ generator: 'clustered-cubic', nodes: 24 }, 'generator "clustered-cubic" is unknown; use clustered-quadratic or clustered-samples'],
    [{ nodesCsv: 'nodes.csv', edgesCsv: 'edges.csv', loss: { kind: 'squared' } }, 'nodesCsv: file nodes.csv does not exist'],
  ])('%j', async (spec, message) => {
    const file = join(dir, `spec-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(spec));
    const out = join(dir, 'netlasso-bad');
    const result = await runCli(['train', '--algo', 'netlasso', '--workers', '2', '--problem', file, '--out', out]);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain(`--problem ${file}: ${message}`);
    expect(existsSync(out), 'nothing was started').toBe(false);
  });

  it('a bad --lambdas', async () => {
    const file = join(dir, 'spec-ok.json');
    writeFileSync(file, JSON.stringify({ generator: 'clustered-quadratic', nodes: 24, groups: 3, pIn: 0.5, pOut: 0.05, dim: 2, seed: 3 }));
    const result = await runCli(['train', '--algo', 'netlasso', '--workers', '2', '--problem', file, '--lambdas', '0,abc', '--out', join(dir, 'netlasso-lambdas')]);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain('--lambdas 0,abc: expected non-negative numbers');
    expect(existsSync(join(dir, 'netlasso-lambdas'))).toBe(false);
  });
});
