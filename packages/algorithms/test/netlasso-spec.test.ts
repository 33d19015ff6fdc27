// Network Lasso problem specs (what every worker process of a run builds its problem from) and the
// run's partition (no GPU).
import { describe, expect, it } from 'vitest';
import { clusteredQuadraticProblem, clusteredSamplesProblem, netlassoAssignment, netlassoProblemFromSpec, type NetlassoProblemSpec } from '@gossamer/algorithms';
import { partitionGraph } from '@gossamer/topology';

const noFiles = (path: string): string => {
  throw new Error(`unexpected read of ${path}`);
};

describe('netlassoProblemFromSpec', () => {
  it('generators: the same problem as calling the generator, and the same on every call', () => {
    const options = { nodes: 30, groups: 3, pIn: 0.5, pOut: 0.05, dim: 3, seed: 5, noise: 0.5 };
    const a = netlassoProblemFromSpec({ generator: 'clustered-quadratic', ...options }, noFiles);
    const b = netlassoProblemFromSpec(JSON.parse(JSON.stringify({ generator: 'clustered-quadratic', ...options })) as NetlassoProblemSpec, noFiles);
    const direct = clusteredQuadraticProblem(options);
    expect(a.graph.edges).toEqual(direct.graph.edges);
    expect(Array.from(a.anchors!)).toEqual(Array.from(direct.anchors!));
    expect(Array.from(b.anchors!)).toEqual(Array.from(a.anchors!));
    const samples = { ...options, trainPerNode: 4, testPerNode: 2, loss: { kind: 'logistic', mu: 0.1 } as const };
    const s = netlassoProblemFromSpec({ generator: 'clustered-samples', ...samples }, noFiles);
    expect(Array.from(s.train!.features)).toEqual(Array.from(clusteredSamplesProblem(samples).train!.features));
    expect(s.loss).toEqual({ kind: 'logistic', mu: 0.1 });
  });

  it('files: nodes + edges CSV and a JSON problem (by path or inline), read through the caller', () => {
    const files: Record<string, string> = {
      'n.csv': 'node,group,a,b\n0,0,1,0\n1,0,1.5,0\n2,1,-1,2\n',
      'e.csv': '0,1\n1,2,0.5\n',
      'p.json': JSON.stringify({ loss: { kind: 'squared' }, nodes: [{ id: 0, anchor: [1] }, { id: 1, anchor: [3] }], edges: [[0, 1, 2]] }),
    };
    const read = (path: string): string => files[path] ?? noFiles(path);
    const csv = netlassoProblemFromSpec({ nodesCsv: 'n.csv', edgesCsv: 'e.csv', loss: { kind: 'squared' }, name: 'tiny' }, read);
    expect(csv.name).toBe('tiny');
    expect(csv.dim).toBe(2);
    expect(Array.from(csv.anchors!)).toEqual([1, 0, 1.5, 0, -1, 2]);
    expect(csv.graph.edges.map((e) => [e.u, e.v, e.w])).toEqual([
      [0, 1, 1],
      [1, 2, 0.5],
    ]);
    expect(Array.from(csv.groups!)).toEqual([0, 0, 1]);
    const json = netlassoProblemFromSpec({ json: 'p.json' }, read);
    const inline = netlassoProblemFromSpec(JSON.parse(files['p.json']) as NetlassoProblemSpec, noFiles);
    for (const p of [json, inline]) {
      expect(Array.from(p.anchors!)).toEqual([1, 3]);
      expect(p.graph.edges.map((e) => e.w)).toEqual([2]);
    }
  });

  it('says what is wrong with a spec', () => {
    const bad = (spec: unknown) => () => netlassoProblemFromSpec(spec as NetlassoProblemSpec, noFiles);
    expect(bad({ generator: 'ring', nodes: 10 })).toThrow(/unknown generator "ring".*clustered-quadratic/);
    expect(bad({ generator: 'clustered-quadratic', nodes: 10, groups: 2, pIn: 0.5, dim: 2, seed: 1 })).toThrow(/"pOut" must be numbers/);
    expect(bad({ generator: 'clustered-samples', nodes: 10, groups: 2, pIn: 0.5, pOut: 0.1, dim: 2, seed: 1, trainPerNode: 3 })).toThrow(/"loss" must be an object/);
    expect(bad({ nodesCsv: 'n.csv', edgesCsv: 'e.csv' })).toThrow(/"loss" must be an object/);
    expect(bad({ graph: 'x' })).toThrow(/expected \{"generator"/);
    expect(bad([1, 2])).toThrow(/expected a JSON object/);
  });
});

describe('netlassoAssignment', () => {
  it('is partitionGraph’s balanced, deterministic assignment (all zeros for one worker)', () => {
    const p = clusteredQuadraticProblem({ nodes: 40, groups: 4, pIn: 0.5, pOut: 0.05, dim: 2, seed: 3 });
    const a = netlassoAssignment(p, 4);
    expect(Array.from(a)).toEqual(Array.from(partitionGraph(p.graph, 4).assignment));
    expect(Array.from(netlassoAssignment(p, 4))).toEqual(Array.from(a));
    expect([0, 1, 2, 3].map((k) => a.filter((v) => v === k).length)).toEqual([10, 10, 10, 10]);
    expect(Array.from(netlassoAssignment(p, 1))).toEqual(new Array(40).fill(0));
  });
});
