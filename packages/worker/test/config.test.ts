import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { augmentOf, lrScheduleOf, resolveRunConfig } from '../src/config.js';
import { loadRunConfig } from '../src/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'gossamer-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('loadRunConfig', () => {
  const settings = {
    algo: 'dsgd',
    workers: 8,
    topology: 'torus',
    schedule: 'final-merge:0.2',
    dataset: { kind: 'mnist' },
    partition: { kind: 'dirichlet', alpha: 0.1 },
    optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
    localSteps: 5,
  };

  it('reads a YAML file (.yaml or .yml) into the same config as the equivalent JSON', async () => {
    const yaml = [
      '# a D-SGD run',
      'algo: dsgd',
      'workers: 8',
      'topology: torus',
      "schedule: 'final-merge:0.2'",
      'dataset: { kind: mnist }',
      'partition:',
      '  kind: dirichlet',
      '  alpha: 0.1',
      'optimizer: { kind: momentum, lr: 0.05, momentum: 0.9 }',
      'localSteps: 5',
    ].join('\n');
    const fromJson = await loadRunConfig(file('run.json', JSON.stringify(settings)));
    expect(await loadRunConfig(file('run.yaml', yaml))).toEqual(fromJson);
    expect(await loadRunConfig(file('run.yml', yaml))).toEqual(fromJson);
    expect(resolveRunConfig(await loadRunConfig(join(dir, 'run.yaml')))).toEqual(resolveRunConfig(fromJson));
  });

  it('says which file is broken and in which format', async () => {
    await expect(loadRunConfig(file('bad.yaml', 'algo: [dsgd\n'))).rejects.toThrow(/bad\.yaml is not valid YAML/);
    await expect(loadRunConfig(file('bad.json', '{"algo": '))).rejects.toThrow(/bad\.json is not valid JSON/);
    await expect(loadRunConfig(file('list.yaml', '- algo: dsgd\n'))).rejects.toThrow(/must hold one object of run settings.*not a list/);
    await expect(loadRunConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/cannot read config file .*missing\.yaml/);
  });
});

describe('lrSchedule', () => {
  it('constant (default) or cosine[:warm-up steps] over the run; anything else is rejected with the field named', () => {
    expect(lrScheduleOf(undefined, 100)).toEqual({ kind: 'constant' });
    expect(lrScheduleOf('cosine', 100)).toEqual({ kind: 'cosine', totalSteps: 100, warmupSteps: 0 });
    expect(lrScheduleOf('cosine:10', 100)).toEqual({ kind: 'cosine', totalSteps: 100, warmupSteps: 10 });
    expect(() => lrScheduleOf('cosine:100', 100)).toThrow(/lrSchedule cosine:100: .*warmupSteps.*the run has 100 steps/);
    expect(() => resolveRunConfig({ lrSchedule: 'linear' })).toThrow(/run config: lrSchedule must be constant or cosine/);
    expect(resolveRunConfig({ lrSchedule: 'cosine:5' }).lrSchedule).toBe('cosine:5');
  });
});

describe('augment', () => {
  it('none (default) or shift:<pixels>; anything else is rejected with the field named', () => {
    expect(augmentOf(undefined)).toBeUndefined();
    expect(augmentOf('none')).toBeUndefined();
    expect(augmentOf('shift:2')).toEqual({ maxShift: 2 });
    expect(() => resolveRunConfig({ augment: 'shift' })).toThrow(/run config: augment must be none or shift:<max pixels> \(e.g. shift:2\), got "shift"/);
    expect(() => resolveRunConfig({ augment: 'rotate:10' })).toThrow(/augment must be none or shift/);
    expect(resolveRunConfig({ augment: 'shift:3' }).augment).toBe('shift:3');
  });
});

describe('resolveRunConfig: push-sum', () => {
  it("refuses order overlapped with a push-sum topology (before any process starts), accepts adapt-then-combine", () => {
    expect(() => resolveRunConfig({ topology: 'push-sum:8:random', order: 'overlapped' })).toThrow(/order overlapped is not defined for push-sum/);
    expect(resolveRunConfig({ topology: 'push-sum:8:random', order: 'adapt-then-combine' }).order).toBe('adapt-then-combine');
    expect(resolveRunConfig({ topology: 'ring', order: 'overlapped' }).order).toBe('overlapped');
  });
});
