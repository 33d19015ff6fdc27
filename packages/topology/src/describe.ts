/**
 * Topology specs (as typed on the command line), building graph + weights from a spec, and a
 * summary (name, n, edges, degree range, connectivity, diameter, spectral gap) for the CLI.
 */
import { complete, erdosRenyi, exponential, randomRegular, ring, torus } from './builders.js';
import { connectedComponents, diameter, diameterBounds, TopologyError, type Graph } from './graph.js';
import { spectralGap, type SpectralGapResult } from './spectral.js';
import { exponentialWeights, metropolisHastings, type MixingWeights } from './weights.js';

export type TopologySpec =
  | { readonly kind: 'ring'; readonly n: number }
  | { readonly kind: 'torus'; readonly rows: number; readonly cols: number }
  | { readonly kind: 'exponential'; readonly n: number }
  | { readonly kind: 'complete'; readonly n: number }
  | { readonly kind: 'random-regular'; readonly n: number; readonly d: number; readonly seed: number }
  | { readonly kind: 'erdos-renyi'; readonly n: number; readonly p: number; readonly seed: number };

/**
 * Mixing-weight schemes: `metropolis-hastings` (any graph); `exponential` (Ying et al., symmetric
 * form) and `exponential-directed` (Ying et al., directed) — exponential graphs only.
 */
export type WeightScheme = 'metropolis-hastings' | 'exponential' | 'exponential-directed';

const SPEC_HELP =
  'expected ring:N, torus:RxC, exponential:N, complete:N, random-regular:N:D (or regular:N:D), ' +
  'erdos-renyi:N:P (or er:N:P)';

function intField(s: string, what: string, text: string): number {
  if (!/^\d+$/.test(s)) throw new TopologyError(`topology "${text}": ${what} "${s}" is not a positive integer (${SPEC_HELP})`);
  return Number(s);
}

/**
 * Parses a command-line topology spec: `ring:16`, `torus:4x4`, `exponential:16`, `complete:8`,
 * `random-regular:16:4` (alias `regular`), `erdos-renyi:16:0.3` (alias `er`). Random kinds take
 * `options.seed` (default 0).
 */
export function parseTopologySpec(text: string, options: { seed?: number } = {}): TopologySpec {
  const parts = text.trim().split(':');
  const kind = parts[0].toLowerCase();
  const seed = options.seed ?? 0;
  const arity = (k: number): void => {
    if (parts.length !== k + 1) throw new TopologyError(`topology "${text}": ${kind} takes ${k} argument(s) (${SPEC_HELP})`);
  };
  switch (kind) {
    case 'ring':
    case 'exponential':
    case 'complete':
      arity(1);
      return { kind, n: intField(parts[1], 'n', text) };
    case 'torus': {
      arity(1);
      const m = /^(\d+)x(\d+)$/i.exec(parts[1]);
      if (!m) throw new TopologyError(`topology "${text}": torus size must be RxC, e.g. torus:4x4`);
      return { kind, rows: Number(m[1]), cols: Number(m[2]) };
    }
    case 'random-regular':
    case 'regular':
      arity(2);
      return { kind: 'random-regular', n: intField(parts[1], 'n', text), d: intField(parts[2], 'd', text), seed };
    case 'erdos-renyi':
    case 'er': {
      arity(2);
      const p = Number(parts[2]);
      if (parts[2].trim() === '' || !(p >= 0 && p <= 1)) throw new TopologyError(`topology "${text}": p = "${parts[2]}" must be a number in [0, 1]`);
      return { kind: 'erdos-renyi', n: intField(parts[1], 'n', text), p, seed };
    }
    default:
      throw new TopologyError(`unknown topology "${text}" (${SPEC_HELP})`);
  }
}

/** Builds the graph of a spec. */
export function buildGraph(spec: TopologySpec): Graph {
  switch (spec.kind) {
    case 'ring':
      return ring(spec.n);
    case 'torus':
      return torus(spec.rows, spec.cols);
    case 'exponential':
      return exponential(spec.n);
    case 'complete':
      return complete(spec.n);
    case 'random-regular':
      return randomRegular(spec.n, spec.d, { seed: spec.seed });
    case 'erdos-renyi':
      return erdosRenyi(spec.n, spec.p, { seed: spec.seed });
  }
}

/**
 * Builds graph and mixing weights. Default scheme: `exponential` for the exponential graph (the
 * weights behind the reference gaps 0.40 / 0.333 / 0.286), Metropolis–Hastings for everything else.
 */
export function buildTopology(spec: TopologySpec, scheme?: WeightScheme): { graph: Graph; weights: MixingWeights } {
  const graph = buildGraph(spec);
  const s = scheme ?? (spec.kind === 'exponential' ? 'exponential' : 'metropolis-hastings');
  if (s === 'metropolis-hastings') return { graph, weights: metropolisHastings(graph) };
  if (spec.kind !== 'exponential') throw new TopologyError(`weight scheme ${s} applies to the exponential graph only, not ${spec.kind}`);
  return { graph, weights: exponentialWeights(spec.n, { directed: s === 'exponential-directed' }) };
}

export interface TopologySummary {
  readonly name: string;
  readonly n: number;
  readonly edges: number;
  readonly degree: { readonly min: number; readonly max: number; readonly mean: number };
  readonly connected: boolean;
  readonly components: number;
  /** Exact diameter when `diameterExact`, else an upper bound (valid as the D of the stopping rule). */
  readonly diameter: number;
  readonly diameterExact: boolean;
  readonly diameterLowerBound: number;
  /** Name of the mixing weights the gap refers to, if any. */
  readonly weights?: string;
  readonly spectralGap?: SpectralGapResult;
}

export interface DescribeOptions {
  /** Exact diameter (O(n·m)) up to this many nodes, bounds above (default 4096). */
  readonly exactDiameterLimit?: number;
  /** Skip the spectral gap (default: computed when weights are given). */
  readonly spectral?: boolean;
}

/**
 * Summary of a graph (and of its mixing weights, when given: the spectral gap of exactly those
 * weights). Costs: O(n·m) for the exact diameter (up to `exactDiameterLimit` nodes), O(n³) for the
 * dense spectral gap (n ≤ 1024, about a second at n = 1024), Lanczos beyond (an estimate, flagged
 * by `spectralGap.exact`).
 */
export function describeTopology(g: Graph, weights?: MixingWeights, options: DescribeOptions = {}): TopologySummary {
  if (weights && weights.n !== g.n) throw new TopologyError(`describeTopology: weights have n = ${weights.n}, graph has ${g.n}`);
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const d of g.degree) {
    min = Math.min(min, d);
    max = Math.max(max, d);
    sum += d;
  }
  const comps = connectedComponents(g);
  const exactLimit = options.exactDiameterLimit ?? 4096;
  let diam: number;
  let lower: number;
  let exact: boolean;
  if (g.n <= exactLimit) {
    diam = diameter(g);
    lower = diam;
    exact = true;
  } else {
    const b = diameterBounds(g);
    diam = b.upper;
    lower = b.lower;
    exact = b.lower === b.upper;
  }
  const summary: TopologySummary = {
    name: g.name,
    n: g.n,
    edges: g.edges.length,
    degree: { min: g.n === 0 ? 0 : min, max, mean: g.n === 0 ? 0 : sum / g.n },
    connected: comps.count === 1,
    components: comps.count,
    diameter: diam,
    diameterExact: exact,
    diameterLowerBound: lower,
  };
  if (!weights) return summary;
  if (options.spectral === false) return { ...summary, weights: weights.name };
  return { ...summary, weights: weights.name, spectralGap: spectralGap(weights) };
}

/** Human-readable one-paragraph rendering of a {@link TopologySummary} (the CLI prints it). */
export function formatTopologySummary(s: TopologySummary): string {
  const deg = s.degree.min === s.degree.max ? `${s.degree.min}` : `${s.degree.min}–${s.degree.max} (mean ${s.degree.mean.toFixed(2)})`;
  const diam = !s.connected ? '∞ (disconnected)' : s.diameterExact ? `${s.diameter}` : `${s.diameterLowerBound}–${s.diameter} (bounds)`;
  const lines = [
    `topology ${s.name}: n = ${s.n}, edges = ${s.edges}, degree ${deg}`,
    `  connected: ${s.connected ? 'yes' : `no (${s.components} components)`}, diameter ${diam}`,
  ];
  if (s.spectralGap) {
    const g = s.spectralGap;
    lines.push(
      `  weights ${s.weights}: spectral gap 1 − ρ = ${g.gap.toPrecision(4)} (ρ = ${g.rho.toPrecision(6)}, ` +
        `${g.method}${g.exact ? '' : `, estimate after ${g.steps} steps (upper bound on the gap)`})`,
    );
  } else if (s.weights) {
    lines.push(`  weights ${s.weights}`);
  }
  return lines.join('\n');
}
