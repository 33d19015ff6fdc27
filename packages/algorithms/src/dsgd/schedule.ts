// Communication schedules (ALGORITHMS.md §1–2): what each worker does after its local steps in a
// round. Every decision is a pure function of (schedule, round, seed), so all workers agree on who
// talks to whom without talking about it.
import {
  buildTopology,
  isConnected,
  onePeerExponential,
  parseTopologySpec,
  pushSum,
  randomPairwise,
  type MixingWeights,
  type NodeMixing,
  type MixingSchedule,
} from '@gossamer/topology';

/**
 * - `gossip`: D-SGD, every round mix with the topology's neighbours (W of the topology, or the
 *   one-peer exponential schedule's W(round)).
 * - `constant(r)`: symmetric random pairwise averaging with probability r per round.
 * - `window(start, length)`: exact averaging in rounds [start·T, (start+length)·T), constant(r)
 *   elsewhere (start and length are fractions of the T rounds).
 * - `late(point)`: constant(r) before point·T, exact averaging from it on.
 * - `none`: no communication (local training).
 * Every schedule but `gossip` may be followed by the final merge (see merge.ts).
 */
export type CommunicationSchedule =
  | { kind: 'gossip' }
  | { kind: 'constant'; r: number }
  | { kind: 'window'; start: number; length: number; r: number }
  | { kind: 'late'; point: number; r: number }
  | { kind: 'none' };

/** What one worker does in one round. */
export type RoundPlan =
  | { kind: 'none' }
  /** Mix with peers: send x to `node.send`, receive from `node.recv`, x ← self·x + Σ w·x_peer. */
  | { kind: 'mix'; node: NodeMixing }
  /** Exact average over all workers (all-reduce). */
  | { kind: 'average' };

const fraction = (what: string, v: number) => {
  if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new Error(`schedule: ${what} must be in [0, 1], got ${v}`);
  return v;
};

/**
 * Parses `gossip`, `none`, `constant:R`, `window:START:LENGTH[:R]`, `late:POINT[:R]`, and
 * `final-merge[:R]` (constant(R) during training, R default 0, with the final merge requested
 * separately). Returns the schedule and whether a final merge is implied.
 */
export function parseSchedule(text: string): { schedule: CommunicationSchedule; finalMerge: boolean } {
  const [kind, ...args] = text.trim().split(':');
  const num = (i: number, dflt?: number) => {
    if (args[i] === undefined) {
      if (dflt === undefined) throw new Error(`schedule ${text}: missing argument ${i + 1}`);
      return dflt;
    }
    const v = Number(args[i]);
    if (!Number.isFinite(v)) throw new Error(`schedule ${text}: "${args[i]}" is not a number`);
    return v;
  };
  switch (kind) {
    case 'gossip':
      return { schedule: { kind: 'gossip' }, finalMerge: false };
    case 'none':
    case 'local':
      return { schedule: { kind: 'none' }, finalMerge: false };
    case 'constant':
      return { schedule: { kind: 'constant', r: fraction('r', num(0)) }, finalMerge: false };
    case 'window':
      return { schedule: { kind: 'window', start: fraction('start', num(0)), length: fraction('length', num(1)), r: fraction('r', num(2, 0)) }, finalMerge: false };
    case 'late':
      return { schedule: { kind: 'late', point: fraction('point', num(0)), r: fraction('r', num(1, 0)) }, finalMerge: false };
    case 'final-merge':
      return { schedule: { kind: 'constant', r: fraction('r', num(0, 0)) }, finalMerge: true };
    default:
      throw new Error(
        `unknown schedule "${text}": use gossip, none, constant:R, window:START:LENGTH[:R], late:POINT[:R] or final-merge[:R] (fractions of the rounds)`,
      );
  }
}

export function describeSchedule(s: CommunicationSchedule): string {
  switch (s.kind) {
    case 'gossip':
      return 'gossip';
    case 'none':
      return 'none';
    case 'constant':
      return `constant(${s.r})`;
    case 'window':
      return `window(${s.start}, ${s.length}; r=${s.r})`;
    case 'late':
      return `late(${s.point}; r=${s.r})`;
  }
}

/** The mixing for `gossip` rounds: a static topology's W, or a time-varying schedule. */
export interface GossipTopology {
  readonly name: string;
  readonly n: number;
  node(round: number, worker: number): NodeMixing;
  /** The full W(round) (for simulations and tests). */
  at(round: number): MixingWeights;
  /**
   * Column-stochastic only (directed, e.g. push-sum's one random out-peer): mix with push-sum
   * weights and de-bias (SGP), since plain mixing would drift the mean.
   */
  readonly pushSum?: boolean;
}

/**
 * A topology from its CLI spec (`ring:16`, `torus:4x4`, `exponential:16`, `one-peer-exponential:16`,
 * `complete:8`, `random-regular:16:4`, `erdos-renyi:16:0.3`), with Metropolis–Hastings weights (or
 * the exponential graph's own).
 */
export function gossipTopology(spec: string, seed = 0): GossipTopology {
  const [kind, n] = spec.split(':');
  if (kind === 'one-peer-exponential' || kind === 'one-peer') {
    const size = Number(n);
    if (!Number.isInteger(size) || size < 1) throw new Error(`topology ${spec}: expected one-peer-exponential:N`);
    const sched: MixingSchedule = onePeerExponential(size);
    return { name: sched.name, n: size, node: (round, i) => sched.node(round, i), at: (round) => sched.at(round) };
  }
  if (kind === 'push-sum') {
    // push-sum:N (one-peer exponential out-peer) or push-sum:N:random (a random out-peer per round).
    const size = Number(n);
    const random = spec.split(':')[2] === 'random';
    if (!Number.isInteger(size) || size < 1) throw new Error(`topology ${spec}: expected push-sum:N or push-sum:N:random`);
    const sched = pushSum(size, random ? { peer: 'random', seed } : {});
    return { name: sched.name, n: size, node: (round, i) => sched.node(round, i), at: (round) => sched.at(round), pushSum: true };
  }
  const { weights } = buildTopology(parseTopologySpec(spec, { seed }));
  const nodes = weights.nodes;
  return { name: weights.name, n: weights.n, node: (_round, i) => nodes[i], at: () => weights };
}

/** A near-square torus RxC with R·C = n (R ≤ C), or undefined when n is prime (a 1×n torus is a ring). */
function nearSquareTorus(n: number): string | undefined {
  let rows = Math.floor(Math.sqrt(n));
  while (n % rows !== 0) rows--;
  return rows > 1 ? `torus:${rows}x${n / rows}` : undefined;
}

/**
 * The same kind of topology for `n` workers: `ring` or `ring:16` → `ring:n`, `torus` → a near-square
 * torus, `random-regular:16:4` → `random-regular:n:4`, `erdos-renyi:16:0.3` → `erdos-renyi:n:0.3`,
 * `push-sum:16:random` → `push-sum:n:random`. Where the kind has no graph of that size (a torus of a
 * prime, a d-regular graph with d ≥ n or n·d odd) it is the ring over n, the graph that stays
 * connected over any live set.
 */
export function resizeTopologySpec(spec: string, n: number): string {
  const [kind, , ...rest] = spec.trim().split(':');
  switch (kind) {
    case 'torus':
      return nearSquareTorus(n) ?? `ring:${n}`;
    case 'random-regular':
    case 'regular': {
      const d = Number(rest[0]);
      if (d >= n - 1) return `complete:${n}`;
      return (n * d) % 2 === 0 ? `${kind}:${n}:${d}` : `ring:${n}`;
    }
    case 'erdos-renyi':
    case 'er':
    case 'push-sum':
      return [kind, String(n), ...rest].join(':');
    default:
      return `${kind}:${n}`;
  }
}

/**
 * The run's topology over the `n` live workers of a membership view (ALGORITHMS.md "elastic runs"):
 * the configured kind resized to n (resizeTopologySpec), with its own weights (Metropolis–Hastings
 * on the new graph: doubly stochastic, so the survivors' mean is preserved). A resized graph that
 * cannot be built or is not connected (an Erdős–Rényi draw) falls back to the ring over n.
 */
export function topologyForView(spec: string, n: number, seed = 0): GossipTopology {
  const resized = resizeTopologySpec(spec, n);
  if (/^(one-peer-exponential|one-peer|push-sum):/.test(resized)) return gossipTopology(resized, seed);
  try {
    const { graph } = buildTopology(parseTopologySpec(resized, { seed }));
    if (isConnected(graph)) return gossipTopology(resized, seed);
  } catch {
    // no graph of that kind and size: the ring below
  }
  return gossipTopology(`ring:${n}`, seed);
}

export interface PlanContext {
  schedule: CommunicationSchedule;
  /** Total rounds T of training (windows are fractions of it). */
  rounds: number;
  workers: number;
  /** Shared seed of the random pairings. */
  seed: number;
  topology?: GossipTopology;
}

const pairingCache = new WeakMap<PlanContext, ReturnType<typeof randomPairwise>>();

/** What worker `worker` does after the local steps of round `round` (0-based). */
export function planRound(ctx: PlanContext, round: number, worker: number): RoundPlan {
  const s = ctx.schedule;
  const pairwise = (r: number): RoundPlan => {
    if (r === 0 || ctx.workers < 2) return { kind: 'none' };
    let sched = pairingCache.get(ctx);
    if (!sched) {
      sched = randomPairwise(ctx.workers, { r, seed: ctx.seed });
      pairingCache.set(ctx, sched);
    }
    const node = sched.node(round, worker);
    return node.recv.length === 0 ? { kind: 'none' } : { kind: 'mix', node };
  };
  const inFraction = (from: number, to: number) => round >= Math.floor(from * ctx.rounds) && round < Math.floor(to * ctx.rounds);
  switch (s.kind) {
    case 'none':
      return { kind: 'none' };
    case 'gossip': {
      if (!ctx.topology) throw new Error('schedule gossip needs a topology');
      const node = ctx.topology.node(round, worker);
      return node.recv.length === 0 && node.send.length === 0 ? { kind: 'none' } : { kind: 'mix', node };
    }
    case 'constant':
      return pairwise(s.r);
    case 'window':
      return inFraction(s.start, s.start + s.length) ? { kind: 'average' } : pairwise(s.r);
    case 'late':
      return inFraction(s.point, 1) ? { kind: 'average' } : pairwise(s.r);
  }
}
