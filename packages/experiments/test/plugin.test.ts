// The plugin boundary between @gossamer/cli and this package: `gossamer reproduce` loads
// `reproducePlugin` with a dynamic import (the cli never depends on @gossamer/experiments statically),
// names its reproductions, turns bad input into usage errors, and says what to do without the package.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXPERIMENTS_PACKAGE, loadReproducePlugin } from '@gossamer/cli';
import { reproducePlugin } from '@gossamer/experiments';
import { runCli, shown } from '../../../test/cli/cli.js';

const out = mkdtempSync(join(tmpdir(), 'gossamer-reproduce-plugin-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('gossamer reproduce ↔ @gossamer/experiments', () => {
  it('the cli loads this package as its reproduce plugin', async () => {
    expect(EXPERIMENTS_PACKAGE).toBe('@gossamer/experiments');
    const plugin = await loadReproducePlugin();
    expect(plugin.reproductions).toEqual(['single-merge', 'co2', 'netlasso']);
    expect(reproducePlugin.reproductions).toEqual(plugin.reproductions);
  });

  it('without the package, loading says where it is and how to build it', async () => {
    await expect(loadReproducePlugin('@gossamer/no-such-experiments')).rejects.toThrow(/@gossamer\/no-such-experiments package, which could not be loaded .*npm install && npx turbo run build/);
  });

  it('bad input is a usage error, before any run starts', async () => {
    await expect(reproducePlugin.reproduce('nope', out, { quick: true })).rejects.toThrow(/unknown reproduction "nope": available: single-merge, co2, netlasso/);
  });

  it('the built command: unknown reproductions and bad --bandwidths exit 2 with the help hint', async () => {
    const unknown = await runCli(['reproduce', 'frobnicate', '--out', out]);
    expect(unknown.code, shown(unknown)).toBe(2);
    expect(unknown.stderr).toContain('unknown reproduction "frobnicate": available: single-merge, co2, netlasso');
    expect(unknown.stderr).toContain('Run "gossamer reproduce --help" for the options.');
    const bandwidths = await runCli(['reproduce', 'co2', '--bandwidths', 'x', '--out', out]);
    expect(bandwidths.code, shown(bandwidths)).toBe(2);
    expect(bandwidths.stderr).toContain('--bandwidths x: expected positive Mbit/s values, comma-separated, e.g. --bandwidths 2,8');
    const negative = await runCli(['reproduce', 'co2', '--bandwidths', '2,-1', '--out', out]);
    expect(negative.code, shown(negative)).toBe(2);
    expect(negative.stderr).toContain('--bandwidths 2,-1: expected positive Mbit/s values');
  });
});
