// `gossamer netlasso-worker`: one worker process of a decentralized Network Lasso run (ALGORITHMS.md
// §4). Every worker of the run reads the same problem spec, builds the same problem and the same
// partition from it (deterministically), checks with its peers that they did (a fingerprint
// all-reduce), then runs its part of the λ path over NATS with runNetlassoWorker: only the messages
// of cut edges travel, and the stopping rule is decentralized. Events and per-λ results are printed as
// JSON lines; --out writes the full per-λ reports (x included) as one JSON document.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  compileNetlassoPipelines,
  fingerprintsAgree,
  lambdaPath,
  netlassoAssignment,
  netlassoProblemFromSpec,
  runNetlassoWorker,
  workerLayout,
  type NetlassoLambdaReport,
  type NetlassoOptions,
  type NetlassoProblem,
  type NetlassoProblemSpec,
  type NetlassoRegroup,
  type WorkerLayout,
} from '@gossamer/algorithms';
import { Gpu } from '@gossamer/gpu';
import type { LeaveKind, NatsTransport, Transport } from '@gossamer/transport';
import { flagKinds, numberFlag } from '../flags.js';
import { checkProblemSpec } from '../problem-schema.js';
import { UsageError, type Command } from '../command.js';
import { joinRun, joinSettingsFrom, natsJoinOptionHelp, natsJoinOptions } from '../nats-join.js';

/** Transfer-key tensor id of the start-up fingerprint check ('NO'), outside NETLASSO_TENSOR's ids. */
const FINGERPRINT_TENSOR = 0x4e4f0000;

/** One λ's report as written to --out: typed arrays as base64 little-endian bytes (exact, ±0 kept). */
export interface NetlassoReportRecord extends Omit<NetlassoLambdaReport, 'x' | 'clusterLabels'> {
  /** [N × d] float32, base64 (decode with decodeFloat32). */
  x: string;
  /** [N] int32, base64 (decode with decodeInt32). */
  clusterLabels: string;
}

/** The --out document of one worker. */
export interface NetlassoWorkerOutput {
  worker: string;
  part: number;
  workers: number;
  runId: string | null;
  problem: { name: string; nodes: number; edges: number; dim: number; loss: string };
  /** SHA-256 of the problem, the assignment, the λs and the options: equal on every worker of a run. */
  fingerprint: string;
  layout: { nodes: number; copies: number; cutRows: number; neighbours: string[] };
  lambdas: number[];
  options: NetlassoOptions;
  adapter: string;
  seconds: number;
  /** Seconds from start until every peer had joined (0 alone; a joiner: until the view that added it). */
  joinSeconds: number;
  reports: NetlassoReportRecord[];
  /** Each re-partition after a worker failed or joined (empty in a run without faults); layout is the last one's. A joiner's first is the view that added it. */
  regroups: NetlassoRegroup[];
  transport?: { bytesSent: number; bytesReceived: number; messagesSent: number };
}

const finalLayout = (l: WorkerLayout, members: readonly string[]): NetlassoWorkerOutput['layout'] => ({
  nodes: l.nodes.length,
  copies: l.copies,
  cutRows: l.cutRows,
  neighbours: l.neighbours.map((nb) => members[nb.part]),
});

const toBase64 = (a: Float32Array | Int32Array): string => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

export function decodeFloat32(base64: string): Float32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

export function decodeInt32(base64: string): Int32Array {
  const bytes = Buffer.from(base64, 'base64');
  return new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Reads a problem spec file and builds its problem; relative paths in the spec are relative to the spec file. */
/** Reads `--problem`'s spec and checks it (problemSpecSchema) and the files it names; a UsageError naming the flag. */
export function readProblemSpec(specFile: string): NetlassoProblemSpec {
  try {
    const spec: unknown = JSON.parse(readFileSync(specFile, 'utf8'));
    checkProblemSpec(spec, specFile);
    return spec as NetlassoProblemSpec;
  } catch (e) {
    throw new UsageError(`--problem ${specFile}: ${(e as Error).message}`);
  }
}

export function loadNetlassoProblem(specFile: string): { spec: NetlassoProblemSpec; problem: NetlassoProblem } {
  const spec = readProblemSpec(specFile);
  const base = dirname(resolve(specFile));
  const problem = netlassoProblemFromSpec(spec, (path) => readFileSync(isAbsolute(path) ? path : resolve(base, path), 'utf8'));
  return { spec, problem };
}

/** `0,0.1,1` (a list), or `path:start,factor,count` (λ = 0 then start·factor^k, k < count). */
export function parseLambdas(text: string): number[] {
  const t = text.trim();
  const path = /^path:(.*)$/.exec(t);
  if (path) {
    const fields = path[1].split(',').map((s) => s.trim());
    const [start, factor, count] = fields.map(Number);
    if (fields.length !== 3 || !(start > 0) || !(factor > 0) || !Number.isInteger(count) || count < 1) throw new UsageError(`--lambdas ${text}: expected path:<start>,<factor>,<count> with positive start and factor`);
    return lambdaPath({ start, factor, count });
  }
  const fields = t.split(',').map((s) => s.trim());
  const list = fields.map(Number);
  if (fields.some((f) => f === '') || list.some((v) => !Number.isFinite(v) || v < 0)) throw new UsageError(`--lambdas ${text}: expected non-negative numbers, comma-separated (or path:<start>,<factor>,<count>)`);
  return list;
}

/** SHA-256 over everything the workers of a run must agree on. */
export function netlassoFingerprint(problem: NetlassoProblem, assignment: Int32Array, lambdas: readonly number[], options: NetlassoOptions): string {
  const h = createHash('sha256');
  const add = (a: ArrayBufferView | undefined): void => {
    if (a) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    h.update('|');
  };
  h.update(JSON.stringify({ n: problem.graph.n, dim: problem.dim, loss: problem.loss, lambdas, options }));
  add(Float64Array.from(problem.graph.edges.flatMap((e) => [e.u, e.v, e.w])));
  add(assignment);
  add(problem.anchors);
  for (const s of [problem.train, problem.test]) {
    add(s?.start);
    add(s?.features);
    add(s?.labels);
  }
  add(problem.groups);
  add(problem.truth);
  return h.digest('hex');
}

/** Checks that every worker computed the same fingerprint (fingerprintsAgree), naming the fix if not. */
async function checkFingerprint(transport: Transport, group: readonly string[], fingerprint: string, timeoutMs: number): Promise<void> {
  if (!(await fingerprintsAgree(transport, { tensor: FINGERPRINT_TENSOR, round: 0 }, { group, timeoutMs }, Buffer.from(fingerprint, 'hex')))) {
    throw new Error('the workers of this run built different problems (fingerprints differ): give every worker the same --problem, --workers, --lambdas and ADMM options');
  }
}

/** The ADMM options given on the command line (only those given). */
export function netlassoOptionsFrom(values: Record<string, unknown>): NetlassoOptions {
  const o: NetlassoOptions = {};
  const epsAbs = numberFlag(values, 'eps-abs', flagKinds.positive);
  const epsRel = numberFlag(values, 'eps-rel', flagKinds.nonNegative);
  const rho0 = numberFlag(values, 'rho0', flagKinds.positive);
  const rho = numberFlag(values, 'rho', flagKinds.positive);
  const maxIterations = numberFlag(values, 'max-iterations', flagKinds.positiveInteger);
  const diameter = numberFlag(values, 'diameter', flagKinds.nonNegativeInteger);
  const newtonSteps = numberFlag(values, 'newton-steps', flagKinds.positiveInteger);
  const newtonTol = numberFlag(values, 'newton-tol', flagKinds.nonNegative);
  const receiveTimeout = numberFlag(values, 'receive-timeout', flagKinds.milliseconds);
  if (epsAbs !== undefined) o.epsAbs = epsAbs;
  if (epsRel !== undefined) o.epsRel = epsRel;
  if (rho0 !== undefined) o.rho0 = rho0;
  if (rho !== undefined) o.rho = rho;
  if (maxIterations !== undefined) o.maxIterations = maxIterations;
  if (diameter !== undefined) o.diameterBound = diameter;
  if (newtonSteps !== undefined || newtonTol !== undefined) o.newton = { steps: newtonSteps ?? 1, tol: newtonTol ?? 0 };
  if (receiveTimeout !== undefined) o.receiveTimeoutMs = receiveTimeout;
  const stopping = values.stopping;
  if (stopping !== undefined) {
    if (stopping !== 'decentralized' && stopping !== 'global') throw new UsageError(`--stopping ${String(stopping)}: expected decentralized or global`);
    o.stopping = stopping;
  }
  if (values.balancing === true) o.residualBalancing = true;
  if (values.history === true) o.history = true;
  return o;
}

/** The JSON-line summary of one λ (what a log collector reads; x is in --out). */
function lambdaEvent(worker: string, r: NetlassoLambdaReport): Record<string, unknown> {
  return {
    type: 'lambda',
    worker,
    lambdaIndex: r.lambdaIndex,
    lambda: r.lambda,
    rho: r.rho,
    iterations: r.iterations,
    converged: r.converged,
    haltDetectedAt: r.haltDetectedAt,
    objective: r.objective,
    loss: r.loss,
    penalty: r.penalty,
    residuals: r.residuals,
    consensusFraction: r.consensusFraction,
    clusters: r.clusters,
    ari: r.ari,
    metricName: r.metricName,
    metric: r.metric,
    seconds: r.seconds,
    waitSeconds: r.waitSeconds,
  };
}

export const netlassoWorker: Command = {
  name: 'netlasso-worker',
  summary: 'join a decentralized Network Lasso run (ADMM over NATS) as one worker',
  usage: '--problem <spec.json> --workers <N> --id <wK> --nats <url> --run <id> [--lambdas 0,0.1,1 | path:0.05,1.25,16] [ADMM options] [--out <file>]',
  options: {
    problem: { type: 'string' },
    workers: { type: 'string', default: '1' },
    id: { type: 'string' },
    ...natsJoinOptions,
    lambdas: { type: 'string', default: 'path:0.05,1.25,16' },
    'eps-abs': { type: 'string' },
    'eps-rel': { type: 'string' },
    rho0: { type: 'string' },
    rho: { type: 'string' },
    'max-iterations': { type: 'string' },
    stopping: { type: 'string' },
    diameter: { type: 'string' },
    balancing: { type: 'boolean', default: false },
    'newton-steps': { type: 'string' },
    'newton-tol': { type: 'string' },
    history: { type: 'boolean', default: false },
    out: { type: 'string' },
    adapter: { type: 'string' },
    'receive-timeout': { type: 'string' },
    join: { type: 'boolean', default: false },
  },
  optionHelp: {
    problem:
      'problem spec (JSON): {"generator": "clustered-quadratic"|"clustered-samples", nodes, groups, pIn, pOut, dim, seed, ...}, {"nodesCsv", "edgesCsv", "loss"}, {"json": path}, or a problem document {"loss", "nodes", "edges"}',
    workers: 'number of workers in the run (the graph is partitioned into this many parts)',
    id: 'this worker: w<K>, K < workers (part K of the partition); default w0 when alone',
    ...natsJoinOptionHelp,
    lambdas: 'λ path: comma-separated values, or path:<start>,<factor>,<count> (λ = 0, then start·factor^k)',
    'eps-abs': 'ε_abs of the stopping rule (library default 1e-4)',
    'eps-rel': 'ε_rel of the stopping rule (library default 1e-3)',
    rho0: 'ρ = ρ0 + √λ per λ (library default ρ0 = 1)',
    rho: 'a fixed ρ for every λ instead',
    'max-iterations': 'iteration cap per λ (library default 10000)',
    stopping: 'decentralized (local tests, streak counters, flooded halt; default) or global (all-reduced residuals every iteration)',
    diameter: 'diameter bound D of the decentralized stopping rule (default: computed from the graph)',
    balancing: 'residual balancing of ρ during the first 50 iterations of each λ',
    'newton-steps': 'Newton steps per x-update (Newton-solved losses; default 1)',
    'newton-tol': 'stop a node\'s Newton steps once ‖δ‖ ≤ tol (1 + ‖x‖)',
    history: 'record the global residuals of every iteration (an all-reduce per iteration)',
    out: 'write this worker\'s per-λ reports (x included) as JSON to this file',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    'receive-timeout': 'ms to wait for a neighbour\'s messages of one iteration (default 600000)',
    join: 'join the run in progress (e.g. restart a worker that failed): the members add it at once, re-partition the graph over the new view and hand it the last λ\'s solution; its reports start at the λ the run resumes at',
  },
  async run(values, _positionals, { log }) {
    const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
    const specFile = str('problem');
    if (!specFile) throw new UsageError('--problem is required');
    const workers = numberFlag(values, 'workers', flagKinds.positiveInteger);
    if (workers === undefined) throw new UsageError('--workers is required');
    const id = str('id') ?? (workers === 1 ? 'w0' : undefined);
    if (!id) throw new UsageError('--id is required with more than one worker');
    const m = /^w(\d+)$/.exec(id);
    const part = m ? Number(m[1]) : Number.NaN;
    if (!(part >= 0 && part < workers)) throw new UsageError(`--id ${id}: worker ids are w0 … w${workers - 1} for ${workers} workers`);
    const nats = str('nats');
    const runId = str('run');
    if (workers > 1 && (!nats || !runId)) throw new UsageError('--nats and --run are required with more than one worker');
    const joining = values.join === true;
    if (joining && workers === 1) throw new UsageError('--join: a run of one worker has no one to join');
    const lambdas = parseLambdas(str('lambdas') ?? '');
    const options = netlassoOptionsFrom(values);
    if (options.receiveTimeoutMs === undefined) options.receiveTimeoutMs = 600_000;
    const joinSettings = joinSettingsFrom(values);
    const out = str('out');

    const started = performance.now();
    const emit = (e: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    const { problem } = loadNetlassoProblem(specFile);
    if (workers > problem.graph.n) throw new UsageError(`--workers ${workers}: more workers than the problem's ${problem.graph.n} nodes`);
    const assignment = netlassoAssignment(problem, workers);
    const ids = Array.from({ length: workers }, (_, k) => `w${k}`);
    const layout = workerLayout(problem.graph, assignment, part);
    const fingerprint = netlassoFingerprint(problem, assignment, lambdas, options);
    emit({
      type: 'start',
      worker: id,
      part,
      workers,
      problem: problem.name,
      nodes: problem.graph.n,
      edges: problem.graph.edges.length,
      dim: problem.dim,
      hostedNodes: layout.nodes.length,
      cutRows: layout.cutRows,
      neighbours: layout.neighbours.map((nb) => ids[nb.part]),
      lambdas,
      fingerprint,
      join: joining,
    });

    const adapter = str('adapter');
    const gpu = await Gpu.create(adapter ? { adapter } : {});
    let transport: NatsTransport | undefined;
    const abort = new AbortController();
    const onSignal = () => {
      abort.abort();
      // Closing the transport fails the pending receives, so the worker stops promptly.
      void transport?.close();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    const regroups: NetlassoRegroup[] = [];
    try {
      let joinSeconds = 0;
      if (workers > 1) {
        if (joining) await compileNetlassoPipelines(gpu, problem, lambdas, options);
        transport = await joinRun(joinSettings, { id, ids, gpu, log, receiveTimeoutMs: options.receiveTimeoutMs, join: joining });
        void reportDepartures(transport, (peer, reason) => emit({ type: 'peer-left', worker: id, peer, reason }));
        // A joiner checks the fingerprint against the member that hands it its start (regroup.ts).
        if (!joining) {
          await checkFingerprint(transport, ids, fingerprint, joinSettings.joinTimeoutMs);
          joinSeconds = (performance.now() - started) / 1000;
          emit({ type: 'joined', worker: id, peers: ids, seconds: joinSeconds });
        }
      }
      const result = await runNetlassoWorker({
        gpu,
        problem,
        assignment,
        part,
        transport,
        workers: ids,
        lambdas,
        options,
        joining,
        fingerprint: Buffer.from(fingerprint, 'hex'),
        onReport: (r) => emit(lambdaEvent(id, r)),
        // A worker failed or joined: the members re-partition over the new view (docs/elastic.md).
        onRegroup: (g) => {
          if (joining && regroups.length === 0) {
            joinSeconds = (performance.now() - started) / 1000;
            emit({ type: 'joined', worker: id, peers: g.members, seconds: joinSeconds, source: g.source, resumeLambdaIndex: g.resumeLambdaIndex });
          }
          regroups.push(g);
          emit({ type: 'regroup', worker: id, ...g });
        },
      });
      const seconds = (performance.now() - started) / 1000;
      const stats = transport?.stats();
      if (out) {
        const doc: NetlassoWorkerOutput = {
          worker: id,
          part,
          workers,
          runId: runId ?? null,
          problem: { name: problem.name, nodes: problem.graph.n, edges: problem.graph.edges.length, dim: problem.dim, loss: problem.loss.kind },
          fingerprint,
          layout: finalLayout(result.layout, regroups.at(-1)?.members ?? ids),
          regroups,
          lambdas,
          options,
          adapter: gpu.adapterDescription,
          seconds,
          joinSeconds,
          reports: result.reports.map((r) => ({ ...r, x: toBase64(r.x), clusterLabels: toBase64(r.clusterLabels) })),
          transport: stats ? { bytesSent: stats.bytesSent, bytesReceived: stats.bytesReceived, messagesSent: stats.messagesSent } : undefined,
        };
        mkdirSync(dirname(resolve(out)), { recursive: true });
        writeFileSync(out, `${JSON.stringify(doc)}\n`);
      }
      emit({
        type: 'done',
        worker: id,
        seconds,
        iterations: result.reports.reduce((s, r) => s + r.iterations, 0),
        bytesSent: stats?.bytesSent ?? 0,
        out: out ?? null,
      });
      // Finished: a peer still in its last exchange with this worker must not take this for a failure.
      await transport?.close({ reason: 'done' });
      return 0;
    } catch (e) {
      if (abort.signal.aborted) return 130;
      throw e;
    } finally {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      await transport?.close().catch(() => undefined);
      gpu.destroy();
    }
  },
};

/** Each peer this worker saw leave, and why (a finished one, 'done', is not reported). The stream ends when the transport closes. */
async function reportDepartures(transport: NatsTransport, report: (peer: string, reason: LeaveKind) => void): Promise<void> {
  for await (const m of transport.membership()) if (m.kind === 'left' && m.reason !== 'done') report(m.worker, m.reason);
}
