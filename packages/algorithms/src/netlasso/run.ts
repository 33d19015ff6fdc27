// Convenience drivers: one worker alone, or several workers of one process (simulation), each over
// the transports the caller made (in-process or NATS: this package never builds one).
import type { Gpu } from '@gossamer/gpu';
import { partitionGraph } from '@gossamer/topology';
import type { Transport } from '@gossamer/transport';
import { runNetlassoWorker, type NetlassoLambdaReport, type NetlassoOptions, type NetlassoWorkerResult } from './engine.js';
import type { NetlassoProblem } from './problem.js';

/** The whole graph on one worker (no transport): the single-worker GPU solver. */
export async function solveNetlasso(gpu: Gpu, problem: NetlassoProblem, lambdas: readonly number[], options?: NetlassoOptions): Promise<NetlassoLambdaReport[]> {
  const result = await runNetlassoWorker({ gpu, problem, assignment: new Int32Array(problem.graph.n), part: 0, lambdas, options });
  return result.reports;
}

export interface MultiWorkerRun {
  gpu: Gpu;
  problem: NetlassoProblem;
  /** One transport per worker; worker p hosts part p (ids sorted as given). */
  transports: readonly Transport[];
  lambdas: readonly number[];
  options?: NetlassoOptions;
  /** Node → part (default: partitionGraph(graph, transports.length): balanced, few cut edges). */
  assignment?: ArrayLike<number>;
}

/** Runs every worker concurrently in this process (they share one GPU device) and returns all results. */
export async function runNetlassoWorkers(run: MultiWorkerRun): Promise<NetlassoWorkerResult[]> {
  const parts = run.transports.length;
  const assignment = run.assignment ?? partitionGraph(run.problem.graph, parts).assignment;
  const workers = run.transports.map((t) => t.id);
  return Promise.all(
    run.transports.map((transport, part) =>
      runNetlassoWorker({ gpu: run.gpu, problem: run.problem, assignment, part, transport, workers, lambdas: run.lambdas, options: run.options }),
    ),
  );
}

/**
 * Compiles the solver's GPU pipelines: one iteration of the first λ on the whole graph, alone.
 * Pipeline creation blocks the JavaScript thread on some WebGPU implementations (seconds on a CPU
 * adapter): a worker that joins a run in progress does this before it connects, or its heartbeats
 * would stop while it compiles as a member, and it would be removed for silence.
 */
export async function compileNetlassoPipelines(gpu: Gpu, problem: NetlassoProblem, lambdas: readonly number[], options?: NetlassoOptions): Promise<void> {
  await solveNetlasso(gpu, problem, lambdas.slice(0, 1), { ...options, maxIterations: 1, history: false });
}
