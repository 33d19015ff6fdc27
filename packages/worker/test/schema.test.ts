import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveRunConfig } from '../src/config.js';
import { checkRunConfigFiles } from '../src/config-file.js';
import { RunConfigError, runConfigJsonSchema } from '../src/schema.js';

/** The RunConfigError resolveRunConfig throws for `partial`. */
function errorOf(partial: Record<string, unknown>): RunConfigError {
  try {
    resolveRunConfig(partial);
  } catch (e) {
    if (e instanceof RunConfigError) return e;
    throw e;
  }
  throw new Error(`accepted ${JSON.stringify(partial)}`);
}

describe('runConfigSchema', () => {
  it.each([
    [{ workers: 0 }, 'workers', 'workers must be a positive integer, got 0'],
    [{ workers: '4' }, 'workers', 'workers must be a positive integer, got "4"'],
    [{ rounds: Number.NaN }, 'rounds', 'rounds must be a non-negative integer, got NaN'],
    [{ algo: 'gossip' }, 'algo', 'algo "gossip" is unknown; use local, dsgd, allreduce, co2, localsgd or slowmo'],
    [{ order: 'sideways' }, 'order', 'order "sideways" is unknown; use adapt-then-combine or overlapped'],
    [{ topology: 'hypercube', workers: 4 }, 'topology', 'unknown topology "hypercube:4"'],
    [{ topology: 'random-regular:4:9' }, 'topology', 'topology "random-regular:4:9": randomRegular: degree d = 9 needs d < n'],
    [{ schedule: 'sometimes' }, 'schedule', 'unknown schedule "sometimes"'],
    [{ merge: 'average' }, 'merge', 'merge "average": use none, exact or gossip:K'],
    [{ model: 'transformer' }, 'model', '--model transformer: unknown model'],
    [{ dataset: { kind: 'mp3' } }, 'dataset.kind', 'dataset.kind "mp3" is unknown; use mnist, blobs or csv'],
    [{ dataset: { kind: 'blobs', samples: 0, classes: 2, features: 2 } }, 'dataset.samples', 'dataset.samples must be a positive integer, got 0'],
    [{ partition: { kind: 'dirichlet', alpha: -1 } }, 'partition.alpha', 'partition.alpha must be a positive number, got -1'],
    [{ optimizer: { kind: 'sgd', lr: -1 } }, 'optimizer.lr', 'optimizer.lr must be a non-negative number, got -1'],
    [{ outer: { beta: 1 } }, 'outer.beta', 'outer.beta must be in [0, 1), got 1'],
    [{ outer: { penalty: 'huge' } }, 'outer.penalty', 'outer.penalty: penalty "huge"'],
    [{ outer: { betta: 0.1 } }, 'outer', 'outer.betta is an unknown field (known: alpha, beta,'],
    [{ wrokers: 4 }, '', 'wrokers is an unknown field (known: algo, workers,'],
    [{ processes: 3, workers: 2 }, 'processes', 'processes (3) > workers (2)'],
    [{ bandwidthMbps: 0 }, 'bandwidthMbps', 'bandwidthMbps must be a positive number, got 0'],
  ])('%j: names %s', (partial, field, message) => {
    const e = errorOf(partial);
    expect(e.field).toBe(field);
    expect(e.message).toContain(`run config: ${message}`);
  });

  it('accepts the defaults, every algorithm and the topologies the run builds', () => {
    for (const algo of ['local', 'dsgd', 'allreduce', 'co2', 'localsgd', 'slowmo'] as const) expect(resolveRunConfig({ algo, workers: 4 }).algo).toBe(algo);
    for (const topology of ['ring', 'torus', 'exponential', 'one-peer-exponential', 'complete', 'random-regular:8:3', 'erdos-renyi:8:0.9', 'push-sum:8:random']) {
      expect(resolveRunConfig({ algo: 'dsgd', workers: 8, topology }).topology).toBe(topology);
    }
  });

  it('exports a JSON Schema with every field and its allowed values', () => {
    const schema = runConfigJsonSchema() as { properties: Record<string, { enum?: string[]; type?: string; minimum?: number }>; additionalProperties?: boolean };
    expect(schema.properties.algo.enum).toEqual(['local', 'dsgd', 'allreduce', 'co2', 'localsgd', 'slowmo']);
    expect(schema.properties.workers).toMatchObject({ type: 'integer', minimum: 1 });
    expect(schema.additionalProperties).toBe(false);
  });
});

describe('checkRunConfigFiles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gossamer-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the field and the path of a missing CSV dataset', () => {
    const config = resolveRunConfig({ dataset: { kind: 'csv', path: 'nope.csv', label: -1 } });
    expect(() => checkRunConfigFiles(config, dir)).toThrow(`run config: dataset.path: CSV file nope.csv does not exist (looked for ${join(dir, 'nope.csv')})`);
    writeFileSync(join(dir, 'nope.csv'), 'a,label\n1,0\n');
    expect(() => checkRunConfigFiles(config, dir)).not.toThrow();
  });
});
