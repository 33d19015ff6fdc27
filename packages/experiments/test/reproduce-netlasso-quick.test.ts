// The README's Network Lasso figures come from `gossamer reproduce netlasso`; this runs its quick
// variant as a reader would (the built CLI: 4 netlasso-worker processes over an embedded
// nats-server, then the traffic demo) and checks the claims the README makes of the full run, so a
// regression in the reproduction fails CI: the workers agree bit for bit, ADMM reaches the
// centralized optimum along the path, Network Lasso beats both local-only and one global model and
// recovers the clusters, and in the traffic demo it beats per-region models.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/cli/cli.js';

const out = mkdtempSync(join(tmpdir(), 'gossamer-reproduce-netlasso-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

interface Results {
  quick: boolean;
  kdd: {
    workers: number;
    workersAgree: boolean;
    convergence: { relativeGap: number }[];
    path: { lambda: number; relativeGap: number | null }[];
    localMse: number;
    globalMse: number;
    bestMse: number;
    exactRecoveryLambda: number | null;
  };
  traffic: { methods: { method: string; auc: number }[] };
}

describe('gossamer reproduce netlasso --quick', () => {
  it('prints its tables and its claims hold on the quick variant', async () => {
    const run = await runCli(['reproduce', 'netlasso', '--quick', '--out', out], { timeoutMs: 600_000 });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    expect(run.stdout).toMatch(/\| method\s+\| λ\s+\| detection rate \| false-alarm rate \| AUC/);
    for (const f of ['results.json', 'results.md', 'netlasso-kdd-path.svg', 'netlasso-traffic.svg']) expect(existsSync(join(out, f)), f).toBe(true);
    const r = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(r.quick).toBe(true);
    // Partitioned over 4 processes, every worker reports the same x bits and iteration counts.
    expect(r.kdd.workers).toBe(4);
    expect(r.kdd.workersAgree).toBe(true);
    // At the centralized float64 optimum along the path and in the convergence runs.
    for (const p of r.kdd.path) if (p.lambda > 0) expect(p.relativeGap!, `gap at λ = ${p.lambda}`).toBeLessThan(1e-4);
    for (const c of r.kdd.convergence) expect(c.relativeGap).toBeLessThan(1e-4);
    // Network Lasso's best parameter MSE beats local-only and one global model; clusters recovered exactly.
    expect(r.kdd.bestMse).toBeLessThan(0.5 * Math.min(r.kdd.localMse, r.kdd.globalMse));
    expect(r.kdd.exactRecoveryLambda).not.toBeNull();
    // Traffic: the λ chosen on validation beats per-region models on test AUC.
    const auc = (m: string) => r.traffic.methods.find((x) => x.method === m)!.auc;
    expect(auc('network lasso')).toBeGreaterThan(auc('local'));
  }, 600_000);
});
