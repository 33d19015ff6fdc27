/**
 * Time-varying gossip schedules: the one-peer exponential graph (and its symmetric hypercube
 * variant), symmetric random pairwise gossip, and push-sum one-out-peer schedules.
 *
 * Every schedule is a pure function of (its parameters, seed, step): each worker computes the same
 * W(k) — who to send to, who to receive from, with which weights — without communicating. Random
 * schedules derive their stream from `mixSeed(seed, step)` (32-bit integer arithmetic only, so all
 * JavaScript engines agree bit for bit).
 */
import { exponentialOffsets } from './builders.js';
import { TopologyError, type Graph } from './graph.js';
import { createRng, mixSeed } from './rng.js';
import { mixingFromEntries, type MixingTriple, type MixingWeights, type NodeMixing } from './weights.js';

/** A mixing matrix per step k = 0, 1, 2, … */
export interface MixingSchedule {
  readonly name: string;
  readonly n: number;
  /** The pattern repeats every `period` steps (deterministic schedules); undefined for random ones. */
  readonly period?: number;
  /** W(k) for all nodes. O(n) per call. */
  at(step: number): MixingWeights;
  /** Node i's part of W(k) only (what a worker needs). */
  node(step: number, i: number): NodeMixing;
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new TopologyError(`step must be a non-negative safe integer, got ${step}`);
}

function checkNode(n: number, i: number): void {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new TopologyError(`node ${i} out of range [0, ${n - 1}]`);
}

function checkN(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new TopologyError(`${what}: n must be a positive integer, got ${n}`);
}

/** True for 1, 2, 4, 8, … */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/** 2^(k mod τ) with τ = ⌈log₂ n⌉: the one-peer exponential offset at step k (0 for n = 1). */
export function onePeerOffset(n: number, step: number): number {
  checkN(n, 'onePeerOffset');
  checkStep(step);
  const offs = exponentialOffsets(n);
  return offs.length === 0 ? 0 : offs[step % offs.length];
}

function nodeFromEntries(i: number, entries: MixingTriple[]): NodeMixing {
  // Small helper for per-node queries: entries are all the W_ij and W_ji involving node i.
  let self = 0;
  const recv = new Map<number, number>();
  const send = new Map<number, number>();
  for (const { i: a, j: b, w } of entries) {
    if (a === i && b === i) self += w;
    else if (a === i) recv.set(b, (recv.get(b) ?? 0) + w);
    else if (b === i) send.set(a, (send.get(a) ?? 0) + w);
  }
  const list = (m: Map<number, number>) =>
    Object.freeze(
      [...m.entries()]
        .filter(([, w]) => w !== 0)
        .sort((x, y) => x[0] - y[0])
        .map(([peer, w]) => Object.freeze({ peer, w })),
    );
  return Object.freeze({ self, recv: list(recv), send: list(send) });
}

/**
 * One-peer exponential graph (Ying et al. 2021; ALGORITHMS.md §0): W(k) = ½(I + P^s) with
 * s = 2^(k mod τ), τ = ⌈log₂ n⌉, and P the cyclic shift (P x)_i = x_{i+1 mod n}. So at step k node i
 * RECEIVES from i + s and SENDS to i − s (mod n), with weights ½ (self) and ½ (received vector):
 *     x_i ← ½ x_i + ½ x_{i+s}.
 * W(k) is doubly stochastic but not symmetric (except s = n/2, where the exchange is a pairing).
 * For n a power of two, any τ consecutive steps multiply to exactly 11ᵀ/n (exact averaging in
 * log₂ n rounds; all entries are dyadic, so this holds exactly in float64). For other n the
 * product is only approximately uniform.
 */
export function onePeerExponential(n: number): MixingSchedule & { readonly exactAveraging: boolean } {
  checkN(n, 'onePeerExponential');
  const tau = exponentialOffsets(n).length;
  const entries = (step: number): MixingTriple[] => {
    const s = onePeerOffset(n, step);
    const out: MixingTriple[] = [];
    for (let i = 0; i < n; i++) {
      if (s === 0) out.push({ i, j: i, w: 1 });
      else {
        out.push({ i, j: i, w: 0.5 });
        out.push({ i, j: (i + s) % n, w: 0.5 });
      }
    }
    return out;
  };
  return {
    name: `one-peer-exponential(${n})`,
    n,
    period: Math.max(1, tau),
    exactAveraging: isPowerOfTwo(n),
    at: (step) => mixingFromEntries(`one-peer-exponential(${n})@${step}`, n, entries(step)),
    node(step, i) {
      checkNode(n, i);
      const s = onePeerOffset(n, step);
      if (s === 0) return nodeFromEntries(i, [{ i, j: i, w: 1 }]);
      return nodeFromEntries(i, [
        { i, j: i, w: 0.5 },
        { i, j: (i + s) % n, w: 0.5 },
        { i: (i - s + n) % n, j: i, w: 0.5 },
      ]);
    },
  };
}

/**
 * Symmetric one-peer schedule on the hypercube (n a power of two): at step k node i pairs with
 * i XOR 2^(k mod τ) and both replace their vectors by the pair's average (W(k) symmetric, each
 * exchange two-way). Any τ = log₂ n consecutive steps also multiply to exactly 11ᵀ/n. Useful for
 * the final merge when a symmetric exchange is preferred.
 */
export function onePeerHypercube(n: number): MixingSchedule {
  if (!isPowerOfTwo(n)) throw new TopologyError(`onePeerHypercube: n must be a power of two, got ${n}`);
  const tau = Math.round(Math.log2(n));
  const partner = (step: number, i: number): number => {
    checkStep(step);
    return tau === 0 ? i : i ^ (1 << (step % tau));
  };
  const rowEntries = (step: number, i: number): MixingTriple[] => {
    const p = partner(step, i);
    return p === i ? [{ i, j: i, w: 1 }] : [{ i, j: i, w: 0.5 }, { i, j: p, w: 0.5 }, { i: p, j: i, w: 0.5 }];
  };
  return {
    name: `one-peer-hypercube(${n})`,
    n,
    period: Math.max(1, tau),
    at(step) {
      const out: MixingTriple[] = [];
      for (let i = 0; i < n; i++) {
        const p = partner(step, i);
        if (p === i) out.push({ i, j: i, w: 1 });
        else out.push({ i, j: i, w: 0.5 }, { i, j: p, w: 0.5 });
      }
      return mixingFromEntries(`one-peer-hypercube(${n})@${step}`, n, out);
    },
    node(step, i) {
      checkNode(n, i);
      return nodeFromEntries(i, rowEntries(step, i));
    },
  };
}

export interface RandomPairwiseOptions {
  /** Probability that a node communicates in a round (ALGORITHMS.md §2 `constant(r)`), in [0, 1]. */
  readonly r: number;
  /** Shared seed: every worker must use the same one. */
  readonly seed: number;
  /**
   * Restrict pairs to the edges of this graph (default: any two nodes may pair, i.e. the complete
   * graph).
   */
  readonly graph?: Graph;
}

/**
 * The random matching of one round: `partner[i]` is i's peer, or −1 if i sits the round out.
 * Symmetric (partner[partner[i]] = i) and a pure function of (n, r, seed, round, graph).
 *
 * Without a graph: a uniformly random perfect matching of the n nodes (one node left over when n is
 * odd) from a seeded Fisher–Yates shuffle, then each pair is kept with probability r. So for even n
 * every node averages with a uniformly random peer with probability exactly r (for odd n:
 * r·(n−1)/n). With a graph: a random maximal matching of its edges (edges in shuffled order,
 * greedily), each pair then kept with probability r — the per-node probability then also depends
 * on the graph.
 */
export function randomMatching(n: number, options: RandomPairwiseOptions & { readonly round: number }): Int32Array {
  checkN(n, 'randomMatching');
  checkStep(options.round);
  const { r, graph } = options;
  if (!(typeof r === 'number' && r >= 0 && r <= 1)) throw new TopologyError(`randomMatching: r must be in [0, 1], got ${r}`);
  if (graph && graph.n !== n) throw new TopologyError(`randomMatching: graph has ${graph.n} nodes, expected ${n}`);
  const rng = createRng(mixSeed(options.seed, options.round));
  const partner = new Int32Array(n).fill(-1);
  const pairs: [number, number][] = [];
  if (!graph) {
    const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    for (let k = 0; k + 1 < n; k += 2) pairs.push([perm[k], perm[k + 1]]);
  } else {
    const order = rng.shuffle(graph.edges.map((_, k) => k));
    const used = new Uint8Array(n);
    for (const k of order) {
      const { u, v } = graph.edges[k];
      if (used[u] || used[v]) continue;
      used[u] = 1;
      used[v] = 1;
      pairs.push([u, v]);
    }
  }
  for (const [a, b] of pairs) {
    // Always draw, so the stream does not depend on r.
    if (rng.float() < r) {
      partner[a] = b;
      partner[b] = a;
    }
  }
  return partner;
}

/**
 * Symmetric random pairwise gossip (ALGORITHMS.md §2 `constant(r)`): each round, the pairs of
 * {@link randomMatching} replace both their vectors by the pair's average (W symmetric and doubly
 * stochastic: the network mean is preserved exactly); unpaired nodes keep theirs (self weight 1).
 */
export function randomPairwise(n: number, options: RandomPairwiseOptions): MixingSchedule & {
  /** The round's matching (partner or −1 per node). */
  matching(round: number): Int32Array;
} {
  checkN(n, 'randomPairwise');
  const matching = (round: number): Int32Array => randomMatching(n, { ...options, round });
  return {
    name: `random-pairwise(${n},r=${options.r},seed=${options.seed}${options.graph ? `,on=${options.graph.name}` : ''})`,
    n,
    matching,
    at(round) {
      const p = matching(round);
      const out: MixingTriple[] = [];
      for (let i = 0; i < n; i++) {
        if (p[i] < 0) out.push({ i, j: i, w: 1 });
        else out.push({ i, j: i, w: 0.5 }, { i, j: p[i], w: 0.5 });
      }
      return mixingFromEntries(`random-pairwise@${round}`, n, out);
    },
    node(round, i) {
      checkNode(n, i);
      const p = matching(round)[i];
      if (p < 0) return nodeFromEntries(i, [{ i, j: i, w: 1 }]);
      return nodeFromEntries(i, [{ i, j: i, w: 0.5 }, { i, j: p, w: 0.5 }, { i: p, j: i, w: 0.5 }]);
    },
  };
}

export interface PushSumOptions {
  /**
   * How each node picks its single out-peer at step k:
   * - `exponential` (default): i + 2^(k mod τ) mod n (the one-peer exponential target). The matrix
   *   is then a permutation average, doubly stochastic, and the push-sum weights stay 1.
   * - `random`: a uniformly random other node, from `mixSeed(seed, k)` (column-stochastic only).
   */
  readonly peer?: 'exponential' | 'random';
  /** Needed for `random`. */
  readonly seed?: number;
}

/**
 * Push-sum / SGP (Assran et al. 2019) one-out-peer schedule: each node keeps ½ of (x_i, w_i) and
 * sends ½ to its out-peer; a node adds up what it receives. P(k) is column-stochastic
 * (Σ_i x_i and Σ_i w_i are preserved), in the same {@link MixingWeights} encoding:
 * P_ii = `self` = ½; `send` = [{peer: out-peer, w: ½}] (the weight to scale the message by);
 * `recv` = the in-peers, each ½. The de-biased estimate is z_i = x_i / w_i.
 */
export function pushSum(n: number, options: PushSumOptions = {}): MixingSchedule & { outPeers(step: number): Int32Array } {
  checkN(n, 'pushSum');
  const mode = options.peer ?? 'exponential';
  if (mode !== 'exponential' && mode !== 'random') throw new TopologyError(`pushSum: peer must be 'exponential' or 'random', got ${String(mode)}`);
  if (mode === 'random' && options.seed === undefined) throw new TopologyError("pushSum: peer 'random' needs a seed");
  const tau = exponentialOffsets(n).length;
  const outPeers = (step: number): Int32Array => {
    checkStep(step);
    const out = new Int32Array(n);
    if (n === 1) return out.fill(0);
    if (mode === 'exponential') {
      const s = onePeerOffset(n, step);
      for (let i = 0; i < n; i++) out[i] = (i + s) % n;
    } else {
      const rng = createRng(mixSeed(options.seed as number, step));
      for (let i = 0; i < n; i++) {
        const o = rng.int(n - 1);
        out[i] = o >= i ? o + 1 : o;
      }
    }
    return out;
  };
  const entries = (step: number): MixingTriple[] => {
    const o = outPeers(step);
    const out: MixingTriple[] = [];
    for (let i = 0; i < n; i++) {
      if (o[i] === i) out.push({ i, j: i, w: 1 });
      else out.push({ i, j: i, w: 0.5 }, { i: o[i], j: i, w: 0.5 });
    }
    return out;
  };
  return {
    name: `push-sum(${n},${mode}${mode === 'random' ? `,seed=${options.seed}` : ''})`,
    n,
    ...(mode === 'exponential' ? { period: Math.max(1, tau) } : {}),
    outPeers,
    at: (step) => mixingFromEntries(`push-sum(${n},${mode})@${step}`, n, entries(step)),
    node(step, i) {
      checkNode(n, i);
      return nodeFromEntries(i, entries(step).filter((e) => e.i === i || e.j === i));
    },
  };
}
