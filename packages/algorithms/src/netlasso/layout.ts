// What one worker holds of a partitioned Network Lasso graph: its nodes, its directed edge copies
// (cut copies first, grouped by neighbouring worker, so each neighbour's messages are one contiguous
// block), and the tables the kernels and the stopping rule need.
import type { Graph } from '@gossamer/topology';

export interface NeighbourBlock {
  /** The neighbouring worker's part index. */
  readonly part: number;
  /** Its cut copies are rows first .. first + rows − 1 (in graph-edge order, the order both sides use). */
  readonly first: number;
  readonly rows: number;
}

export interface WorkerLayout {
  readonly part: number;
  /** Global ids of the hosted nodes, ascending; local index = position. */
  readonly nodes: Int32Array;
  /** Global id → local index, −1 for nodes of other workers. */
  readonly localOf: Int32Array;
  /** C: directed copies held (one per cut edge, two per local edge). */
  readonly copies: number;
  /** R: cut copies (rows 0 .. R − 1); their partners' messages arrive from other workers. */
  readonly cutRows: number;
  /** [C] local index of each copy's owner node. */
  readonly owners: Uint32Array;
  /** [C] graph edge of each copy. */
  readonly copyEdge: Int32Array;
  /** [C] edge weight w_ij. */
  readonly weights: Float32Array;
  /** [C] row of the partner's message in [own messages (C rows) | received messages (R rows)]. */
  readonly partner: Uint32Array;
  /** Node → copies CSR: copyList[copyStart[i] .. copyStart[i + 1]) in the order of i's neighbours' global ids. */
  readonly copyStart: Uint32Array;
  readonly copyList: Uint32Array;
  readonly neighbours: readonly NeighbourBlock[];
  /**
   * Per local node, its neighbours for the stopping rule: r ≥ 0 a local node, r < 0 the remote node
   * whose counters arrive with cut row −1 − r.
   */
  readonly nodeNeighbours: readonly Int32Array[];
}

/** The layout of worker `part` given a node → part assignment. */
export function workerLayout(graph: Graph, assignment: ArrayLike<number>, part: number): WorkerLayout {
  const n = graph.n;
  if (assignment.length !== n) throw new Error(`workerLayout: assignment has ${assignment.length} entries for ${n} nodes`);
  const localOf = new Int32Array(n).fill(-1);
  const nodes: number[] = [];
  for (let i = 0; i < n; i++) {
    if (assignment[i] === part) {
      localOf[i] = nodes.length;
      nodes.push(i);
    }
  }
  const cutByPart = new Map<number, number[]>();
  const localEdges: number[] = [];
  graph.edges.forEach((e, k) => {
    const [pu, pv] = [assignment[e.u], assignment[e.v]];
    if (pu === part && pv === part) localEdges.push(k);
    else if (pu === part || pv === part) {
      const other = pu === part ? pv : pu;
      if (!cutByPart.has(other)) cutByPart.set(other, []);
      cutByPart.get(other)!.push(k);
    }
  });
  const cutRows = [...cutByPart.values()].reduce((s, l) => s + l.length, 0);
  const copies = cutRows + 2 * localEdges.length;
  const owners = new Uint32Array(copies);
  const copyEdge = new Int32Array(copies);
  const weights = new Float32Array(copies);
  const partner = new Uint32Array(copies);
  // copyOf[2k] = copy held by edges[k].u's side, copyOf[2k + 1] = by edges[k].v's side (−1: not here).
  const copyOf = new Int32Array(2 * graph.edges.length).fill(-1);
  const neighbours: NeighbourBlock[] = [];
  let c = 0;
  for (const other of [...cutByPart.keys()].sort((a, b) => a - b)) {
    const list = cutByPart.get(other)!;
    neighbours.push({ part: other, first: c, rows: list.length });
    for (const k of list) {
      const e = graph.edges[k];
      const mine = assignment[e.u] === part ? e.u : e.v;
      owners[c] = localOf[mine];
      copyEdge[c] = k;
      weights[c] = e.w;
      partner[c] = copies + c; // the neighbour's message lands in received row c
      copyOf[2 * k + (mine === e.u ? 0 : 1)] = c;
      c++;
    }
  }
  for (const k of localEdges) {
    const e = graph.edges[k];
    owners[c] = localOf[e.u];
    owners[c + 1] = localOf[e.v];
    copyEdge[c] = copyEdge[c + 1] = k;
    weights[c] = weights[c + 1] = e.w;
    partner[c] = c + 1;
    partner[c + 1] = c;
    copyOf[2 * k] = c;
    copyOf[2 * k + 1] = c + 1;
    c += 2;
  }
  const copyStart = new Uint32Array(nodes.length + 1);
  const copyList = new Uint32Array(copies);
  const nodeNeighbours: Int32Array[] = [];
  let q = 0;
  nodes.forEach((g, i) => {
    copyStart[i] = q;
    const refs: number[] = [];
    graph.neighbors[g].forEach((j, t) => {
      const k = graph.neighborEdge[g][t];
      const copy = copyOf[2 * k + (graph.edges[k].u === g ? 0 : 1)];
      copyList[q++] = copy;
      refs.push(localOf[j] >= 0 ? localOf[j] : -1 - copy);
    });
    nodeNeighbours.push(Int32Array.from(refs));
  });
  copyStart[nodes.length] = q;
  return { part, nodes: Int32Array.from(nodes), localOf, copies, cutRows, owners, copyEdge, weights, partner, copyStart, copyList, neighbours, nodeNeighbours };
}
