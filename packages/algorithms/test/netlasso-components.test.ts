// Network Lasso on a disconnected graph: the flooded halt stops one connected component at a time.
// Halted nodes keep their state while the others iterate, so a worker whose nodes have all halted
// stops, its neighbours stop exchanging with it, and nobody waits for messages that never come; the
// result equals a single worker's bit for bit and reaches the float64 optimum.
import { afterAll, describe, expect, it } from 'vitest';
import { clusteredQuadraticProblem, runNetlassoWorkers, solveNetlasso, solveNetlassoReference, type NetlassoOptions, type NetlassoProblem } from '@gossamer/algorithms';
import { connectedComponents, graphFromEdges } from '@gossamer/topology';
import { createInProcessNetwork, type InProcessNetwork } from '@gossamer/transport';
import { useGpu } from '../../../test/support/gpu.js';

const gpu = useGpu();
const networks: InProcessNetwork[] = [];
afterAll(async () => {
  for (const n of networks) await n.close();
});

// Three groups with the edges between groups taken out: three components (checked below), halting apart.
const base = clusteredQuadraticProblem({ nodes: 24, groups: 3, pIn: 0.6, pOut: 0.05, dim: 3, seed: 7, noise: 0.5 });
const problem: NetlassoProblem = {
  ...base,
  graph: graphFromEdges(
    base.graph.edges.filter((e) => base.groups![e.u] === base.groups![e.v]).map((e) => ({ u: e.u, v: e.v, w: e.w })),
    { n: base.graph.n },
  ),
};
const options: NetlassoOptions = { epsAbs: 1e-5, epsRel: 1e-5, receiveTimeoutMs: 10_000 };
const lambdas = [0.3, 1];

describe('Network Lasso on a disconnected graph', () => {
  const components = connectedComponents(problem.graph);

  it('the graph has three components (the case this guards)', async () => {
    expect(components.count).toBe(3);
  });

  for (let split = 0; split < 3; split++) {
    it(`2 workers, component ${split} split between them and the rest on worker 1: same bits as one worker`, async () => {
      // Worker 0 holds half of one component only; worker 1 the other half and every other component.
      const members = Array.from({ length: problem.graph.n }, (_, i) => i).filter((i) => components.label[i] === split);
      const assignment = new Int32Array(problem.graph.n).fill(1);
      for (const i of members.slice(0, Math.ceil(members.length / 2))) assignment[i] = 0;
      const single = await solveNetlasso(gpu(), problem, lambdas, options);
      const net = createInProcessNetwork(['w0', 'w1']);
      networks.push(net);
      const results = await runNetlassoWorkers({ gpu: gpu(), problem, transports: net.transports, lambdas, options, assignment });
      for (let l = 0; l < lambdas.length; l++) {
        expect(single[l].converged).toBe(true);
        for (const w of results) expect(Array.from(w.reports[l].x), `λ = ${lambdas[l]}`).toEqual(Array.from(single[l].x));
        // Each worker ran until its own nodes halted: worker 1, holding the other components, as long as one worker alone.
        expect(results[1].reports[l].iterations).toBe(single[l].iterations);
        expect(results[0].reports[l].iterations).toBeLessThanOrEqual(single[l].iterations);
        const ref = solveNetlassoReference(problem, lambdas[l]);
        expect(Math.abs(single[l].objective - ref.objective) / ref.objective, `gap at λ = ${lambdas[l]}`).toBeLessThan(1e-4);
      }
    });
  }
});
