// Network Lasso when a worker fails (docs/elastic.md, "Network Lasso"): the survivors re-partition
// the graph over the new view, solve the interrupted λ again from the last λ's solution, and reach
// the centralized float64 optimum; all survivors report the same bits. Over the in-process transport
// (its crash() is a worker dying without a word); test/elastic/netlasso.test.ts does it with real
// processes and kill -9.
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredQuadraticProblem, runNetlassoWorker, solveNetlassoReference, type NetlassoLambdaReport, type NetlassoOptions, type NetlassoRegroup } from '@gossamer/algorithms';
import { TransportClosedError, createInProcessNetwork, type InProcessNetwork } from '@gossamer/transport';
import { partitionGraph } from '@gossamer/topology';
import { useGpu } from '../../../test/support/gpu.js';

const gpu = useGpu();
const networks: InProcessNetwork[] = [];
afterAll(async () => {
  for (const n of networks) await n.close();
});

// 24 nodes in 3 groups, d = 3 (the same family as netlasso.test.ts).
const problem = clusteredQuadraticProblem({ nodes: 24, groups: 3, pIn: 0.5, pOut: 0.05, dim: 3, seed: 7, noise: 0.5 });
const tight: NetlassoOptions = { epsAbs: 1e-5, epsRel: 1e-5 };
const lambdas = [0.1, 0.3, 1];

interface WorkerRun {
  reports: NetlassoLambdaReport[] | undefined;
  error: unknown;
  regroups: NetlassoRegroup[];
}

/** Four workers; `crash` is called with the network and each report as it comes (to kill a worker). */
async function runWithCrash(
  crash: (net: InProcessNetwork, worker: string, report: NetlassoLambdaReport) => void,
  timer?: (net: InProcessNetwork) => void,
  quorum: 'majority' | 'any' = 'majority',
): Promise<Map<string, WorkerRun>> {
  const ids = ['w0', 'w1', 'w2', 'w3'];
  const net = createInProcessNetwork(ids, { views: { quorum } });
  networks.push(net);
  const assignment = partitionGraph(problem.graph, ids.length).assignment;
  timer?.(net);
  const runs = new Map<string, WorkerRun>();
  await Promise.all(
    ids.map(async (id, part) => {
      const run: WorkerRun = { reports: undefined, error: undefined, regroups: [] };
      runs.set(id, run);
      try {
        const result = await runNetlassoWorker({
          gpu: gpu(),
          problem,
          assignment,
          part,
          transport: net.transport(id),
          workers: ids,
          lambdas,
          options: tight,
          onReport: (r) => crash(net, id, r),
          onRegroup: (e) => run.regroups.push(e),
        });
        run.reports = result.reports;
      } catch (error) {
        run.error = error;
      }
    }),
  );
  return runs;
}

function expectOptimalAndAgreed(survivors: WorkerRun[]): void {
  for (const run of survivors) {
    expect(run.error).toBeUndefined();
    expect(run.reports!.map((r) => r.lambda)).toEqual(lambdas);
  }
  for (let l = 0; l < lambdas.length; l++) {
    const [first, ...others] = survivors.map((s) => s.reports![l]);
    for (const r of others) expect(Array.from(r.x), `λ = ${lambdas[l]}: survivors report the same x`).toEqual(Array.from(first.x));
    expect(first.converged).toBe(true);
    const ref = solveNetlassoReference(problem, lambdas[l]);
    expect(Math.abs(first.objective - ref.objective) / ref.objective, `objective gap at λ = ${lambdas[l]}`).toBeLessThan(1e-4);
  }
}

describe('Network Lasso survives a worker failure', () => {
  it('a worker killed right after the first λ: the three survivors adopt its nodes and reach the optimum', async () => {
    let killed = false;
    const runs = await runWithCrash((net, worker, r) => {
      if (!killed && worker === 'w0' && r.lambdaIndex === 0) {
        killed = true;
        net.crash('w2');
      }
    });
    expect(runs.get('w2')!.error).toBeInstanceOf(TransportClosedError);
    const survivors = ['w0', 'w1', 'w3'].map((id) => runs.get(id)!);
    expectOptimalAndAgreed(survivors);
    for (const [k, run] of survivors.entries()) {
      expect(run.regroups).toHaveLength(1);
      const [g] = run.regroups;
      expect(g.members).toEqual(['w0', 'w1', 'w3']);
      expect(g.part).toBe(k);
      // w2 took part in λ 0's report, so every survivor had finished it (or all redo it).
      expect(g.resumeLambdaIndex).toBeLessThanOrEqual(1);
    }
    // Every node is hosted by exactly one survivor after the re-partition.
    expect(survivors.reduce((s, run) => s + run.regroups[0].nodes, 0)).toBe(problem.graph.n);
  });

  it('a worker killed in the middle of a λ: the survivors solve that λ again from the previous solution', async () => {
    // Ten messages of w0 into the second λ (each iteration sends one per neighbouring worker).
    let poll: ReturnType<typeof setInterval> | undefined;
    const runs = await runWithCrash((net, worker, r) => {
      if (worker !== 'w0' || r.lambdaIndex !== 0 || poll) return;
      const sentAtReport = net.transport('w0').stats().messagesSent;
      poll = setInterval(() => {
        if (net.transport('w0').stats().messagesSent < sentAtReport + 10) return;
        clearInterval(poll);
        net.crash('w1');
      }, 0);
    });
    const survivors = ['w0', 'w2', 'w3'].map((id) => runs.get(id)!);
    expectOptimalAndAgreed(survivors);
    const [g] = survivors[0].regroups;
    expect(g.members).toEqual(['w0', 'w2', 'w3']);
    // Interrupted in λ 1, which every survivor had started and none finished: λ 1 is solved again.
    for (const s of survivors) expect(s.regroups[0].resumeLambdaIndex).toBe(1);
    expect(survivors[0].reports![1].iterations).toBeGreaterThan(0);
  });

  it('down to one survivor (quorum "any"): it solves the rest of the path alone', async () => {
    let killed = false;
    const runs = await runWithCrash(
      (net, worker, r) => {
        if (!killed && worker === 'w3' && r.lambdaIndex === 0) {
          killed = true;
          for (const id of ['w0', 'w1', 'w2']) net.crash(id);
        }
      },
      undefined,
      'any',
    );
    const alone = runs.get('w3')!;
    expectOptimalAndAgreed([alone]);
    expect(alone.regroups.at(-1)!.members).toEqual(['w3']);
    expect(alone.regroups.at(-1)!.nodes).toBe(problem.graph.n);
  });
});
