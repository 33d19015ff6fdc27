/**
 * Graph builders: ring, 2-D torus, static exponential graph, complete graph, random d-regular,
 * Erdős–Rényi G(n, p). Random builders are deterministic given their seed.
 */
import { graphFromPairs, isConnected, TopologyError, type Graph } from './graph.js';
import { createRng, type Rng } from './rng.js';

function checkCount(n: number, what: string, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new TopologyError(`${what} must be an integer ≥ ${min}, got ${n}`);
}

/** Ring (cycle) i — i+1 mod n. n = 1: no edge; n = 2: a single edge. Every degree is 2 for n ≥ 3. */
export function ring(n: number): Graph {
  checkCount(n, 'ring: n');
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) pairs.push([i, (i + 1) % n]);
  return graphFromPairs(`ring(${n})`, n, pairs);
}

/**
 * 2-D torus (rows × cols grid with wrap-around): node id = r·cols + c, edges to (r, c+1 mod cols)
 * and (r+1 mod rows, c). Degree 4 when rows, cols ≥ 3; a side of 2 gives degree 3 along it
 * (the wrap-around edge coincides with the direct one and is merged); a side of 1 adds no edges.
 */
export function torus(rows: number, cols: number): Graph {
  checkCount(rows, 'torus: rows');
  checkCount(cols, 'torus: cols');
  const n = rows * cols;
  const pairs: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      pairs.push([i, r * cols + ((c + 1) % cols)]);
      pairs.push([i, ((r + 1) % rows) * cols + c]);
    }
  }
  return graphFromPairs(`torus(${rows}x${cols})`, n, pairs);
}

/**
 * Offsets of the exponential graphs: 2^k for k = 0..τ−1, with τ = ⌈log₂ n⌉ (so 2^k < n; equivalently
 * k = 0..⌊log₂(n−1)⌋). Empty for n = 1.
 */
export function exponentialOffsets(n: number): number[] {
  checkCount(n, 'n');
  const out: number[] = [];
  for (let s = 1; s < n; s *= 2) out.push(s);
  return out;
}

/**
 * Static exponential graph (undirected support): node i is adjacent to i ± 2^k mod n for
 * k = 0..⌈log₂ n⌉−1, deduplicated (for n a power of two, +n/2 and −n/2 are the same neighbour, so
 * every degree is 2·log₂ n − 1). This is the graph; its usual mixing weights are
 * {@link exponentialWeights} (Ying et al. 2021), which give the reference spectral gaps
 * 0.40 / 0.333 / 0.286 for n = 16 / 32 / 64 — Metropolis–Hastings weights on this graph give a
 * different (larger) gap, see the package README.
 */
export function exponential(n: number): Graph {
  checkCount(n, 'exponential: n');
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (const s of exponentialOffsets(n)) pairs.push([i, (i + s) % n]);
  return graphFromPairs(`exponential(${n})`, n, pairs);
}

/** Complete graph K_n: n(n−1)/2 edges. */
export function complete(n: number): Graph {
  checkCount(n, 'complete: n');
  const pairs: [number, number][] = [];
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
  return graphFromPairs(`complete(${n})`, n, pairs);
}

export interface RandomGraphOptions {
  /** Seed (a safe integer). The same seed always gives the same graph. */
  readonly seed: number;
  /** Resample until the graph is connected (default true). */
  readonly connected?: boolean;
  /** Give up (with an error) after this many samples (default 1000). */
  readonly maxAttempts?: number;
}

/**
 * One attempt of the Steger–Wormald pairing process: repeatedly join two random free stubs whose
 * nodes differ and are not yet adjacent. Returns null when it gets stuck (caller restarts).
 */
function pairStubs(n: number, d: number, rng: Rng): [number, number][] | null {
  const stubs: number[] = [];
  for (let i = 0; i < n; i++) for (let k = 0; k < d; k++) stubs.push(i);
  const adjacent = new Set<number>();
  const key = (a: number, b: number): number => (a < b ? a * n + b : b * n + a);
  const edges: [number, number][] = [];
  let len = stubs.length;
  const take = (x: number, y: number): void => {
    // Remove stub positions x and y (swap with the tail; remove the larger index first).
    const hi = Math.max(x, y);
    const lo = Math.min(x, y);
    stubs[hi] = stubs[--len];
    stubs[lo] = stubs[--len];
  };
  while (len > 0) {
    let found = false;
    for (let t = 0; t < 64; t++) {
      const x = rng.int(len);
      const y = rng.int(len);
      const a = stubs[x];
      const b = stubs[y];
      if (x === y || a === b || adjacent.has(key(a, b))) continue;
      adjacent.add(key(a, b));
      edges.push([a, b]);
      take(x, y);
      found = true;
      break;
    }
    if (found) continue;
    // Random tries failed: list every suitable stub pair and pick one, or report being stuck.
    const ok: [number, number][] = [];
    for (let x = 0; x < len; x++) {
      for (let y = x + 1; y < len; y++) {
        const a = stubs[x];
        const b = stubs[y];
        if (a !== b && !adjacent.has(key(a, b))) ok.push([x, y]);
      }
    }
    if (ok.length === 0) return null;
    const [x, y] = ok[rng.int(ok.length)];
    adjacent.add(key(stubs[x], stubs[y]));
    edges.push([stubs[x], stubs[y]]);
    take(x, y);
  }
  return edges;
}

/**
 * Random d-regular graph on n nodes, seeded. Construction: the Steger–Wormald pairing process
 * (stubs joined at random, never creating a self loop or a parallel edge; restart if stuck),
 * resampled until connected unless `connected: false`. Special cases: d = n − 1 is K_n; d = 2 with
 * `connected` is a uniformly random Hamiltonian cycle (a ring through a random permutation), since a
 * random 2-regular graph is rarely connected. Errors: n·d odd, d ≥ n, or a connected graph asked
 * for with d ≤ 1 and n > 2.
 */
export function randomRegular(n: number, d: number, options: RandomGraphOptions): Graph {
  checkCount(n, 'randomRegular: n');
  if (!Number.isInteger(d) || d < 0) throw new TopologyError(`randomRegular: d must be a non-negative integer, got ${d}`);
  if (d >= n) throw new TopologyError(`randomRegular: degree d = ${d} needs d < n (n = ${n})`);
  if ((n * d) % 2 !== 0) {
    throw new TopologyError(`randomRegular: n·d must be even (n = ${n}, d = ${d}): no ${d}-regular graph on ${n} nodes`);
  }
  const connected = options.connected ?? true;
  const maxAttempts = options.maxAttempts ?? 1000;
  const name = `random-regular(${n},${d},seed=${options.seed})`;
  if (connected && d <= 1 && n > 2) {
    throw new TopologyError(`randomRegular: a ${d}-regular graph on ${n} > 2 nodes cannot be connected`);
  }
  const rng = createRng(options.seed);
  if (connected && d === 2) {
    const perm = rng.shuffle(Array.from({ length: n }, (_, i) => i));
    const pairs: [number, number][] = perm.map((a, k) => [a, perm[(k + 1) % n]]);
    return graphFromPairs(name, n, pairs);
  }
  if (d === n - 1) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) pairs.push([i, j]);
    return graphFromPairs(name, n, pairs);
  }
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const edges = pairStubs(n, d, rng);
    if (edges === null) continue;
    const g = graphFromPairs(name, n, edges);
    if (!connected || isConnected(g)) return g;
  }
  throw new TopologyError(
    `randomRegular: no ${connected ? 'connected ' : ''}${d}-regular graph on ${n} nodes after ${maxAttempts} attempts`,
  );
}

/**
 * Erdős–Rényi G(n, p), seeded: each of the n(n−1)/2 pairs (i < j, in lexicographic order) is an
 * edge with probability p. With `connected` (default true) the graph is resampled (continuing the
 * same random stream) until connected; a clear error after `maxAttempts` (likely when p is well
 * below ln(n)/n). O(n²) per sample.
 */
export function erdosRenyi(n: number, p: number, options: RandomGraphOptions): Graph {
  checkCount(n, 'erdosRenyi: n');
  if (!(typeof p === 'number' && p >= 0 && p <= 1)) throw new TopologyError(`erdosRenyi: p must be in [0, 1], got ${p}`);
  const connected = options.connected ?? true;
  const maxAttempts = options.maxAttempts ?? 1000;
  const rng = createRng(options.seed);
  const name = `erdos-renyi(${n},${p},seed=${options.seed})`;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (rng.float() < p) pairs.push([i, j]);
    const g = graphFromPairs(name, n, pairs);
    if (!connected || isConnected(g)) return g;
  }
  throw new TopologyError(
    `erdosRenyi: no connected G(${n}, ${p}) sample in ${maxAttempts} attempts ` +
      `(connectivity needs p above about ln(n)/n = ${(Math.log(n) / n).toFixed(4)})`,
  );
}
