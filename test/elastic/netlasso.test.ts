// Network Lasso with a worker failing, in real `netlasso-worker` processes over a real nats-server:
// kill -9 one of three mid-path, or freeze it (SIGSTOP) past the peer timeout. The survivors detect
// it within the timeout, re-partition the graph over the new view, adopt its nodes, solve the
// interrupted λ again, and reach the centralized float64 optimum (objective within 1e-4); both
// report the same bits. A frozen worker that wakes up is fenced and exits with a clear message. A
// nats-server restart is not a failure: the run equals the fault-free one bit for bit.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lambdaPath, netlassoProblemFromSpec, solveNetlassoReference, type NetlassoProblemSpec } from '@gossamer/algorithms';
import { decodeFloat32, type NetlassoWorkerOutput } from '../../packages/cli/src/commands/netlasso-worker.js';
import { uniqueRunId } from '../../packages/transport/test/nats-harness.js';
import { useNetlassoBed, type NetlassoEvent as Event, type NetlassoWorkerProcess as Worker } from '../support/netlasso-workers.js';

const bed = useNetlassoBed('gossamer-netlasso-elastic-');

// 36 nodes in 3 groups, d = 3, over three workers (each with cut edges), four λs.
const spec: NetlassoProblemSpec = { generator: 'clustered-quadratic', nodes: 36, groups: 3, pIn: 0.4, pOut: 0.05, dim: 3, seed: 7, noise: 0.5 };
const lambdas = [0, 0.1, 0.3, 1];
const problem = netlassoProblemFromSpec(spec, () => '');
const PEER_TIMEOUT_MS = 2000;

/** The arguments of worker `id` of run `runId` (writing its --out document into the bed's directory). */
function workerArgs(runId: string, id: string, path: readonly number[]): string[] {
  const specFile = join(bed.dir, 'problem.json');
  writeFileSync(specFile, JSON.stringify(spec));
  return [
    ...['--problem', specFile, '--workers', '3', '--id', id, '--nats', bed.server.url, '--run', runId, '--lambdas', path.join(','), '--eps-abs', '1e-5', '--eps-rel', '1e-5'],
    ...['--peer-timeout', String(PEER_TIMEOUT_MS), '--out', join(bed.dir, `${runId}-${id}.json`)],
  ];
}

/** Three workers; `fault` is called with every event (of any worker) and the workers, to inject a fault. */
async function run(fault: (e: Event, workers: Map<string, Worker>, runId: string) => void, path: readonly number[] = lambdas): Promise<{ workers: Map<string, Worker>; runId: string }> {
  const runId = uniqueRunId();
  const workers = new Map<string, Worker>();
  for (const id of ['w0', 'w1', 'w2']) workers.set(id, bed.spawn(workerArgs(runId, id, path), (e) => fault(e, workers, runId)));
  return { workers, runId };
}

const outputOf = (runId: string, id: string): NetlassoWorkerOutput => JSON.parse(readFileSync(join(bed.dir, `${runId}-${id}.json`), 'utf8')) as NetlassoWorkerOutput;

function expectSurvivorsOptimal(runId: string, survivors: string[], failed: string): NetlassoWorkerOutput[] {
  const outputs = survivors.map((id) => outputOf(runId, id));
  for (const o of outputs) {
    expect(o.reports.map((r) => r.lambda)).toEqual(lambdas);
    expect(o.regroups.length).toBeGreaterThanOrEqual(1);
    expect(o.regroups.at(-1)!.members).toEqual(survivors);
    expect(o.regroups.at(-1)!.members).not.toContain(failed);
  }
  // The survivors host every node between them now.
  expect(outputs.reduce((s, o) => s + o.layout.nodes, 0)).toBe(problem.graph.n);
  for (let l = 0; l < lambdas.length; l++) {
    const [a, b] = outputs.map((o) => o.reports[l]);
    expect(a.x, `λ = ${lambdas[l]}: both survivors report the same bits`).toBe(b.x);
    expect(a.converged).toBe(true);
    if (lambdas[l] === 0) continue; // F* = 0: x_i = a_i, checked by the gap below at λ > 0
    const ref = solveNetlassoReference(problem, lambdas[l]);
    const gap = Math.abs(a.objective - ref.objective) / ref.objective;
    expect(gap, `objective gap at λ = ${lambdas[l]}`).toBeLessThan(1e-4);
  }
  const x0 = decodeFloat32(outputs[0].reports[0].x);
  expect(Math.max(...x0.map((v, k) => Math.abs(v - problem.anchors![k])))).toBeLessThan(1e-3);
  return outputs;
}

describe('Network Lasso worker processes when one fails', () => {
  it('nats-server killed and restarted mid-path: nobody is removed, and x is bit for bit the fault-free run\'s', async () => {
    const clean = await run(() => undefined);
    for (const w of clean.workers.values()) expect((await w.exited).code).toBe(0);
    let restarted: Promise<void> | undefined;
    const faulty = await run((e) => {
      if (!restarted && e.type === 'lambda' && e.worker === 'w0' && e.lambdaIndex === 1) restarted = bed.server.kill().then(() => bed.server.restart());
    });
    const exits = await Promise.all([...faulty.workers.values()].map((w) => w.exited));
    await restarted;
    for (const e of exits) expect(e.code, e.output).toBe(0);
    expect(restarted).toBeDefined();
    for (const id of ['w0', 'w1', 'w2']) {
      const [a, b] = [clean, faulty].map((r) => outputOf(r.runId, id));
      expect(b.regroups).toEqual([]);
      expect(b.reports.map((r) => r.x)).toEqual(a.reports.map((r) => r.x));
      expect(b.reports.map((r) => r.iterations)).toEqual(a.reports.map((r) => r.iterations));
    }
  });

  it('kill -9 of one of three mid-path: the survivors adopt its nodes within the peer timeout and reach the optimum', async () => {
    let killedAt = 0;
    const { workers, runId } = await run((e, all) => {
      if (killedAt === 0 && e.type === 'lambda' && e.worker === 'w0' && e.lambdaIndex === 1) {
        killedAt = Date.now();
        all.get('w1')!.child.kill('SIGKILL');
      }
    });
    const [e0, e1, e2] = await Promise.all(['w0', 'w1', 'w2'].map((id) => workers.get(id)!.exited));
    expect(e1.signal).toBe('SIGKILL');
    expect(e0.code, e0.output).toBe(0);
    expect(e2.code, e2.output).toBe(0);
    expectSurvivorsOptimal(runId, ['w0', 'w2'], 'w1');
    // Detected and regrouped within the peer timeout plus the agreement (no 600 s receive timeout).
    for (const id of ['w0', 'w2']) {
      const regroup = workers.get(id)!.events.find((e) => e.type === 'regroup')!;
      expect(regroup.members).toEqual(['w0', 'w2']);
      expect(Date.parse(regroup.time) - killedAt, `${id} regrouped`).toBeLessThan(PEER_TIMEOUT_MS + 8000);
      expect(regroup.resumeLambdaIndex).toBeGreaterThanOrEqual(1);
    }
  });

  it('a worker frozen (SIGSTOP) past the peer timeout is removed; woken, it is fenced and exits with a clear message', async () => {
    let frozen = false;
    const { workers, runId } = await run((e, all) => {
      if (!frozen && e.type === 'lambda' && e.worker === 'w0' && e.lambdaIndex === 1) {
        frozen = true;
        all.get('w2')!.child.kill('SIGSTOP');
      }
      // Wake it once the others have moved on without it.
      if (e.type === 'regroup' && e.worker === 'w0') all.get('w2')!.child.kill('SIGCONT');
    });
    const [e0, e1, e2] = await Promise.all(['w0', 'w1', 'w2'].map((id) => workers.get(id)!.exited));
    expect(e0.code, e0.output).toBe(0);
    expect(e1.code, e1.output).toBe(0);
    expect(e2.code, e2.output).not.toBe(0);
    expect(e2.output).toMatch(/removed from the run|fenced/i);
    expectSurvivorsOptimal(runId, ['w0', 'w1'], 'w2');
  });

  it('kill -9 of one of three, restarted with --join: the members add it, hand it the last λ\'s solution, and all three end at the optimum with the same bits', async () => {
    // A longer path, so the run is still going when the restarted worker is up (seconds under load).
    const path = lambdaPath({ start: 0.05, factor: 1.25, count: 24 });
    let killed = false;
    let joiner: Worker | undefined;
    const { workers, runId } = await run((e, all, id) => {
      if (!killed && e.type === 'lambda' && e.worker === 'w0' && e.lambdaIndex === 1) {
        killed = true;
        all.get('w1')!.child.kill('SIGKILL');
      }
      // Restarted once the survivors have gone on without it.
      if (killed && !joiner && e.type === 'regroup' && e.worker === 'w0') joiner = bed.spawn([...workerArgs(id, 'w1', path), '--join']);
    }, path);
    const [e0, e1, e2] = await Promise.all(['w0', 'w1', 'w2'].map((id) => workers.get(id)!.exited));
    expect(e1.signal).toBe('SIGKILL');
    expect(e0.code, e0.output).toBe(0);
    expect(e2.code, e2.output).toBe(0);
    expect(joiner).toBeDefined();
    const ej = await joiner!.exited;
    expect(ej.code, ej.output + e0.output + e2.output).toBe(0);
    const joined = ej.events.find((e) => e.type === 'joined')!;
    expect(joined).toMatchObject({ worker: 'w1', source: 'w0', peers: ['w0', 'w1', 'w2'] });
    const [o0, o1, o2] = ['w0', 'w1', 'w2'].map((id) => outputOf(runId, id));
    // The survivors regrouped twice: without w1, then with it back (handed its start by w0).
    for (const o of [o0, o2]) {
      expect(o.reports.map((r) => r.lambda)).toEqual(path);
      expect(o.regroups.map((g) => g.members)).toEqual([['w0', 'w2'], ['w0', 'w1', 'w2']]);
      expect(o.regroups[1]).toMatchObject({ joiners: ['w1'], source: 'w0' });
    }
    // The joiner reports from the λ the run resumed at, each with the members' bits.
    const resume = o1.regroups[0].resumeLambdaIndex;
    expect(resume).toBe(o0.regroups[1].resumeLambdaIndex);
    expect(resume, 'the joiner came in after the first λs').toBeGreaterThan(0);
    expect(o1.reports.map((r) => r.lambdaIndex)).toEqual(path.map((_, i) => i).slice(resume));
    for (let l = 0; l < path.length; l++) expect(o2.reports[l].x, `λ #${l}: w0 and w2 agree`).toBe(o0.reports[l].x);
    for (const r of o1.reports) expect(r.x, `λ #${r.lambdaIndex}: the joiner agrees`).toBe(o0.reports[r.lambdaIndex].x);
    // The three host every node between them again, and the end of the path is optimal.
    expect(o0.layout.nodes + o1.layout.nodes + o2.layout.nodes).toBe(problem.graph.n);
    for (const r of o0.reports.slice(resume)) {
      expect(r.converged).toBe(true);
      const ref = solveNetlassoReference(problem, r.lambda);
      expect(Math.abs(r.objective - ref.objective) / ref.objective, `objective gap at λ = ${r.lambda}`).toBeLessThan(1e-4);
    }
  });

  it('a joiner that built a different problem is refused with a clear message, and the run finishes without it', async () => {
    let joiner: Worker | undefined;
    const path = lambdaPath({ start: 0.05, factor: 1.25, count: 16 });
    const { workers, runId } = await run((e, all, id) => {
      if (!joiner && e.type === 'lambda' && e.worker === 'w0' && e.lambdaIndex === 1) {
        all.get('w1')!.child.kill('SIGKILL');
        // Another λ path: another fingerprint.
        joiner = bed.spawn([...workerArgs(id, 'w1', path.slice(0, 8)), '--join']);
      }
    }, path);
    const [e0, , e2] = await Promise.all(['w0', 'w1', 'w2'].map((id) => workers.get(id)!.exited));
    const ej = await joiner!.exited;
    expect(ej.code).not.toBe(0);
    expect(ej.output).toMatch(/different problems/);
    expect(e0.code, e0.output).toBe(0);
    expect(e2.code, e2.output).toBe(0);
    const [o0, o2] = ['w0', 'w2'].map((id) => outputOf(runId, id));
    expect(o0.reports.map((r) => r.lambda)).toEqual(path);
    expect(o0.regroups.at(-1)!.members).toEqual(['w0', 'w2']);
    expect(o2.reports.at(-1)!.x).toBe(o0.reports.at(-1)!.x);
  });
});
