// Deterministic (seeded) Network Lasso graphs and problems: the KDD-style clustered random graph,
// k-nearest-neighbour graphs from coordinates, road-network corridors and grids, and clustered
// quadratic / regression / classification problems on any of them.
import { createRng, graphFromEdges, isConnected, type Graph } from '@gossamer/topology';
import { gaussian } from './random.js';
import type { NetlassoLoss, NetlassoProblem, NodeSampleSet } from './problem.js';

export interface ClusteredGraphOptions {
  nodes: number;
  groups: number;
  /** Edge probability inside a group. */
  pIn: number;
  /** Edge probability between groups. */
  pOut: number;
  seed: number;
  /** Resample (continuing the stream) until connected (default true). */
  connected?: boolean;
}

/**
 * The KDD benchmark's graph: N nodes in K equal contiguous groups (node i in group ⌊iK/N⌋), each
 * pair an edge with probability pIn inside a group and pOut across, unit weights.
 */
export function clusteredGraph(o: ClusteredGraphOptions): { graph: Graph; groups: Int32Array } {
  const { nodes: n, groups: k } = o;
  if (!Number.isInteger(n) || !Number.isInteger(k) || k < 1 || k > n) throw new Error(`clusteredGraph: need 1 ≤ groups ≤ nodes, got ${k} groups, ${n} nodes`);
  const groups = Int32Array.from({ length: n }, (_, i) => Math.floor((i * k) / n));
  const rng = createRng(o.seed);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng.float() < (groups[i] === groups[j] ? o.pIn : o.pOut)) pairs.push([i, j]);
    const graph = graphFromEdges(pairs, { n, name: `clustered(${n},${k},${o.pIn},${o.pOut},seed=${o.seed})` });
    if (o.connected === false || isConnected(graph)) return { graph, groups };
  }
  throw new Error('clusteredGraph: no connected sample in 1000 attempts (raise pIn or pOut)');
}

export interface KnnGraphOptions {
  k: number;
  /** Coordinates per node (default 2). */
  dims?: number;
  /** Edge weights: 'unit' (default) or a Gaussian kernel exp(−dist²/(2σ²)). */
  weight?: 'unit' | { gaussian: number };
}

/** Symmetric k-nearest-neighbour graph (i ~ j if either is among the other's k nearest), ties by id. */
export function knnGraph(coordinates: ArrayLike<number>, options: KnnGraphOptions): Graph {
  const m = options.dims ?? 2;
  const n = coordinates.length / m;
  if (!Number.isInteger(n) || n < 2) throw new Error(`knnGraph: ${coordinates.length} coordinates do not form ≥ 2 points of ${m} dims`);
  const k = Math.min(options.k, n - 1);
  const dist2 = (i: number, j: number): number => {
    let s = 0;
    for (let t = 0; t < m; t++) s += (coordinates[i * m + t] - coordinates[j * m + t]) ** 2;
    return s;
  };
  const weight = options.weight ?? 'unit';
  const edges = new Map<string, [number, number, number]>();
  for (let i = 0; i < n; i++) {
    const order = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
    order.sort((a, b) => dist2(i, a) - dist2(i, b) || a - b);
    for (const j of order.slice(0, k)) {
      const [a, b] = i < j ? [i, j] : [j, i];
      const w = weight === 'unit' ? 1 : Math.max(Math.exp(-dist2(a, b) / (2 * weight.gaussian ** 2)), 1e-12);
      edges.set(`${a},${b}`, [a, b, w]);
    }
  }
  return graphFromEdges([...edges.values()], { n, name: `knn(${n},k=${k})` });
}

/** Road classes of a simulated road network. */
export type RoadType = 'highway' | 'arterial' | 'local';
export const ROAD_TYPES: readonly RoadType[] = ['highway', 'arterial', 'local'];

export interface RoadNetwork {
  graph: Graph;
  /** [N × 2] sensor positions (km). */
  coordinates: Float64Array;
  /** Index into ROAD_TYPES per sensor. */
  roadType: Int32Array;
  /** Travel direction: downstream neighbour of each sensor on its road (−1 at the end of a road). */
  downstream: Int32Array;
}

export interface RoadNetworkOptions {
  /**
   * 'corridor': a highway of `length` sensors with an arterial branch of `branch` sensors every
   * `rampEvery` highway sensors, each branch ending in local streets; 'grid': rows × cols intersections,
   * every `highwayEvery`-th row a highway, every other row and every column an arterial, and local
   * streets elsewhere.
   */
  layout: 'corridor' | 'grid';
  length?: number;
  rampEvery?: number;
  branch?: number;
  rows?: number;
  cols?: number;
  highwayEvery?: number;
  /** Edge weights decay with distance: w = exp(−dist/scale) (default: unit weights). */
  distanceScale?: number;
}

/** A simulated road network of sensors (deterministic; road types drive the traffic simulation). */
export function roadNetwork(o: RoadNetworkOptions): RoadNetwork {
  const coords: number[] = [];
  const types: number[] = [];
  const down: number[] = [];
  const pairs: [number, number][] = [];
  const add = (x: number, y: number, type: number): number => {
    coords.push(x, y);
    types.push(type);
    down.push(-1);
    return types.length - 1;
  };
  if (o.layout === 'corridor') {
    const length = o.length ?? 24;
    const every = o.rampEvery ?? 6;
    const branch = o.branch ?? 3;
    let prev = -1;
    for (let s = 0; s < length; s++) {
      const id = add(s * 0.8, 0, 0);
      if (prev >= 0) {
        pairs.push([prev, id]);
        down[prev] = id;
      }
      prev = id;
      if (s % every === every - 1) {
        let from = id;
        for (let b = 0; b < branch; b++) {
          const side = add(s * 0.8, (b + 1) * 0.6, b === branch - 1 ? 2 : 1);
          pairs.push([from, side]);
          down[side] = from; // traffic flows from the branch onto the highway
          from = side;
        }
      }
    }
  } else {
    const rows = o.rows ?? 5;
    const cols = o.cols ?? 6;
    const every = o.highwayEvery ?? 3;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const type = r % every === 0 ? 0 : r % 2 === 1 || c % 2 === 0 ? 1 : 2;
        add(c, r, type);
      }
    }
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const id = r * cols + c;
        if (c + 1 < cols) {
          pairs.push([id, id + 1]);
          down[id] = id + 1;
        }
        if (r + 1 < rows) pairs.push([id, id + cols]);
      }
    }
  }
  const coordinates = Float64Array.from(coords);
  const scale = o.distanceScale;
  const edges = pairs.map(([a, b]): [number, number, number] => {
    const dist = Math.hypot(coordinates[2 * a] - coordinates[2 * b], coordinates[2 * a + 1] - coordinates[2 * b + 1]);
    return [a, b, scale ? Math.max(Math.exp(-dist / scale), 1e-6) : 1];
  });
  const graph = graphFromEdges(edges, { n: types.length, name: `road-${o.layout}(${types.length})` });
  return { graph, coordinates, roadType: Int32Array.from(types), downstream: Int32Array.from(down) };
}

export interface ClusteredProblemOptions extends ClusteredGraphOptions {
  dim: number;
  /** Std of the per-node noise (default 1). */
  noise?: number;
}

/**
 * The reference quadratic problem: a_i = c_k + noise·N(0, I), c_k ~ N(0, I) per group, f_i = ½‖x − a_i‖².
 * Ground truth: groups and x_i* = c_k.
 */
export function clusteredQuadraticProblem(o: ClusteredProblemOptions): NetlassoProblem {
  const { graph, groups } = clusteredGraph(o);
  const d = o.dim;
  const normal = gaussian(createRng(o.seed + 1));
  const centers = Float64Array.from({ length: o.groups * d }, normal);
  const truth = new Float64Array(graph.n * d);
  const anchors = new Float32Array(graph.n * d);
  for (let i = 0; i < graph.n; i++) {
    for (let k = 0; k < d; k++) {
      truth[i * d + k] = centers[groups[i] * d + k];
      anchors[i * d + k] = truth[i * d + k] + (o.noise ?? 1) * normal();
    }
  }
  return { name: `quadratic ${graph.name} d=${d}`, graph, dim: d, loss: { kind: 'squared' }, anchors, groups, truth };
}

export interface ClusteredSamplesOptions extends ClusteredProblemOptions {
  trainPerNode: number;
  testPerNode?: number;
  loss: NetlassoLoss;
}

/**
 * Clustered sample problems: per group a model a_k ~ N(0, I) in R^d; per sample features
 * s ~ N(0, I) in R^(d−1) plus a constant 1 (the intercept). Classification losses:
 * y = sign(a_kᵀs + noise·v); ridge: y = a_kᵀs + noise·v. One-class SVM (d = features + 1): the
 * samples of group k are a_k's first d − 1 entries + noise·N(0, I) (one normal mode per group), labels 0.
 */
export function clusteredSamplesProblem(o: ClusteredSamplesOptions): NetlassoProblem {
  const { graph, groups } = clusteredGraph(o);
  const d = o.dim;
  const normal = gaussian(createRng(o.seed + 1));
  const models = Float64Array.from({ length: o.groups * d }, normal);
  const noise = o.noise ?? 1;
  const oneClass = o.loss.kind === 'ocsvm';
  const featureDim = oneClass ? d - 1 : d;
  const regression = o.loss.kind === 'ridge';
  const sample = (perNode: number): NodeSampleSet => {
    const start = Int32Array.from({ length: graph.n + 1 }, (_, i) => i * perNode);
    const features = new Float32Array(graph.n * perNode * featureDim);
    const labels = new Float32Array(graph.n * perNode);
    for (let i = 0; i < graph.n; i++) {
      const model = models.subarray(groups[i] * d, (groups[i] + 1) * d);
      for (let s = i * perNode; s < (i + 1) * perNode; s++) {
        if (oneClass) {
          for (let k = 0; k < featureDim; k++) features[s * featureDim + k] = model[k] + noise * normal();
          continue;
        }
        let m = noise * normal();
        for (let k = 0; k < d; k++) {
          const f = k === d - 1 ? 1 : normal();
          features[s * d + k] = f;
          m += model[k] * f;
        }
        labels[s] = regression ? m : m >= 0 ? 1 : -1;
      }
    }
    return { featureDim, start, features, labels };
  };
  const train = sample(o.trainPerNode);
  const test = o.testPerNode ? sample(o.testPerNode) : undefined;
  const truth = oneClass ? undefined : new Float64Array(graph.n * d);
  if (truth) for (let i = 0; i < graph.n; i++) for (let k = 0; k < d; k++) truth[i * d + k] = models[groups[i] * d + k];
  return { name: `${o.loss.kind} ${graph.name} d=${d}`, graph, dim: d, loss: o.loss, train, test, groups, truth };
}
