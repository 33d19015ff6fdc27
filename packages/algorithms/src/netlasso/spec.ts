// A Network Lasso problem described by a small JSON document (a generator and its seed, or files), so
// that every worker process of a run builds the same problem and the same partition from it,
// deterministically, without shipping the data. File contents come through the caller's `read`: this
// package does no I/O.
import { partitionGraph } from '@gossamer/topology';
import { clusteredQuadraticProblem, clusteredSamplesProblem, type ClusteredProblemOptions, type ClusteredSamplesOptions } from './generators.js';
import { parseNetlassoCsv, parseNetlassoJson } from './io.js';
import type { NetlassoLoss, NetlassoProblem } from './problem.js';

/**
 * - `{"generator": "clustered-quadratic", nodes, groups, pIn, pOut, dim, seed, noise?}`: the KDD-style
 *   quadratic benchmark (clusteredQuadraticProblem);
 * - `{"generator": "clustered-samples", ..., trainPerNode, testPerNode?, loss}`: clustered regression /
 *   classification / one-class samples (clusteredSamplesProblem);
 * - `{"nodesCsv": path, "edgesCsv": path, "loss": {...}, "name"?}`: parseNetlassoCsv;
 * - `{"json": path}`: a problem document for parseNetlassoJson;
 * - a problem document itself (`{"loss", "nodes": [...], "edges": [...]}`).
 */
export type NetlassoProblemSpec =
  | ({ readonly generator: 'clustered-quadratic' } & ClusteredProblemOptions)
  | ({ readonly generator: 'clustered-samples' } & ClusteredSamplesOptions)
  | { readonly nodesCsv: string; readonly edgesCsv: string; readonly loss: NetlassoLoss; readonly name?: string }
  | { readonly json: string }
  | { readonly loss: NetlassoLoss; readonly nodes: readonly unknown[]; readonly edges: readonly unknown[]; readonly name?: string };

const GENERATORS = ['clustered-quadratic', 'clustered-samples'] as const;

function need(spec: Record<string, unknown>, keys: readonly string[], what: string): void {
  const missing = keys.filter((k) => typeof spec[k] !== 'number' || !Number.isFinite(spec[k]));
  if (missing.length > 0) throw new Error(`Network Lasso problem spec (${what}): ${missing.map((k) => `"${k}"`).join(', ')} must be numbers`);
}

/**
 * Builds the problem a spec describes. `read(path)` returns a file's text (paths as written in the
 * spec: the caller resolves them, e.g. against the spec file's folder). Throws a clear error for a
 * spec of no known form or with missing fields.
 */
export function netlassoProblemFromSpec(spec: NetlassoProblemSpec, read: (path: string) => string): NetlassoProblem {
  const s = spec as unknown as Record<string, unknown>;
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw new Error('Network Lasso problem spec: expected a JSON object');
  if ('generator' in s) {
    const g = s.generator;
    if (g === 'clustered-quadratic') {
      need(s, ['nodes', 'groups', 'pIn', 'pOut', 'dim', 'seed'], g);
      return clusteredQuadraticProblem(s as unknown as ClusteredProblemOptions);
    }
    if (g === 'clustered-samples') {
      need(s, ['nodes', 'groups', 'pIn', 'pOut', 'dim', 'seed', 'trainPerNode'], g);
      if (!s.loss || typeof s.loss !== 'object') throw new Error('Network Lasso problem spec (clustered-samples): "loss" must be an object, e.g. {"kind": "logistic", "mu": 0.1}');
      return clusteredSamplesProblem(s as unknown as ClusteredSamplesOptions);
    }
    throw new Error(`Network Lasso problem spec: unknown generator ${JSON.stringify(g)} (known: ${GENERATORS.join(', ')})`);
  }
  if (typeof s.nodesCsv === 'string' && typeof s.edgesCsv === 'string') {
    if (!s.loss || typeof s.loss !== 'object') throw new Error('Network Lasso problem spec (CSV): "loss" must be an object, e.g. {"kind": "squared"}');
    return parseNetlassoCsv(read(s.nodesCsv), read(s.edgesCsv), {
      loss: s.loss as NetlassoLoss,
      name: typeof s.name === 'string' ? s.name : undefined,
      // Errors name the file and the line.
      nodesSource: `nodes CSV ${String(s.nodesCsv)}`,
      edgesSource: `edge list CSV ${String(s.edgesCsv)}`,
    });
  }
  if (typeof s.json === 'string') return parseNetlassoJson(read(s.json));
  if (Array.isArray(s.nodes) && Array.isArray(s.edges)) return parseNetlassoJson(JSON.stringify(s));
  throw new Error(
    'Network Lasso problem spec: expected {"generator": "clustered-quadratic" | "clustered-samples", ...}, {"nodesCsv", "edgesCsv", "loss"}, {"json": path}, or a problem document {"loss", "nodes", "edges"}',
  );
}

/** The default node → worker assignment of a run of `parts` workers (balanced, few cut edges; deterministic). */
export function netlassoAssignment(problem: NetlassoProblem, parts: number): Int32Array {
  return parts <= 1 ? new Int32Array(problem.graph.n) : Int32Array.from(partitionGraph(problem.graph, parts).assignment);
}
