// Network Lasso problem descriptions, generators, files, metrics, worker layouts and the float64
// reference solver (no GPU).
import { describe, expect, it } from 'vitest';
import {
  adjustedRandIndex,
  clusteredGraph,
  clusteredQuadraticProblem,
  clusteredSamplesProblem,
  consensusClusters,
  globalFit,
  knnGraph,
  lambdaPath,
  localFits,
  netlassoObjective,
  netlassoProblemFromSpec,
  parseNetlassoCsv,
  parseNetlassoJson,
  roadNetwork,
  solveNetlassoReference,
  stoppingDiameter,
  workerLayout,
} from '@gossamer/algorithms';
import { diameter, graphFromEdges, isConnected, partitionGraph, ring } from '@gossamer/topology';
import { expectAllClose } from '../../../test/support/numeric.js';

describe('generators', () => {
  it('the clustered graph is deterministic, connected, and denser inside groups', () => {
    const a = clusteredGraph({ nodes: 60, groups: 3, pIn: 0.5, pOut: 0.02, seed: 4 });
    const b = clusteredGraph({ nodes: 60, groups: 3, pIn: 0.5, pOut: 0.02, seed: 4 });
    expect(a.graph.edges).toEqual(b.graph.edges);
    expect(isConnected(a.graph)).toBe(true);
    const inside = a.graph.edges.filter((e) => a.groups[e.u] === a.groups[e.v]).length;
    expect(inside / a.graph.edges.length).toBeGreaterThan(0.85);
    expect(Array.from(new Set(a.groups))).toEqual([0, 1, 2]);
  });

  it('k-NN graphs are symmetric unions with Gaussian weights on request', () => {
    const coords = Float64Array.from([0, 0, 1, 0, 0, 1, 10, 10, 11, 10, 10, 11]);
    const g = knnGraph(coords, { k: 2, weight: { gaussian: 1 } });
    expect(g.edges.map((e) => [e.u, e.v])).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
      [3, 4],
      [3, 5],
      [4, 5],
    ]);
    expect(g.edges[0].w).toBeCloseTo(Math.exp(-0.5), 12);
  });

  it('road networks: a corridor with branches and a typed grid, both connected', () => {
    const corridor = roadNetwork({ layout: 'corridor', length: 12, rampEvery: 4, branch: 2 });
    expect(corridor.graph.n).toBe(12 + 3 * 2);
    expect(isConnected(corridor.graph)).toBe(true);
    expect(Array.from(new Set(corridor.roadType)).sort()).toEqual([0, 1, 2]);
    const grid = roadNetwork({ layout: 'grid', rows: 4, cols: 5 });
    expect(grid.graph.n).toBe(20);
    expect(grid.graph.edges.length).toBe(4 * 4 + 3 * 5);
    expect(grid.coordinates.length).toBe(40);
  });

  it('sample problems carry train/test sets, truth and groups', () => {
    const p = clusteredSamplesProblem({ nodes: 10, groups: 2, pIn: 0.6, pOut: 0.1, dim: 4, seed: 2, trainPerNode: 5, testPerNode: 3, loss: { kind: 'logistic', mu: 0.1 } });
    expect(p.train!.start[10]).toBe(50);
    expect(p.test!.start[10]).toBe(30);
    expect(new Set(p.train!.labels)).toEqual(new Set([-1, 1]));
    // The last feature is the intercept.
    expect(p.train!.features[3]).toBe(1);
    const oc = clusteredSamplesProblem({ nodes: 10, groups: 2, pIn: 0.6, pOut: 0.1, dim: 4, seed: 2, trainPerNode: 5, loss: { kind: 'ocsvm', nu: 0.1 } });
    expect(oc.train!.featureDim).toBe(3);
  });

  it('λ paths start at 0 and grow geometrically', () => {
    expect(lambdaPath({ start: 0.1, factor: 2, count: 3 })).toEqual([0, 0.1, 0.2, 0.4]);
  });
});

describe('files', () => {
  it('nodes CSV + edges CSV (squared loss: one anchor row per node)', () => {
    const p = parseNetlassoCsv('node,group,a,b\n0,0,1,2\n1,0,1.5,2\n2,1,-3,0\n', 'i,j,w\n0,1\n1,2,0.5\n', { loss: { kind: 'squared' } });
    expect(p.dim).toBe(2);
    expect(Array.from(p.anchors!)).toEqual([1, 2, 1.5, 2, -3, 0]);
    expect(Array.from(p.groups!)).toEqual([0, 0, 1]);
    expect(p.graph.edges[1].w).toBe(0.5);
  });

  it('nodes CSV with samples, labels and a test split; errors name the line', () => {
    const nodes = 'node,label,split,f0,f1\n1,1,train,0.5,1\n0,-1,train,0.1,1\n0,1,test,2,1\n1,-1,train,-1,1\n';
    const p = parseNetlassoCsv(nodes, '0,1\n', { loss: { kind: 'logistic', mu: 0.1 } });
    expect(Array.from(p.train!.start)).toEqual([0, 1, 3]);
    expect(Array.from(p.train!.labels)).toEqual([-1, 1, -1]);
    expect(Array.from(p.test!.features)).toEqual([2, 1]);
    expect(() => parseNetlassoCsv('node,label,f0\n0,1,x\n', '0,1\n', { loss: { kind: 'logistic', mu: 0.1 } })).toThrow(/line 2: column f0/);
  });

  it('nodes CSV: a quoted field with a comma is one field; a malformed row names the file and the line', () => {
    const nodes = 'node,"label, y",f0\n0,"1",0.5\n1,-1,"2"\n';
    const p = parseNetlassoCsv(nodes, '"0","1"\n', { loss: { kind: 'logistic', mu: 0.1 } });
    // "label, y" is not `label`: it is a feature column, in header order.
    expect(p.dim).toBe(2);
    expect(Array.from(p.train!.features)).toEqual([1, 0.5, -1, 2]);
    const files: Record<string, string> = { 'nodes.csv': 'node,label,f0\n0,1,0.5\n1,-1,0.25,9\n', 'edges.csv': '0,1\n' };
    const spec = { nodesCsv: 'nodes.csv', edgesCsv: 'edges.csv', loss: { kind: 'logistic', mu: 0.1 } };
    expect(() => netlassoProblemFromSpec(spec, (f) => files[f])).toThrow('nodes CSV nodes.csv, line 3: 4 fields, header has 3');
    files['nodes.csv'] = 'node,label,f0\n0,1,"0.5\n';
    expect(() => netlassoProblemFromSpec(spec, (f) => files[f])).toThrow('nodes CSV nodes.csv, line 2: unterminated quoted field');
    files['nodes.csv'] = 'node,label,f0\n0,1,0.5\n1,1,1\n';
    files['edges.csv'] = '0,1\n1,x\n';
    expect(() => netlassoProblemFromSpec(spec, (f) => files[f])).toThrow('edge list CSV edges.csv, line 2: node id j = "x"');
  });

  it('JSON documents', () => {
    const doc = {
      loss: { kind: 'ocsvm', nu: 0.2 },
      nodes: [
        { id: 0, train: [{ x: [1, 2] }, { x: [1, 3] }] },
        { id: 1, group: 1, train: [{ x: [0, 0] }] },
      ],
      edges: [{ u: 0, v: 1, w: 2 }],
    };
    const p = parseNetlassoJson(JSON.stringify(doc));
    expect(p.dim).toBe(3);
    expect(p.train!.featureDim).toBe(2);
    expect(Array.from(p.train!.start)).toEqual([0, 2, 3]);
    expect(p.graph.edges[0].w).toBe(2);
    expect(() => parseNetlassoJson('{"nodes": []}')).toThrow(/expected/);
  });
});

describe('metrics', () => {
  it('adjusted Rand index', () => {
    expect(adjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9])).toBe(1);
    // Known value: sklearn.metrics.adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) = 0.24242424...
    expect(adjustedRandIndex([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])).toBeCloseTo(0.242424242, 8);
  });

  it('clusters are the components of consensus edges', () => {
    const g = ring(6);
    const flags = g.edges.map((e) => (e.u < 3 && e.v < 3 ? 1 : 0));
    const c = consensusClusters(g, flags);
    expect(c.count).toBe(4);
    expect(Array.from(c.labels)).toEqual([0, 0, 0, 1, 2, 3]);
  });
});

describe('worker layout', () => {
  it('cut copies first per neighbour, partners symmetric, CSR in neighbour order', () => {
    const p = clusteredQuadraticProblem({ nodes: 20, groups: 2, pIn: 0.5, pOut: 0.1, dim: 2, seed: 3 });
    const part = partitionGraph(p.graph, 3);
    let totalCut = 0;
    for (let w = 0; w < 3; w++) {
      const l = workerLayout(p.graph, part.assignment, w);
      totalCut += l.cutRows;
      expect(l.nodes.length).toBe(part.sizes[w]);
      for (let c = 0; c < l.copies; c++) {
        if (c < l.cutRows) expect(l.partner[c]).toBe(l.copies + c);
        else expect(l.partner[l.partner[c]]).toBe(c);
      }
      l.nodes.forEach((g, i) => {
        const copies = Array.from(l.copyList.subarray(l.copyStart[i], l.copyStart[i + 1]));
        expect(copies.map((c) => l.copyEdge[c])).toEqual([...p.graph.neighborEdge[g]]);
        expect(copies.every((c) => l.owners[c] === i)).toBe(true);
      });
      // Both sides list a pair's cut edges in the same (graph-edge) order.
      for (const nb of l.neighbours) {
        const other = workerLayout(p.graph, part.assignment, nb.part).neighbours.find((b) => b.part === w)!;
        const mine = Array.from(l.copyEdge.subarray(nb.first, nb.first + nb.rows));
        const theirs = Array.from(workerLayout(p.graph, part.assignment, nb.part).copyEdge.subarray(other.first, other.first + other.rows));
        expect(mine).toEqual(theirs);
      }
    }
    expect(totalCut).toBe(2 * part.cutEdges);
  });

  it('the stopping diameter is the hop diameter (largest component for disconnected graphs)', () => {
    const g = ring(9);
    expect(stoppingDiameter(g)).toBe(diameter(g));
    const two = graphFromEdges([[0, 1], [1, 2], [3, 4]], { n: 5 });
    expect(stoppingDiameter(two)).toBe(2);
  });
});

describe('float64 reference solver', () => {
  const p = clusteredQuadraticProblem({ nodes: 12, groups: 2, pIn: 0.6, pOut: 0.1, dim: 2, seed: 9 });

  it('λ = 0 is the local fits, a large λ the global fit, and the objective is optimal against perturbations', () => {
    expectAllClose(solveNetlassoReference(p, 0).x, localFits(p), { atol: 1e-8, rtol: 0 }, 'λ = 0');
    const big = solveNetlassoReference(p, 50);
    const g = globalFit(p);
    for (let i = 0; i < 12; i++) expectAllClose(big.x.subarray(2 * i, 2 * i + 2), g, { atol: 1e-6, rtol: 0 }, `x_${i}`);
    const mid = solveNetlassoReference(p, 0.4);
    for (let t = 0; t < 20; t++) {
      const x = mid.x.map((v, k) => v + 1e-3 * Math.sin(7 * k + t));
      expect(netlassoObjective(p, x, 0.4).objective).toBeGreaterThan(mid.objective);
    }
  });

  it('the logistic global fit is a stationary point of Σ f_i', () => {
    const q = clusteredSamplesProblem({ nodes: 6, groups: 2, pIn: 0.8, pOut: 0.2, dim: 3, seed: 1, trainPerNode: 6, loss: { kind: 'logistic', mu: 0.1 } });
    const g = globalFit(q);
    const f = (x: Float64Array): number => netlassoObjective(q, Array.from({ length: 6 }, () => Array.from(x)).flat(), 0).objective;
    for (let k = 0; k < 3; k++) {
      const e = new Float64Array(3);
      e[k] = 1e-5;
      const plus = f(g.map((v, j) => v + e[j]));
      const minus = f(g.map((v, j) => v - e[j]));
      expect(Math.abs(plus - minus) / 2e-5).toBeLessThan(1e-5);
    }
  });
});
