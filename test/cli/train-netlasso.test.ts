import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, shown } from './cli.js';

// `gossamer train --algo netlasso` as a user runs it: an embedded nats-server, 3 worker processes on
// a generated graph problem, a run directory with every worker's report.
describe('gossamer train --algo netlasso', () => {
  it('solves a small clustered problem over 3 worker processes that agree bit for bit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-nl-cli-'));
    const spec = join(dir, 'problem.json');
    writeFileSync(spec, JSON.stringify({ generator: 'clustered-quadratic', nodes: 24, groups: 3, pIn: 0.5, pOut: 0.05, dim: 2, seed: 3 }));
    const result = await runCli(['train', '--algo', 'netlasso', '--problem', spec, '--workers', '3', '--lambdas', '0,2', '--out', join(dir, 'run')], { timeoutMs: 180_000 });
    expect(result.code, shown(result)).toBe(0);
    expect(result.stdout).toMatch(/identical results on every worker/);
    const summary = JSON.parse(readFileSync(join(dir, 'run', 'summary.json'), 'utf8')) as { workersAgree: boolean; lambdas: { lambda: number; clusters: number }[] };
    expect(summary.workersAgree).toBe(true);
    expect(summary.lambdas.map((l) => l.lambda)).toEqual([0, 2]);
    // λ = 0: every node its own model; a large λ fuses nodes into far fewer clusters.
    expect(summary.lambdas[0].clusters).toBe(24);
    expect(summary.lambdas[1].clusters).toBeLessThan(24);
    const events = readFileSync(join(dir, 'run', 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events.filter((e) => e.type === 'lambda')).toHaveLength(6);
  });

  it('asks for --problem when it is missing', async () => {
    const result = await runCli(['train', '--algo', 'netlasso']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--algo netlasso needs --problem/);
  });
});
