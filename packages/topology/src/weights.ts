/**
 * Mixing weights in the sparse per-node form a worker consumes, Metropolis–Hastings weights,
 * the exponential-graph weights of Ying et al. (2021), dense helpers and stochasticity checks.
 */
import { exponentialOffsets } from './builders.js';
import { TopologyError, type Graph } from './graph.js';

/** One weighted peer. */
export interface MixingEntry {
  readonly peer: number;
  readonly w: number;
}

/**
 * Node i's part of a mixing matrix W (one gossip step), in the form the mixing kernel consumes:
 *
 *     x_i ← self · x_i + Σ_k recv[k].w · x_{recv[k].peer}
 *
 * - `self` = W_ii (the kernel's w_self);
 * - `recv`: the peers j ≠ i with W_ij ≠ 0, ascending by peer, each with W_ij (the kernel's w_k for
 *   the vector received from that peer);
 * - `send`: the peers j ≠ i with W_ji ≠ 0 (those that need x_i this step), ascending, each with the
 *   weight W_ji that peer will apply to x_i (the weight a push-sum sender scales its message by).
 *
 * For a symmetric W, `send` and `recv` list the same peers with the same weights.
 */
export interface NodeMixing {
  readonly self: number;
  readonly recv: readonly MixingEntry[];
  readonly send: readonly MixingEntry[];
}

/**
 * The weight vector the mixing kernel takes, [w_self, w_1, …, w_K] with w_k = recv[k].w: stack the
 * received vectors in `recv` order (ascending peer id) to match it.
 */
export function kernelWeights(node: NodeMixing): Float64Array {
  return Float64Array.from([node.self, ...node.recv.map((e) => e.w)]);
}

/** One mixing matrix W (n × n) as per-node sparse rows (and columns). */
export interface MixingWeights {
  /** What produced it, e.g. `metropolis-hastings(ring(16))` or `one-peer-exponential(16)@3`. */
  readonly name: string;
  readonly n: number;
  readonly nodes: readonly NodeMixing[];
  /** W = Wᵀ (to 1e-14): every exchange is two-way, with equal weights at both ends. */
  readonly symmetric: boolean;
}

/** One matrix entry: node i gives weight w to node j's vector (W_ij += w). */
export interface MixingTriple {
  readonly i: number;
  readonly j: number;
  readonly w: number;
}

const SYMMETRY_TOL = 1e-14;

/**
 * Builds {@link MixingWeights} from matrix entries W_ij (entries with the same (i, j) are summed;
 * entries that sum to exactly 0 are dropped; the diagonal becomes `self`, 0 if absent).
 */
export function mixingFromEntries(name: string, n: number, entries: Iterable<MixingTriple>): MixingWeights {
  if (!Number.isInteger(n) || n < 1) throw new TopologyError(`mixing weights: n must be a positive integer, got ${n}`);
  const self = new Float64Array(n);
  const rows: Map<number, number>[] = Array.from({ length: n }, () => new Map());
  for (const { i, j, w } of entries) {
    if (!Number.isInteger(i) || !Number.isInteger(j) || i < 0 || j < 0 || i >= n || j >= n) {
      throw new TopologyError(`mixing weights: entry (${i}, ${j}) out of range for n = ${n}`);
    }
    if (!Number.isFinite(w)) throw new TopologyError(`mixing weights: entry (${i}, ${j}) has weight ${w}`);
    if (i === j) self[i] += w;
    else rows[i].set(j, (rows[i].get(j) ?? 0) + w);
  }
  const recv: MixingEntry[][] = rows.map((row) =>
    [...row.entries()]
      .filter(([, w]) => w !== 0)
      .sort((a, b) => a[0] - b[0])
      .map(([peer, w]) => Object.freeze({ peer, w })),
  );
  const send: MixingEntry[][] = Array.from({ length: n }, () => []);
  for (let i = 0; i < n; i++) for (const { peer, w } of recv[i]) send[peer].push(Object.freeze({ peer: i, w }));
  // send lists are filled in ascending i, so already ascending by peer.
  let symmetric = true;
  for (let i = 0; i < n && symmetric; i++) {
    if (recv[i].length !== send[i].length) symmetric = false;
    else {
      for (let k = 0; k < recv[i].length; k++) {
        const a = recv[i][k];
        const b = send[i][k];
        if (a.peer !== b.peer || Math.abs(a.w - b.w) > SYMMETRY_TOL) {
          symmetric = false;
          break;
        }
      }
    }
  }
  const nodes = Array.from({ length: n }, (_, i) =>
    Object.freeze({ self: self[i], recv: Object.freeze(recv[i]), send: Object.freeze(send[i]) }),
  );
  return Object.freeze({ name, n, nodes: Object.freeze(nodes), symmetric });
}

/**
 * Metropolis–Hastings weights on a graph: W_ij = 1 / (1 + max(d_i, d_j)) for every edge (i, j),
 * W_ii = 1 − Σ_{j≠i} W_ij (summed in ascending neighbour order). Symmetric and doubly stochastic.
 * Edge weights of the graph are ignored (only degrees count). A ring gets 1/3 everywhere, a 4×4
 * torus 1/5 everywhere.
 */
export function metropolisHastings(g: Graph): MixingWeights {
  const entries: MixingTriple[] = [];
  for (let i = 0; i < g.n; i++) {
    let sum = 0;
    for (const j of g.neighbors[i]) {
      const w = 1 / (1 + Math.max(g.degree[i], g.degree[j]));
      entries.push({ i, j, w });
      sum += w;
    }
    entries.push({ i, j: i, w: 1 - sum });
  }
  return mixingFromEntries(`metropolis-hastings(${g.name})`, g.n, entries);
}

/**
 * Exponential-graph weights (Ying et al., "Exponential Graph is Provably Efficient for
 * Decentralized Deep Training", 2021). With τ = ⌈log₂ n⌉ and offsets 2^k, k = 0..τ−1:
 *
 * - `directed: true`: W_ij = 1/(τ+1) for j = i and for j = i + 2^k mod n — node i receives from
 *   i + 2^k and sends to i − 2^k. Circulant, doubly stochastic, not symmetric (normal, so
 *   ‖W − 11ᵀ/n‖₂ is its second-largest eigenvalue magnitude).
 * - `directed: false` (default): the symmetric part (W + Wᵀ)/2 on the undirected exponential graph
 *   ({@link exponential}): W_ii = 1/(τ+1), each neighbour at ±2^k gets 1/(2(τ+1)) per offset that
 *   reaches it (so the neighbour at n/2, reached by +n/2 and −n/2, gets 1/(τ+1)). Symmetric, doubly
 *   stochastic, every exchange two-way.
 *
 * Both give 1 − ρ = 2/(τ+1) for n a power of two: 0.40 (n = 16), 0.333 (32), 0.286 (64), the
 * reference values of ALGORITHMS.md §0. (Metropolis–Hastings weights on the same undirected graph
 * give 0.50 / 0.40 / 0.333 instead: all degrees are 2τ−1, so every weight is 1/(2τ).)
 */
export function exponentialWeights(n: number, options: { directed?: boolean } = {}): MixingWeights {
  const offsets = exponentialOffsets(n);
  const tau = offsets.length;
  const w = 1 / (tau + 1);
  const entries: MixingTriple[] = [];
  const directed = options.directed ?? false;
  for (let i = 0; i < n; i++) {
    entries.push({ i, j: i, w });
    for (const s of offsets) {
      if (directed) {
        entries.push({ i, j: (i + s) % n, w });
      } else {
        entries.push({ i, j: (i + s) % n, w: w / 2 });
        entries.push({ i, j: (i - s + n) % n, w: w / 2 });
      }
    }
  }
  return mixingFromEntries(`exponential-${directed ? 'directed' : 'symmetric'}(${n})`, n, entries);
}

/** Builds {@link MixingWeights} from a dense matrix (rows); zeros off the diagonal are dropped. */
export function mixingFromDense(name: string, W: readonly ArrayLike<number>[]): MixingWeights {
  const n = W.length;
  const entries: MixingTriple[] = [];
  for (let i = 0; i < n; i++) {
    if (W[i].length !== n) throw new TopologyError(`mixingFromDense: row ${i} has length ${W[i].length}, expected ${n}`);
    for (let j = 0; j < n; j++) if (i === j || W[i][j] !== 0) entries.push({ i, j, w: W[i][j] });
  }
  return mixingFromEntries(name, n, entries);
}

/** The dense n × n matrix (array of rows). O(n²) memory: for tests and analysis. */
export function denseMatrix(m: MixingWeights): Float64Array[] {
  const rows = Array.from({ length: m.n }, () => new Float64Array(m.n));
  m.nodes.forEach((node, i) => {
    rows[i][i] = node.self;
    for (const { peer, w } of node.recv) rows[i][peer] = w;
  });
  return rows;
}

/** Dense product A·B of square matrices given as rows. */
export function multiplyDense(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): Float64Array[] {
  const n = a.length;
  const out = Array.from({ length: n }, () => new Float64Array(b[0]?.length ?? 0));
  for (let i = 0; i < n; i++) {
    const ai = a[i];
    const oi = out[i];
    for (let k = 0; k < n; k++) {
      const aik = ai[k];
      if (aik === 0) continue;
      const bk = b[k];
      for (let j = 0; j < oi.length; j++) oi[j] += aik * bk[j];
    }
  }
  return out;
}

/** How far W is from being stochastic/symmetric (all maxima of absolute deviations). */
export interface MixingCheck {
  /** max_i |Σ_j W_ij − 1| (row-stochastic: the mixed vector is an average). */
  readonly rowSumError: number;
  /** max_j |Σ_i W_ij − 1| (column-stochastic: Σ_i x_i is preserved). */
  readonly colSumError: number;
  /** max_ij |W_ij − W_ji|. */
  readonly asymmetry: number;
  /** min_ij W_ij (≥ 0 for a proper averaging matrix). */
  readonly minEntry: number;
}

/** Measures row/column sums, symmetry and the smallest entry, in O(nnz). */
export function checkMixing(m: MixingWeights): MixingCheck {
  const col = new Float64Array(m.n);
  let rowSumError = 0;
  let minEntry = Infinity;
  let asymmetry = 0;
  m.nodes.forEach((node, i) => {
    let row = node.self;
    col[i] += node.self;
    minEntry = Math.min(minEntry, node.self);
    for (const { peer, w } of node.recv) {
      row += w;
      col[peer] += w;
      minEntry = Math.min(minEntry, w);
      const back = m.nodes[peer].recv.find((e) => e.peer === i)?.w ?? 0;
      asymmetry = Math.max(asymmetry, Math.abs(w - back));
    }
    rowSumError = Math.max(rowSumError, Math.abs(row - 1));
  });
  let colSumError = 0;
  for (let j = 0; j < m.n; j++) colSumError = Math.max(colSumError, Math.abs(col[j] - 1));
  return { rowSumError, colSumError, asymmetry, minEntry };
}

/** True if W is non-negative with row and column sums 1 within `tol` (default 1e-12). */
export function isDoublyStochastic(m: MixingWeights, tol = 1e-12): boolean {
  const c = checkMixing(m);
  return c.rowSumError <= tol && c.colSumError <= tol && c.minEntry >= -tol;
}

/**
 * Reference gossip step in float64: returns y with y_i = self_i·x_i + Σ recv w·x_peer, x[i] being
 * node i's vector (all the same length). This is the float64 reference of the mixing kernel.
 */
export function applyMixing(m: MixingWeights, x: readonly ArrayLike<number>[]): Float64Array[] {
  if (x.length !== m.n) throw new TopologyError(`applyMixing: got ${x.length} vectors for n = ${m.n}`);
  const len = x[0]?.length ?? 0;
  return m.nodes.map((node, i) => {
    const xi = x[i];
    if (xi.length !== len) throw new TopologyError(`applyMixing: vector ${i} has length ${xi.length}, expected ${len}`);
    const y = new Float64Array(len);
    for (let t = 0; t < len; t++) y[t] = node.self * xi[t];
    for (const { peer, w } of node.recv) {
      const xp = x[peer];
      for (let t = 0; t < len; t++) y[t] += w * xp[t];
    }
    return y;
  });
}
