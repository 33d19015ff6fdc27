// Network Lasso by decentralized ADMM on one worker (ALGORITHMS.md §4). The worker hosts a part of the
// graph; per iteration it runs, on the GPU, the batched x-update of all its nodes and the messages
// m_ij = x_i + u_ij (one submit), exchanges the cut-edge messages with each neighbouring worker (one
// tensor per neighbour, waiting only for its neighbours), then the z-update of all its copies, the
// u-update and the per-node residual statistics (one submit). Stopping is decentralized: local
// residual tests, streak counters piggybacked on the messages, a diameter bound and a flooded halt.
// The same code runs alone (no transport), in-process (simulation) and over NATS. When a worker fails,
// the survivors re-partition the graph over the new membership view and solve the interrupted λ again
// from the previous λ's solution (regroup; docs/elastic.md).
import type { Gpu, StepEncoder } from '@gossamer/gpu';
import {
  admmEdgeMessages,
  admmUUpdate,
  admmZUpdateFromMessages,
  gatherRows,
  netlassoNodeResiduals,
  netlassoXUpdateNewton,
  netlassoXUpdateRidge,
  netlassoXUpdateSquared,
  scale,
  span,
  type NewtonOptions,
} from '@gossamer/kernels';
import { partitionGraph } from '@gossamer/topology';
import type { Transport } from '@gossamer/transport';
import { ViewFollower, isViewFault } from '../elastic.js';
import type { WorkerLayout } from './layout.js';
import { FrozenNodes } from './frozen.js';
import { NETLASSO_TENSOR, assembleReport, createGraphPart, destroyGraphPart, warmStartGraphPart, type GraphPart } from './part.js';
import { newtonLossOf, validateProblem, type NetlassoProblem } from './problem.js';
import { stoppingDiameter } from './path.js';
import { regroup, type LambdaSolution } from './regroup.js';
import { residualsFromSums, type GlobalResiduals } from './residuals.js';

export { NETLASSO_TENSOR } from './part.js';
export { lambdaPath, stoppingDiameter } from './path.js';

export interface ResidualBalancing {
  /** Rebalance when one residual exceeds the other by this factor (default 10). */
  mu?: number;
  /** Multiply or divide ρ by this (default 2). */
  tau?: number;
  /** Only during the first this many iterations of each λ (default 50): bounded, so ADMM converges. */
  iterations?: number;
}

export interface NetlassoOptions {
  /** Default 1e-4. */
  epsAbs?: number;
  /** Default 1e-3. */
  epsRel?: number;
  /** ρ = ρ0 + √λ per λ (default ρ0 = 1). */
  rho0?: number;
  /** A fixed ρ for every λ instead of ρ0 + √λ (e.g. the reference runs' ρ = 1). */
  rho?: number;
  /** Iteration cap per λ (default 10 000). */
  maxIterations?: number;
  /**
   * 'decentralized' (default): local tests, piggybacked streak counters and a flooded halt, no
   * collective per iteration. 'global': the global test of ALGORITHMS.md §4 on all-reduced residuals
   * every iteration (a barrier; for comparison with centralized ADMM).
   */
  stopping?: 'decentralized' | 'global';
  /** Diameter bound D of the stopping rule (default: computed from the graph, see stoppingDiameter). */
  diameterBound?: number;
  /** Residual balancing (ρ ×τ if r > μs, ÷τ if s > μr, u rescaled by ρ_old/ρ_new); off by default. */
  residualBalancing?: boolean | ResidualBalancing;
  /** Newton x-updates: default one warm-started step; { steps, tol } for exact solves. */
  newton?: NewtonOptions;
  /** Record the global residuals of every iteration (all-reduced when there are several workers). */
  history?: boolean;
  /** Receive timeout for neighbours' messages, ms (default: the transport's). */
  receiveTimeoutMs?: number;
}

export interface NetlassoWorkerConfig {
  gpu: Gpu;
  problem: NetlassoProblem;
  /** Node → worker part (e.g. partitionGraph(...).assignment); all zeros for a single worker. */
  assignment: ArrayLike<number>;
  part: number;
  /** Required with more than one part. */
  transport?: Transport;
  /** Transport id of each part's worker (default: transport.members(), sorted). */
  workers?: readonly string[];
  /** The λ path, solved in order with warm starts (see lambdaPath). */
  lambdas: readonly number[];
  options?: NetlassoOptions;
  /** Called after each λ with its report (metrics, not printing); a λ solved again after a view change reports again. */
  onReport?: (report: NetlassoLambdaReport) => void;
  /**
   * Follow the transport's membership views (default true with several parts): when a worker
   * fails, the survivors re-partition the graph over the new view and solve the interrupted λ again
   * (docs/elastic.md, "Network Lasso"). False: a failure ends the run.
   */
  elastic?: boolean;
  /** Node → part for `parts` workers, for re-partitioning over a new view (default partitionGraph(graph, parts)). */
  partition?: (parts: number) => ArrayLike<number>;
  /** Called when this worker has re-partitioned over a new view. */
  onRegroup?: (event: NetlassoRegroup) => void;
  /**
   * Join a run in progress (a restarted worker; its transport joins): wait for the view that adds
   * this worker, take the previous λ's solution from a member, then solve on with the others. Its
   * reports start at the λ the run resumes at (docs/elastic.md).
   */
  joining?: boolean;
  /** Bytes every worker of the run computes identically (e.g. a problem fingerprint, ≤ 32 used): every regroup checks that the members agree, so a joiner that built another problem is refused. */
  fingerprint?: Uint8Array;
}

/** This worker's place after a view change. */
export interface NetlassoRegroup {
  epoch: number;
  /** members[p] hosts part p. */
  members: readonly string[];
  part: number;
  /** Nodes this worker hosts now. */
  nodes: number;
  /** The λ (index) the survivors solve next: the first that some of them had not finished. */
  resumeLambdaIndex: number;
  /** From the failure to the agreement on where to resume. */
  waitedMs: number;
  /** Members that joined with no state (restarted workers), and the member that handed them the solution to start from. */
  joiners: readonly string[];
  source: string;
}

export interface ResidualRecord extends GlobalResiduals {
  iteration: number;
  rho: number;
}

/** Everything reported for one λ; identical on every worker. */
export interface NetlassoLambdaReport {
  lambdaIndex: number;
  lambda: number;
  /** ρ at the end of this λ. */
  rho: number;
  /**
   * ADMM iterations this worker ran for this λ: the same on every worker of a connected graph; on a
   * disconnected one, until this worker's own nodes halted (halted nodes keep their state).
   */
  iterations: number;
  /** Whether the stopping rule halted it (false: the iteration cap). */
  converged: boolean;
  /** Decentralized rule: first iteration (0-based) at which some node's counter reached D + 1. */
  haltDetectedAt: number | null;
  diameterBound: number;
  objective: number;
  /** Σ f_i(x_i). */
  loss: number;
  /** λ Σ w ‖x_j − x_k‖. */
  penalty: number;
  /** Global residuals of the last iteration. */
  residuals: GlobalResiduals;
  consensusEdges: number;
  consensusFraction: number;
  /** Connected components of the consensus edges (θ = ½ at the last z-update). */
  clusters: number;
  clusterLabels: Int32Array;
  /** Adjusted Rand index of the clusters vs the problem's groups (null without ground truth). */
  ari: number | null;
  metricName: string;
  metric: number | null;
  /** [N × d] every node's x (gathered for the report). */
  x: Float32Array;
  history?: ResidualRecord[];
  rhoChanges: number;
  seconds: number;
  /** Time spent waiting for neighbours' messages. */
  waitSeconds: number;
}

export interface NetlassoWorkerResult {
  reports: NetlassoLambdaReport[];
  layout: WorkerLayout;
}

/** How one worker places itself in the run: its share of the graph and who hosts the other parts. */
interface Placement {
  readonly part: GraphPart;
  /** Transport ids of the parts' workers: members[p] hosts part p. */
  readonly members: readonly string[];
  /** The membership view its operations are planned in (undefined: the transport's views are not followed). */
  readonly viewEpoch: number | undefined;
}

/** What every λ of a run shares. */
interface Solver {
  readonly config: NetlassoWorkerConfig;
  readonly transport: Transport | undefined;
  readonly epsAbs: number;
  readonly epsRel: number;
  readonly maxIterations: number;
  readonly D: number;
  readonly stopping: 'decentralized' | 'global';
  readonly balancing: Required<ResidualBalancing> | undefined;
  readonly newton: ReturnType<typeof newtonLossOf>;
}

/** Runs the λ path on one worker. Every worker of a run calls this with the same problem, assignment, λs and options. */
export async function runNetlassoWorker(config: NetlassoWorkerConfig): Promise<NetlassoWorkerResult> {
  const { gpu, problem } = config;
  validateProblem(problem);
  const o = config.options ?? {};
  const parts = Math.max(...Array.from(config.assignment)) + 1;
  const transport = config.transport;
  if (parts > 1 && !transport) throw new Error(`runNetlassoWorker: ${parts} parts need a transport`);
  const workers = config.workers ?? (transport ? [...transport.members()].sort() : ['local']);
  if (parts > 1 && workers.length < parts) throw new Error(`runNetlassoWorker: ${parts} parts but only ${workers.length} workers`);
  const solver: Solver = {
    config,
    transport,
    epsAbs: o.epsAbs ?? 1e-4,
    epsRel: o.epsRel ?? 1e-3,
    maxIterations: o.maxIterations ?? 10_000,
    D: o.diameterBound ?? stoppingDiameter(problem.graph),
    stopping: o.stopping ?? 'decentralized',
    balancing: o.residualBalancing ? { mu: 10, tau: 2, iterations: 50, ...(o.residualBalancing === true ? {} : o.residualBalancing) } : undefined,
    newton: newtonLossOf(problem.loss),
  };
  const initial = workers.slice(0, parts);
  const follower = parts > 1 && config.elastic !== false ? new ViewFollower(transport!) : undefined;
  if (config.joining && follower === undefined) throw new Error('runNetlassoWorker: joining needs a transport, several parts and elastic views');
  // A joiner has no part until the view that adds it.
  let placement: Placement | undefined = config.joining ? undefined : { part: createGraphPart(gpu, problem, config.assignment, config.part), members: initial, viewEpoch: follower?.epoch };
  let reports: NetlassoLambdaReport[] = [];
  /** λs finished: the index of the next. */
  let finished = 0;
  /** The solution a joiner took from its source (the λ before the first it solves). */
  let received: LambdaSolution | undefined;
  const solution = (i: number): LambdaSolution | undefined => {
    const r = reports.find((rep) => rep.lambdaIndex === i);
    return r ? { lambdaIndex: i, x: r.x, rho: r.rho } : received?.lambdaIndex === i ? received : undefined;
  };
  let rho = 0;
  let viewFault = config.joining === true;
  try {
    while (finished < config.lambdas.length) {
      if (viewFault) {
        viewFault = false;
        const t0 = performance.now();
        const g = await regroup(follower!, transport!, initial, {
          finished,
          hasState: placement !== undefined,
          solution,
          lambdas: config.lambdas.length,
          xLength: problem.graph.n * problem.dim,
          fingerprint: config.fingerprint,
          receiveTimeoutMs: o.receiveTimeoutMs,
        });
        // Members that had finished λ `resume` already solve it again with the others.
        const previous = g.resume > 0 ? (g.received ?? solution(g.resume - 1)) : undefined;
        if (g.received) received = g.received;
        reports = reports.filter((r) => r.lambdaIndex < g.resume);
        finished = g.resume;
        if (placement) destroyGraphPart(placement.part);
        placement = undefined; // destroyed: the finally must not destroy it again if the next part fails to build
        const { members } = g;
        const assignment = members.length > 1 ? (config.partition ?? ((k: number) => partitionGraph(problem.graph, k).assignment))(members.length) : new Int32Array(problem.graph.n);
        const part = createGraphPart(gpu, problem, assignment, members.indexOf(transport!.id));
        placement = { part, members, viewEpoch: g.view.epoch };
        if (previous) warmStartGraphPart(gpu, part, previous.x, problem.dim);
        rho = previous?.rho ?? 0;
        config.onRegroup?.({
          epoch: g.view.epoch,
          members,
          part: members.indexOf(transport!.id),
          nodes: part.layout.nodes.length,
          resumeLambdaIndex: g.resume,
          waitedMs: performance.now() - t0,
          joiners: g.joiners,
          source: g.source,
        });
        continue;
      }
      try {
        const solved = await solveLambda(solver, placement!, finished, rho);
        rho = solved.rho;
        reports.push(solved.report);
        finished++;
        config.onReport?.(solved.report);
      } catch (error) {
        if (follower === undefined || !isViewFault(error)) throw error;
        viewFault = true;
      }
    }
  } finally {
    await gpu.sync().catch(() => undefined);
    if (placement) destroyGraphPart(placement.part);
  }
  return { reports, layout: placement!.part.layout };
}

/** One λ from the part's current state (warm start) to the stopping rule, and its report. */
async function solveLambda(solver: Solver, placement: Placement, li: number, rhoBefore: number): Promise<{ report: NetlassoLambdaReport; rho: number }> {
  const { config, transport } = solver;
  const { gpu, problem } = config;
  const o = config.options ?? {};
  const d = problem.dim;
  const { part, members, viewEpoch } = placement;
  const { layout, buffers, nl, C, R, degree, own, node } = part;
  const multi = members.length > 1;
  const viewOption = viewEpoch === undefined ? {} : { viewEpoch };
  const xUpdate = (step: StepEncoder, rho: number): void => {
    const args = { ...node, rho };
    if (problem.loss.kind === 'squared') netlassoXUpdateSquared(step, { ...args, anchors: span(buffers.data, 0, nl * d) });
    else if (problem.loss.kind === 'ridge') netlassoXUpdateRidge(step, { ...args, factors: span(buffers.data, 0, nl * (d * d + 2 * d)) });
    else netlassoXUpdateNewton(step, { ...args, samples: part.samples!, loss: solver.newton!, newton: o.newton });
  };
  const allReduceSum = async (tensor: number, round: number, data: Float32Array): Promise<Float32Array> =>
    multi ? transport!.allReduce({ tensor, round }, data, { op: 'sum', group: members, ...viewOption }) : data;

  const lambda = config.lambdas[li];
  const started = performance.now();
  let waitMs = 0;
  let rho = o.rho ?? (o.rho0 ?? 1) + Math.sqrt(lambda);
  // Warm start from the previous λ; u is the scaled dual y/ρ, so it follows ρ.
  let uScale = rhoBefore > 0 ? rhoBefore / rho : 1;
  let rhoChanges = 0;
  const streak = new Int32Array(nl);
  let counter = new Float64Array(nl);
  let haltAt = new Float64Array(nl).fill(Infinity);
  const remoteCounter = new Float64Array(R);
  const remoteHalt = new Float64Array(R).fill(Infinity);
  let detectedAt: number | null = null;
  let converged = false;
  let iterations = 0;
  const history: ResidualRecord[] = [];
  const { D, balancing, epsAbs, epsRel, stopping } = solver;
  const frozen = new FrozenNodes(gpu, part, d);
  try {
    for (let k = 0; k < solver.maxIterations; k++) {
      iterations = k + 1;
      // 1. x-update of every hosted node, then the messages m_ij = x_i + u_ij of every copy.
      const stepA = gpu.beginStep('netlasso-x');
      if (uScale !== 1) scale(stepA, node.u, uScale);
      uScale = 1;
      xUpdate(stepA, rho);
      admmEdgeMessages(stepA, { x: node.x, u: node.u, owners: span(buffers.owners, 0, C), messages: own, dim: d });
      const outgoing = R > 0 ? stepA.readback(buffers.messages, 0, R * d * 4) : undefined;
      stepA.submit();
      // 2. Exchange the cut-edge messages (with last iteration's counters) with each neighbour.
      if (outgoing) {
        const rows = new Float32Array(await outgoing);
        const key = { tensor: NETLASSO_TENSOR.messages + li, round: k };
        const waitStart = performance.now();
        // Blocks whose rows have all halted are not exchanged: both ends halted in the same iteration.
        const live = layout.neighbours.filter((nb) => {
          for (let r = nb.first; r < nb.first + nb.rows; r++) if (!(haltAt[layout.owners[r]] < k)) return true;
          return false;
        });
        const sends = live.map((nb) => {
          const payload = new Float32Array(nb.rows * (d + 2));
          payload.set(rows.subarray(nb.first * d, (nb.first + nb.rows) * d));
          for (let r = 0; r < nb.rows; r++) {
            const owner = layout.owners[nb.first + r];
            payload[nb.rows * d + r] = counter[owner];
            // "No halt planned" travels as −1: transports carry finite values only.
            payload[nb.rows * (d + 1) + r] = Number.isFinite(haltAt[owner]) ? haltAt[owner] : -1;
          }
          return transport!.send(members[nb.part], key, payload, viewOption);
        });
        const receives = live.map(async (nb) => {
          const m = await transport!.receive(members[nb.part], key, { timeoutMs: o.receiveTimeoutMs, ...viewOption });
          if (m.length !== nb.rows * (d + 2)) throw new Error(`Network Lasso: worker ${members[nb.part]} sent ${m.length} floats, expected ${nb.rows * (d + 2)}`);
          gpu.write(buffers.messages, (C + nb.first) * d * 4, m.subarray(0, nb.rows * d));
          for (let r = 0; r < nb.rows; r++) {
            remoteCounter[nb.first + r] = m[nb.rows * d + r];
            const halt = m[nb.rows * (d + 1) + r];
            remoteHalt[nb.first + r] = halt < 0 ? Infinity : halt;
          }
        });
        await Promise.all([...receives, ...sends]);
        waitMs += performance.now() - waitStart;
      }
      // 3. z-update of every copy from (own message, partner's message), u-update, residual statistics.
      const stepB = gpu.beginStep('netlasso-zu');
      gatherRows(stepB, {
        source: { buffer: buffers.messages, offset: 0, length: (C + R) * d },
        indices: { buffer: buffers.partner, offset: 0, count: C },
        destination: { buffer: buffers.received, offset: 0, length: C * d },
        rowLength: d,
      });
      if (C > 0) stepB.copy(buffers.z, 0, buffers.zOld, 0, C * d * 4);
      admmZUpdateFromMessages(
        stepB,
        { own, received: span(buffers.received, 0, C * d), weights: span(buffers.weights, 0, C), z: node.z, theta: span(buffers.theta, 0, C), dim: d },
        { lambda, rho },
      );
      admmUUpdate(stepB, { x: node.x, z: node.z, owners: span(buffers.owners, 0, C), u: node.u, dim: d });
      frozen.restore(stepB);
      netlassoNodeResiduals(stepB, { ...node, rho, zOld: span(buffers.zOld, 0, C * d), stats: span(buffers.stats, 0, 5 * nl) });
      const statsRead = stepB.readback(buffers.stats, 0, 5 * nl * 4);
      stepB.submit();
      const stats = new Float32Array(await statsRead);

      // 4. Stopping. Local tests (ALGORITHMS.md §4) per node, then the counters
      //    c_i(k) = min(streak_i(k), 1 + min_j c_j(k−1)) and the flooded halt iteration.
      const nextCounter = new Float64Array(nl);
      const nextHalt = new Float64Array(nl);
      let allHalted = nl > 0;
      for (let i = 0; i < nl; i++) {
        const deg = degree[i];
        const r = Math.sqrt(stats[5 * i]);
        const s = rho * Math.sqrt(stats[5 * i + 1]);
        const epsPri = Math.sqrt(d * deg) * epsAbs + epsRel * Math.max(Math.sqrt(deg * stats[5 * i + 2]), Math.sqrt(stats[5 * i + 3]));
        const epsDual = Math.sqrt(d) * epsAbs + epsRel * rho * Math.sqrt(stats[5 * i + 4]);
        streak[i] = r <= epsPri && s <= epsDual ? streak[i] + 1 : 0;
        let neighbourCounter = Infinity;
        let halt = haltAt[i];
        for (const ref of layout.nodeNeighbours[i]) {
          neighbourCounter = Math.min(neighbourCounter, ref >= 0 ? counter[ref] : remoteCounter[-1 - ref]);
          halt = Math.min(halt, ref >= 0 ? haltAt[ref] : remoteHalt[-1 - ref]);
        }
        nextCounter[i] = Math.min(streak[i], 1 + neighbourCounter);
        if (nextCounter[i] >= D + 1) {
          // Every node within D hops (all of its component) was converged at k − D.
          if (detectedAt === null) detectedAt = k;
          halt = Math.min(halt, k + D);
        }
        nextHalt[i] = halt;
        if (!(halt <= k)) allHalted = false;
      }
      counter = nextCounter;
      haltAt = nextHalt;
      if (!allHalted) {
        const halted: number[] = [];
        for (let i = 0; i < nl; i++) if (haltAt[i] <= k && !frozen.has(i)) halted.push(i);
        frozen.freeze(halted);
      }

      const balanceNow = balancing !== undefined && k < balancing.iterations;
      let global: GlobalResiduals | undefined;
      if (stopping === 'global' || o.history || balanceNow) {
        const local = [0, 0, 0, 0, 0];
        for (let i = 0; i < nl; i++) {
          local[0] += stats[5 * i];
          local[1] += stats[5 * i + 1];
          local[2] += degree[i] * stats[5 * i + 2];
          local[3] += stats[5 * i + 3];
          local[4] += stats[5 * i + 4];
        }
        const sums = await allReduceSum(NETLASSO_TENSOR.residuals + li, k, Float32Array.from(local));
        global = residualsFromSums(sums, problem.graph.n, d, problem.graph.edges.length, rho, epsAbs, epsRel);
        if (o.history) history.push({ iteration: k, rho, ...global });
      }
      if (stopping === 'global' ? global!.primal <= global!.epsPrimal && global!.dual <= global!.epsDual : allHalted) {
        converged = true;
        break;
      }
      if (balanceNow && global) {
        const { mu, tau } = balancing!;
        if (global.primal > mu * global.dual) {
          rho *= tau;
          uScale = 1 / tau;
          rhoChanges++;
        } else if (global.dual > mu * global.primal) {
          rho /= tau;
          uScale = tau;
          rhoChanges++;
        }
      }
    }
  } finally {
    frozen.destroy();
  }
  const report = await assembleReport({
    gpu,
    problem,
    layout,
    buffers,
    lambdaIndex: li,
    lambda,
    rho,
    iterations,
    converged,
    detectedAt,
    diameterBound: D,
    allReduceSum,
    epsAbs,
    epsRel,
  });
  report.history = o.history ? history : undefined;
  report.rhoChanges = rhoChanges;
  report.seconds = (performance.now() - started) / 1000;
  report.waitSeconds = waitMs / 1000;
  return { report, rho };
}
