// `gossamer report` on a multi-worker run (the events the distributed algorithms emit), and on
// directories that are not runs.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byClass, legendLabels, linePaths, parseSvg, texts } from '../../packages/plot/test/svg-dom.js';
import { multiWorkerEvents, ROUNDS, toJsonLines, WORKERS } from '../../packages/cli/test/fixtures.js';
import { runCli, shown } from './cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'gossamer-cli-report-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('gossamer report', () => {
  it('plots per-worker round metrics with the merged model and summarises them (--json)', async () => {
    const dir = join(scratch, 'dsgd');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ algo: 'dsgd', workers: WORKERS.length, topology: 'ring' }));
    writeFileSync(join(dir, 'metrics.jsonl'), toJsonLines(multiWorkerEvents()));
    const result = await runCli(['report', dir, '--json']);
    expect(result.code, shown(result)).toBe(0);
    const summary = JSON.parse(result.stdout) as { plots: { path: string; panels: string[]; series: string[] }[]; report: string; warnings: string[] };
    expect(summary.plots).toEqual([
      {
        title: '"round" events: metrics vs round, per worker',
        path: 'plots/round.svg',
        panels: ['loss', 'accuracy', 'consensus distance', 'bytes sent', 'bytes received', 'compute (ms)', 'comm (ms)'],
        series: [...WORKERS, 'merged'],
      },
    ]);
    expect(summary.warnings).toEqual([]);

    const svg = parseSvg(readFileSync(join(dir, 'plots/round.svg'), 'utf8'));
    const titles = byClass(svg, 'role-title-text').flatMap(texts);
    expect(titles).toEqual(expect.arrayContaining(['consensus distance', 'bytes sent', 'bytes received', 'accuracy']));
    expect(legendLabels(svg)).toEqual([...WORKERS, 'merged']);
    const merged = linePaths(svg).filter((p) => p.series === 'merged');
    expect(merged).toHaveLength(1);
    expect(merged[0].dash).toBe('6,4');
    expect((merged[0].d.match(/L/g) ?? []).length).toBe(ROUNDS - 1);

    const md = readFileSync(summary.report, 'utf8');
    expect(md).toContain('| topology | ring |');
    expect(md).toContain('Last `round` event of each worker:');
    expect(md).toContain('![\"round\" events: metrics vs round, per worker](plots/round.svg)');
  });

  it('explains a missing directory and an empty one, exiting 1', async () => {
    const missing = await runCli(['report', join(scratch, 'no-such-run')]);
    expect(missing.code, shown(missing)).toBe(1);
    expect(missing.stderr).toMatch(/^error: run directory .*no-such-run does not exist\. Pass the directory a run wrote: `gossamer train --out <dir>`/);

    const emptyDir = join(scratch, 'empty');
    mkdirSync(emptyDir);
    const empty = await runCli(['report', emptyDir]);
    expect(empty.code, shown(empty)).toBe(1);
    expect(empty.stderr).toContain(`run directory ${emptyDir} is empty: train into it first, e.g. \`gossamer train --out ${emptyDir}\``);
    expect(empty.stdout).toBe('');
  });

  it('asks for the run directory when none is given, exiting 2', async () => {
    const result = await runCli(['report']);
    expect(result.code, shown(result)).toBe(2);
    expect(result.stderr).toContain('which run? Give its directory');
    expect(result.stderr).toContain('Run "gossamer report --help" for the options.');
  });
});
