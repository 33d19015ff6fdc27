import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, shown } from './cli.js';

/** Command names from the "Commands:" section of `gossamer --help`. */
function commandNames(help: string): string[] {
  const section = help.split('\nCommands:\n')[1] ?? '';
  return section
    .split('\n')
    .map((line) => /^ {2}(\S+)\s/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
}

describe('gossamer --help', async () => {
  const main = await runCli(['--help']);
  const names = commandNames(main.stdout);

  it('lists every command and exits 0', () => {
    expect(main.code, shown(main)).toBe(0);
    expect(main.stdout).toMatch(/^gossamer — /);
    expect(names).toEqual(expect.arrayContaining(['train', 'report', 'doctor', 'selfcheck', 'bench']));
  });

  it('exits 2 with the command list for an unknown command', async () => {
    const result = await runCli(['frobnicate']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain('unknown command "frobnicate"');
    expect(result.stderr).toContain('Commands:');
  });

  it.each(names)('%s --help prints its usage and options and exits 0', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^gossamer ${name} — \\S`));
    expect(result.stdout).toContain(`Usage: gossamer ${name} `);
    expect(result.stdout).toContain('--help, -h');
    expect(result.stderr).toBe('');
  });

  it.each(names)('%s with an unknown flag exits 2 with the --help hint', async (name) => {
    const result = await runCli([name, '--no-such-flag']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain("Unknown option '--no-such-flag'");
    expect(result.stderr).toContain(`Run "gossamer ${name} --help" for the options.`);
    expect(result.stdout).toBe('');
  });

  it.each(names)('%s takes the logging flags', async (name) => {
    const result = await runCli([name, '--help']);
    expect(result.stdout).toMatch(/--log-format <value> +log lines on stderr as text or json/);
    expect(result.stdout).toMatch(/--log-level <value> +debug \| info \| warn \| error/);
  });

  it('rejects an unknown log level or format with the fix and exit 2', async () => {
    const level = await runCli(['report', 'x', '--log-level', 'loud']);
    expect(level.code, shown(level)).toBe(2);
    expect(level.stderr).toMatch(/--log-level loud: use debug, info, warn, error/);
    const format = await runCli(['doctor', '--log-format', 'xml']);
    expect(format.code, shown(format)).toBe(2);
    expect(format.stderr).toMatch(/--log-format xml: use text, json/);
  });

  it('with --log-format json a failing command reports its error as one JSON record on stderr', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gossamer-cli-json-error-'));
    const result = await runCli(['train', '--model', 'nonsense', '--log-format', 'json', '--out', out]);
    rmSync(out, { recursive: true, force: true });
    expect(result.code, shown(result)).not.toBe(0);
    const records = result.stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; fields: Record<string, unknown> });
    expect(records.find((r) => r.level === 'error'), shown(result)).toMatchObject({ msg: expect.stringMatching(/--model nonsense: unknown model/), fields: { command: 'train' } });
  });
});
