/**
 * Undirected weighted graphs: the `Graph` type, construction from edge lists (with validation),
 * connectivity, connected components, BFS distances and the diameter.
 */

/** One undirected edge, stored once with u < v. `w` is the user's edge weight (1 when not given). */
export interface Edge {
  readonly u: number;
  readonly v: number;
  readonly w: number;
}

/**
 * An undirected graph on nodes 0..n−1 without self loops or parallel edges.
 *
 * - `edges`: each undirected edge once, u < v, sorted by (u, v);
 * - `neighbors[i]`: the neighbours of i in ascending order; `neighborWeights[i][k]` is the weight of
 *   the edge (i, neighbors[i][k]) and `neighborEdge[i][k]` its index in `edges`;
 * - `degree[i]` = neighbors[i].length (edge weights do not count: Metropolis–Hastings uses the plain
 *   degree).
 *
 * Edge weights matter only to Network Lasso (its penalty λ Σ w_jk ‖x_j − x_k‖); mixing weights are
 * computed from the degrees ({@link metropolisHastings}).
 */
export interface Graph {
  /** What built it, e.g. `ring(16)` or `edge-list`. */
  readonly name: string;
  readonly n: number;
  readonly edges: readonly Edge[];
  readonly neighbors: readonly (readonly number[])[];
  readonly neighborWeights: readonly (readonly number[])[];
  readonly neighborEdge: readonly (readonly number[])[];
  readonly degree: readonly number[];
}

/** An edge as given by a user: a tuple `[i, j]`, `[i, j, w]`, or an object. */
export type EdgeInput =
  | readonly [number, number]
  | readonly [number, number, number]
  | { readonly u: number; readonly v: number; readonly w?: number };

/**
 * What to do with an edge given twice (as (i, j) twice, or as (i, j) and (j, i)):
 * - `'error'` (default): reject the list, naming both occurrences;
 * - `'merge'`: keep one edge; the weights of all occurrences must be equal (else an error), so no
 *   weight is silently dropped. Typical use: symmetric k-nearest-neighbour lists, where (i, j) and
 *   (j, i) both appear.
 */
export type DuplicatePolicy = 'error' | 'merge';

export interface EdgeListOptions {
  /** Number of nodes. Default: 1 + the largest id in the list. Isolated nodes are allowed. */
  readonly n?: number;
  /** Graph name (default `edge-list`). */
  readonly name?: string;
  /** Default `'error'`. */
  readonly duplicates?: DuplicatePolicy;
  /**
   * Labels for error messages, parallel to the edges (e.g. `line 7` for CSV input); default
   * `edge #k` (0-based position in the list).
   */
  readonly labels?: readonly string[];
}

/** Error raised for an invalid edge list or graph description. */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

function normalizeInput(e: EdgeInput, where: string): { i: number; j: number; w: number | undefined } {
  if (Array.isArray(e)) {
    const a = e as readonly number[];
    if (a.length !== 2 && a.length !== 3) {
      throw new TopologyError(`${where}: expected [i, j] or [i, j, w], got an array of length ${a.length}`);
    }
    return { i: a[0], j: a[1], w: a.length === 3 ? a[2] : undefined };
  }
  if (e === null || typeof e !== 'object') {
    throw new TopologyError(`${where}: expected [i, j], [i, j, w] or {u, v, w?}, got ${JSON.stringify(e)}`);
  }
  const o = e as { u: number; v: number; w?: number };
  return { i: o.u, j: o.v, w: o.w };
}

function checkId(x: unknown, where: string, which: string, n: number | undefined): number {
  if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) {
    throw new TopologyError(`${where}: node id ${which} must be a non-negative integer, got ${JSON.stringify(x)}`);
  }
  if (n !== undefined && x >= n) {
    throw new TopologyError(`${where}: node id ${which} = ${x} is out of range [0, ${n - 1}] (n = ${n})`);
  }
  return x;
}

/**
 * Builds a graph from a user-given edge list, validating it: node ids are integers in [0, n),
 * no self loops, weights finite and > 0 (default 1), duplicates per `options.duplicates`
 * (rejected by default). Errors are {@link TopologyError}s naming the offending edge.
 */
export function graphFromEdges(edges: Iterable<EdgeInput>, options: EdgeListOptions = {}): Graph {
  const policy = options.duplicates ?? 'error';
  if (policy !== 'error' && policy !== 'merge') {
    throw new TopologyError(`duplicates must be 'error' or 'merge', got ${JSON.stringify(policy)}`);
  }
  const n = options.n;
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) {
    throw new TopologyError(`n must be a positive integer, got ${n}`);
  }
  const list = Array.from(edges);
  const label = (k: number): string => options.labels?.[k] ?? `edge #${k}`;
  const records: { u: number; v: number; w: number; k: number }[] = [];
  let maxId = -1;
  for (let k = 0; k < list.length; k++) {
    const where = label(k);
    const { i, j, w } = normalizeInput(list[k], where);
    const a = checkId(i, where, 'i', n);
    const b = checkId(j, where, 'j', n);
    if (a === b) throw new TopologyError(`${where}: self loop (${a}, ${b}) is not allowed`);
    let weight = 1;
    if (w !== undefined) {
      if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
        throw new TopologyError(`${where}: weight must be a finite number > 0, got ${JSON.stringify(w)}`);
      }
      weight = w;
    }
    maxId = Math.max(maxId, a, b);
    records.push({ u: Math.min(a, b), v: Math.max(a, b), w: weight, k });
  }
  const nodes = n ?? maxId + 1;
  if (nodes < 1) throw new TopologyError('empty edge list and no n given: the graph would have no nodes');
  // Detect duplicates after a stable sort by (u, v).
  records.sort((x, y) => x.u - y.u || x.v - y.v || x.k - y.k);
  const unique: Edge[] = [];
  for (let r = 0; r < records.length; r++) {
    const cur = records[r];
    const prev = r > 0 ? records[r - 1] : undefined;
    if (prev && prev.u === cur.u && prev.v === cur.v) {
      if (policy === 'error') {
        throw new TopologyError(
          `${label(cur.k)}: duplicate edge (${cur.u}, ${cur.v}), first given at ${label(prev.k)} ` +
            `(pass duplicates: 'merge' to accept repeated edges with equal weights)`,
        );
      }
      if (prev.w !== cur.w) {
        throw new TopologyError(
          `${label(cur.k)}: duplicate edge (${cur.u}, ${cur.v}) with weight ${cur.w}, but ${label(prev.k)} gives ` +
            `weight ${prev.w}; merging needs equal weights`,
        );
      }
      continue;
    }
    unique.push({ u: cur.u, v: cur.v, w: cur.w });
  }
  return assembleGraph(options.name ?? 'edge-list', nodes, unique);
}

/**
 * @internal Not exported from the package index. Builds a graph from node pairs produced by a builder, silently dropping self loops and
 * merging repeated pairs (a ring of 2 nodes, a 2×k torus, offsets that coincide mod n).
 */
export function graphFromPairs(name: string, n: number, pairs: Iterable<readonly [number, number]>): Graph {
  const seen = new Set<number>();
  const edges: Edge[] = [];
  for (const [a, b] of pairs) {
    if (a === b) continue;
    const u = Math.min(a, b);
    const v = Math.max(a, b);
    const key = u * n + v;
    if (seen.has(key)) continue;
    seen.add(key);
    edges.push({ u, v, w: 1 });
  }
  edges.sort((x, y) => x.u - y.u || x.v - y.v);
  return assembleGraph(name, n, edges);
}

/** Internal: `edges` must be unique, u < v, sorted by (u, v). */
function assembleGraph(name: string, n: number, edges: Edge[]): Graph {
  const neighbors: number[][] = Array.from({ length: n }, () => []);
  const weights: number[][] = Array.from({ length: n }, () => []);
  const edgeIdx: number[][] = Array.from({ length: n }, () => []);
  // With edges sorted by (u, v), node x first receives its smaller neighbours (edges (u, x), u
  // ascending), then its larger ones (edges (x, v), v ascending): lists come out ascending. The
  // check below keeps that an invariant rather than an assumption.
  edges.forEach((e, k) => {
    neighbors[e.u].push(e.v);
    weights[e.u].push(e.w);
    edgeIdx[e.u].push(k);
    neighbors[e.v].push(e.u);
    weights[e.v].push(e.w);
    edgeIdx[e.v].push(k);
  });
  for (let i = 0; i < n; i++) {
    const nb = neighbors[i];
    let sorted = true;
    for (let k = 1; k < nb.length; k++) if (nb[k - 1] > nb[k]) sorted = false;
    if (!sorted) {
      const order = nb.map((_, k) => k).sort((a, b) => nb[a] - nb[b]);
      neighbors[i] = order.map((k) => nb[k]);
      weights[i] = order.map((k) => weights[i][k]);
      edgeIdx[i] = order.map((k) => edgeIdx[i][k]);
    }
  }
  const frozenEdges = Object.freeze(edges.map((e) => Object.freeze({ ...e })));
  return Object.freeze({
    name,
    n,
    edges: frozenEdges,
    neighbors: Object.freeze(neighbors.map((a) => Object.freeze(a))),
    neighborWeights: Object.freeze(weights.map((a) => Object.freeze(a))),
    neighborEdge: Object.freeze(edgeIdx.map((a) => Object.freeze(a))),
    degree: Object.freeze(neighbors.map((a) => a.length)),
  });
}

/** Connected components: `label[i]` ∈ [0, count), numbered by smallest member; `sizes[c]`. */
export interface Components {
  readonly count: number;
  readonly label: Int32Array;
  readonly sizes: readonly number[];
}

/** Connected components by BFS, O(n + m). */
export function connectedComponents(g: Graph): Components {
  const label = new Int32Array(g.n).fill(-1);
  const sizes: number[] = [];
  const queue = new Int32Array(g.n);
  for (let s = 0; s < g.n; s++) {
    if (label[s] !== -1) continue;
    const c = sizes.length;
    let head = 0;
    let tail = 0;
    queue[tail++] = s;
    label[s] = c;
    while (head < tail) {
      const x = queue[head++];
      for (const y of g.neighbors[x]) {
        if (label[y] === -1) {
          label[y] = c;
          queue[tail++] = y;
        }
      }
    }
    sizes.push(tail);
  }
  return { count: sizes.length, label, sizes };
}

/** True if the graph has one connected component (a single node counts as connected). */
export function isConnected(g: Graph): boolean {
  return connectedComponents(g).count === 1;
}

/** Hop distances from `source` by BFS, O(n + m); −1 for unreachable nodes. */
export function bfsDistances(g: Graph, source: number): Int32Array {
  if (!Number.isInteger(source) || source < 0 || source >= g.n) {
    throw new RangeError(`bfsDistances: source ${source} out of range [0, ${g.n - 1}]`);
  }
  const dist = new Int32Array(g.n).fill(-1);
  const queue = new Int32Array(g.n);
  let head = 0;
  let tail = 0;
  queue[tail++] = source;
  dist[source] = 0;
  while (head < tail) {
    const x = queue[head++];
    const dx = dist[x] + 1;
    for (const y of g.neighbors[x]) {
      if (dist[y] === -1) {
        dist[y] = dx;
        queue[tail++] = y;
      }
    }
  }
  return dist;
}

/** Largest hop distance from `source`; Infinity if some node is unreachable. O(n + m). */
export function eccentricity(g: Graph, source: number): number {
  const d = bfsDistances(g, source);
  let e = 0;
  for (let i = 0; i < d.length; i++) {
    if (d[i] < 0) return Infinity;
    if (d[i] > e) e = d[i];
  }
  return e;
}

/**
 * Exact hop diameter: one BFS from every node, O(n·(n + m)) time and O(n) memory
 * (≈ 10⁸ edge visits for n = 10⁴ with m = 10⁴·deg/2; use {@link diameterBounds} beyond that).
 * Infinity for a disconnected graph; 0 for a single node.
 */
export function diameter(g: Graph): number {
  if (!isConnected(g)) return Infinity;
  let best = 0;
  for (let s = 0; s < g.n; s++) best = Math.max(best, eccentricity(g, s));
  return best;
}

/**
 * Cheap bounds lower ≤ diameter ≤ upper from a few BFS sweeps, O(sweeps·(n + m)): for any node v,
 * ecc(v) ≤ D ≤ 2·ecc(v). Starting at node 0, each sweep jumps to the farthest node found (the
 * "double sweep", whose lower bound is often exact on sparse graphs). `upper` is what the
 * decentralized stopping rule of Network Lasso needs (a valid diameter bound D).
 * Both are Infinity for a disconnected graph.
 */
export function diameterBounds(g: Graph, sweeps = 4): { lower: number; upper: number } {
  if (!isConnected(g)) return { lower: Infinity, upper: Infinity };
  let lower = 0;
  let upper = Infinity;
  let v = 0;
  for (let s = 0; s < Math.max(1, sweeps); s++) {
    const d = bfsDistances(g, v);
    let far = v;
    let ecc = 0;
    for (let i = 0; i < d.length; i++) {
      if (d[i] > ecc) {
        ecc = d[i];
        far = i;
      }
    }
    lower = Math.max(lower, ecc);
    upper = Math.min(upper, 2 * ecc);
    v = far;
  }
  return { lower, upper };
}
