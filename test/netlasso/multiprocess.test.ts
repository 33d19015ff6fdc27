// Network Lasso by decentralized ADMM in real worker processes (the built `netlasso-worker` command)
// over a real nats-server: the same x, bit for bit, and the same iteration counts as one worker alone
// (solveNetlasso in this process), every worker halting in the same iteration, the centralized float64
// optimum reached; and workers that were given different problems refuse to run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { netlassoAssignment, netlassoProblemFromSpec, solveNetlasso, solveNetlassoReference, workerLayout, type NetlassoOptions, type NetlassoProblemSpec } from '@gossamer/algorithms';
import { decodeFloat32, decodeInt32, type NetlassoWorkerOutput } from '@gossamer/cli';
import { uniqueRunId } from '../../packages/transport/test/nats-harness.js';
import { useGpu } from '../support/gpu.js';
import { useNetlassoBed, type NetlassoExit } from '../support/netlasso-workers.js';

const gpu = useGpu();
const bed = useNetlassoBed('gossamer-netlasso-');
const spawnWorker = (args: string[]): Promise<NetlassoExit> => bed.spawn(args).exited;

const writeSpec = (name: string, spec: NetlassoProblemSpec): string => {
  const file = join(bed.dir, name);
  writeFileSync(file, JSON.stringify(spec));
  return file;
};

/** Same bits, ±0 told apart. */
const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

// 36 nodes in 3 groups, d = 3, split over three workers (each with cut edges).
const spec: NetlassoProblemSpec = { generator: 'clustered-quadratic', nodes: 36, groups: 3, pIn: 0.4, pOut: 0.05, dim: 3, seed: 7, noise: 0.5 };
const lambdas = [0, 0.3, 1];
const options: NetlassoOptions = { epsAbs: 1e-5, epsRel: 1e-5 };
const optionArgs = ['--eps-abs', '1e-5', '--eps-rel', '1e-5'];

describe('Network Lasso worker processes over nats-server', () => {
  it('3 processes give bit-identical x and iteration counts to one worker, all halting in the same iteration', async () => {
    const specFile = writeSpec('problem.json', spec);
    const runId = uniqueRunId();
    const ids = ['w0', 'w1', 'w2'];
    const exits = await Promise.all(
      ids.map((id) =>
        spawnWorker(['--problem', specFile, '--workers', '3', '--id', id, '--nats', bed.server.url, '--run', runId, '--lambdas', lambdas.join(','), ...optionArgs, '--out', join(bed.dir, `${runId}-${id}.json`)]),
      ),
    );
    for (const e of exits) expect(e.code, e.output).toBe(0);
    const outputs = ids.map((id) => JSON.parse(readFileSync(join(bed.dir, `${runId}-${id}.json`), 'utf8')) as NetlassoWorkerOutput);

    // The same problem and partition as the workers built, and the one-worker run of it, here.
    const problem = netlassoProblemFromSpec(spec, () => '');
    const assignment = netlassoAssignment(problem, 3);
    const single = await solveNetlasso(gpu(), problem, lambdas, options);
    expect(new Set(outputs.map((o) => o.fingerprint)).size).toBe(1);
    outputs.forEach((o, part) => {
      const layout = workerLayout(problem.graph, assignment, part);
      expect(o.layout.nodes).toBe(layout.nodes.length);
      // Each worker really exchanged cut-edge messages with its neighbouring workers.
      expect(o.layout.cutRows).toBe(layout.cutRows);
      expect(o.layout.cutRows).toBeGreaterThan(0);
      expect(o.layout.neighbours).toEqual(layout.neighbours.map((nb) => ids[nb.part]));
      expect(o.transport!.bytesSent).toBeGreaterThan(0);
    });

    for (let l = 0; l < lambdas.length; l++) {
      const want = single[l];
      expect(want.converged, `single worker converged at λ = ${lambdas[l]}`).toBe(true);
      for (const o of outputs) {
        const r = o.reports[l];
        expect(r.lambda).toBe(lambdas[l]);
        expect(r.converged).toBe(true);
        expect(r.iterations, `${o.worker} iterations at λ = ${lambdas[l]}`).toBe(want.iterations);
        expect(r.haltDetectedAt).toBe(want.haltDetectedAt);
        expect(bits(decodeFloat32(r.x)), `${o.worker} x at λ = ${lambdas[l]}`).toEqual(bits(want.x));
        expect(Array.from(decodeInt32(r.clusterLabels))).toEqual(Array.from(want.clusterLabels));
        expect(r.consensusEdges).toBe(want.consensusEdges);
        expect(r.objective).toBeCloseTo(want.objective, 4);
      }
      // Every worker stopped after the same iteration: the one the flooded halt planned (k* + D).
      const halts = outputs.map((o) => o.reports[l].iterations);
      expect(new Set(halts).size).toBe(1);
      expect(halts[0]).toBe(want.haltDetectedAt! + want.diameterBound + 1);
      // And the centralized float64 optimum (relative gap; absolute at λ = 0, where F* = 0).
      const ref = solveNetlassoReference(problem, lambdas[l]);
      expect(ref.converged).toBe(true);
      expect(Math.abs(outputs[0].reports[l].objective - ref.objective) / Math.max(ref.objective, 1), `objective gap at λ = ${lambdas[l]}`).toBeLessThan(1e-4);
    }
    // λ = 0: independent local fits (x_i = a_i, no consensus edge); the largest λ fuses more than λ = 0.3.
    expect(outputs[0].reports[0].consensusEdges).toBe(0);
    const x0 = decodeFloat32(outputs[0].reports[0].x);
    expect(Math.max(...x0.map((v, k) => Math.abs(v - problem.anchors![k])))).toBeLessThan(1e-4);
    expect(outputs[0].reports[2].clusters).toBeLessThan(outputs[0].reports[1].clusters);
    // The per-λ JSON lines agree with the files.
    for (const [k, e] of exits.entries()) {
      const events = e.events.filter((v) => v.type === 'lambda');
      expect(events.map((v) => v.iterations)).toEqual(outputs[k].reports.map((r) => r.iterations));
      expect(e.events.at(-1)?.type).toBe('done');
    }
  });

  it('workers given different problems refuse to run (fingerprint check)', async () => {
    const a = writeSpec('a.json', spec);
    const b = writeSpec('b.json', { ...spec, seed: 8 });
    const runId = uniqueRunId();
    const exits = await Promise.all(
      [a, b].map((file, k) => spawnWorker(['--problem', file, '--workers', '2', '--id', `w${k}`, '--nats', bed.server.url, '--run', runId, '--lambdas', '0.3', '--join-timeout', '60000'])),
    );
    for (const e of exits) {
      expect(e.code, e.output).toBe(1);
      expect(e.output).toContain('built different problems');
      expect(e.events.some((v) => v.type === 'lambda')).toBe(false);
    }
  });
});
