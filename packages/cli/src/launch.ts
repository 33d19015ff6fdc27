// The local launcher of a distributed run: an embedded nats-server (unless one is given) and worker
// processes (`gossamer worker`), and worker pages in headless Chromium with --browser-workers, whose
// JSON-line events it collects into the run directory and renders as progress.
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointBucket, startNatsServer, type NatsServer } from '@gossamer/transport';
import type { RunConfig } from '@gossamer/worker';
import type { Logger } from './log.js';
import { runChildren, type ChildFailure } from './processes.js';
import { DistributedProgressView, type WorkerLine } from './progress.js';
import { percent } from './format.js';
import { browserIndices, startBrowserWorkers, type BrowserWorkers } from './browser-workers.js';

export interface LaunchOptions {
  runDir: string;
  /** Existing NATS server(s); default: start one on a free loopback port. */
  nats?: string;
  adapter?: string;
  json: boolean;
  quiet: boolean;
  /** The launcher's logger: the workers log in its format and level (and, at debug, through it). */
  log?: Logger;
  /** A failed worker process: the run goes on over the survivors ('continue', default) or stops ('abort'). */
  onFailure?: 'continue' | 'abort';
  /** Stops every worker process (Ctrl-C). */
  signal?: AbortSignal;
  /** The workers' failure detection (their --peer-timeout). */
  peerTimeoutMs?: number;
  /** Resume the run in runDir from this round-<k> checkpoint directory (metrics are appended). */
  resumeFrom?: string;
  /** Resume the run in runDir from this round of its object store bucket (metrics are appended). */
  resumeFromStore?: number;
  /** The run's checkpoint bucket (a resumed run keeps its first launch's); default from the run id. */
  checkpointBucket?: string;
  /** The last K workers run as pages in this Chromium (checkBrowserWorkers validated them). */
  browserWorkers?: { count: number; chromium: string };
}

/** `<run>/checkpoint-store.json`: where the run keeps checkpoints besides its files. */
export interface CheckpointStoreRecord {
  bucket: string;
  /** The server's URL, or 'embedded' (its store went with it when the run ended). */
  nats: string;
}
export const CHECKPOINT_STORE_RECORD = 'checkpoint-store.json';

/** A membership view of the run, as its members reported it. */
export interface RunView {
  epoch: number;
  members: string[];
  startRound: number;
  removed: string[];
}

export interface LaunchSummary {
  workers: number;
  /** Mean over workers of the local model's final test accuracy. */
  meanLocalAccuracy?: number;
  /** Test accuracy of the merged model (after a final merge): the mean over workers, whose merged models differ after an inexact (gossip) merge. */
  mergedAccuracy?: number;
  /** Workers that finished the run (every worker, in a run without failures). */
  finished: string[];
  /** Worker processes that failed (the run went on without their workers). */
  failures: { workers: string; exit: string; detail: string }[];
  /** The views after the first, when workers were removed. */
  views: RunView[];
  interrupted: boolean;
  /** Stopped (Ctrl-C): the round every worker saved a final checkpoint for, if they all did. */
  finalCheckpoint?: number;
  elapsedMs: number;
}

/** Splits worker indices 0..n−1 into `processes` contiguous groups. */
export function processGroups(workers: number, processes: number): number[][] {
  const groups: number[][] = [];
  for (let p = 0; p < processes; p++) {
    const from = Math.floor((p * workers) / processes);
    const to = Math.floor(((p + 1) * workers) / processes);
    groups.push(Array.from({ length: to - from }, (_, i) => from + i));
  }
  return groups;
}

export async function launchDistributed(config: RunConfig, options: LaunchOptions): Promise<LaunchSummary> {
  const start = performance.now();
  // JetStream on: the workers keep their checkpoints in its object store too.
  const pages = options.browserWorkers;
  // The pages connect over websockets; the processes over TCP, to the same server.
  const server: NatsServer | undefined = options.nats ? undefined : await startNatsServer({ jetstream: true, websocket: pages !== undefined });
  const url = options.nats ?? (server as NatsServer).url;
  const runId = randomBytes(6).toString('hex');
  const bucket = options.checkpointBucket ?? checkpointBucket(runId);
  const record: CheckpointStoreRecord = { bucket, nats: options.nats ?? 'embedded' };
  writeFileSync(join(options.runDir, CHECKPOINT_STORE_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  options.log?.debug('launching workers', { nats: url, embeddedServer: server !== undefined, run: runId, workers: config.workers, processes: config.processes ?? config.workers });
  const metricsFile = join(options.runDir, 'metrics.jsonl');
  if (options.resumeFrom === undefined && options.resumeFromStore === undefined) writeFileSync(metricsFile, '');
  const view = options.json || options.quiet ? undefined : new DistributedProgressView(config.workers);
  const bin = fileURLToPath(new URL('./bin.js', import.meta.url));
  // Browser workers are the last ones; the processes host the others.
  const inProcesses = config.workers - (pages?.count ?? 0);
  const groups = inProcesses > 0 ? processGroups(inProcesses, Math.min(config.processes ?? inProcesses, inProcesses)) : [];
  const done = new Map<string, WorkerLine>();
  const merged = new Map<string, number>();
  const views = new Map<number, RunView>();
  const failures: ChildFailure[] = [];
  const stopped = new Map<string, number | undefined>();
  const specs = groups.map((group) => {
    const args = [bin, 'worker', '--nats', url, '--run', runId, '--config', join(options.runDir, 'config.json'), '--id', group.map((i) => `w${i}`).join(','), '--out', join(options.runDir, 'workers')];
    if (options.adapter) args.push('--adapter', options.adapter);
    if (options.peerTimeoutMs !== undefined) args.push('--peer-timeout', String(options.peerTimeoutMs));
    // Always: a run stopped with Ctrl-C writes a final checkpoint, also without --checkpoint-every.
    args.push('--checkpoint-dir', join(options.runDir, 'checkpoints'), '--checkpoint-store', bucket);
    if (options.resumeFrom) args.push('--resume', options.resumeFrom);
    if (options.resumeFromStore !== undefined) args.push('--resume-from-store', String(options.resumeFromStore));
    return { label: group.map((i) => `w${i}`).join(','), args };
  });
  const handleLine = (line: string): void => {
    let event: WorkerLine;
    try {
      event = JSON.parse(line) as WorkerLine;
    } catch {
      return; // not an event (a stray print); events are JSON objects
    }
    appendFileSync(metricsFile, `${line}\n`);
    if (options.json) process.stdout.write(`${line}\n`);
    view?.handle(event);
    if (event.type === 'done' && event.worker) done.set(event.worker, event);
    if (event.type === 'stopped' && event.worker) stopped.set(event.worker, (event as { checkpoint?: boolean }).checkpoint ? event.round : undefined);
    if (event.type === 'merged' && event.accuracy !== undefined) merged.set(event.worker ?? '', event.accuracy);
    if (event.type === 'view' && event.epoch !== undefined && !views.has(event.epoch)) {
      views.set(event.epoch, { epoch: event.epoch, members: event.members ?? [], startRound: event.startRound ?? 0, removed: event.removed ?? [] });
    }
  };
  const onChildFailure = (f: ChildFailure): void => {
    failures.push(f);
    // The failure is part of the run's record, next to the view change it causes.
    appendFileSync(metricsFile, `${JSON.stringify({ time: new Date().toISOString(), type: 'failed', workers: f.label, exit: f.exit, detail: f.stderrTail })}\n`);
    view?.note(`worker ${f.label} ended with ${f.exit}${options.onFailure === 'abort' ? '; stopping the run' : '; the run goes on without it'}`);
    options.log?.warn('a worker failed', { workers: f.label, exit: f.exit, detail: f.stderrTail });
  };
  let browserWorkers: BrowserWorkers | undefined;
  try {
    if (pages) {
      browserWorkers = await startBrowserWorkers({
        config,
        runId,
        runDir: options.runDir,
        chromium: pages.chromium,
        indices: browserIndices(config.workers, pages.count),
        natsWsUrl: (server as NatsServer).wsUrl as string,
        peerTimeoutMs: options.peerTimeoutMs,
        adapter: options.adapter,
        onLine: handleLine,
        onPageFailure: (worker, exit, detail) => onChildFailure({ index: -1, label: worker, exit, stderrTail: detail }),
      });
      // Ctrl-C: the pages leave (they take no part in the processes' agreed final checkpoint).
      options.signal?.addEventListener('abort', () => void browserWorkers?.close(), { once: true });
    }
    const processes = specs.length === 0 ? Promise.resolve([]) : runChildren(specs, (_index, line) => handleLine(line), {
      log: options.log,
      onFailure: options.onFailure,
      signal: options.signal,
      onChildFailure,
    });
    await Promise.all([processes, browserWorkers?.settled]);
  } finally {
    await browserWorkers?.close();
    view?.close();
    await server?.close();
  }
  const finalRounds = new Set(stopped.values());
  const finalCheckpoint = stopped.size === config.workers && finalRounds.size === 1 ? [...finalRounds][0] : undefined;
  const locals = [...done.values()].map((d) => d.localAccuracy).filter((v): v is number => v !== undefined);
  return {
    workers: config.workers,
    meanLocalAccuracy: locals.length ? locals.reduce((a, b) => a + b, 0) / locals.length : undefined,
    mergedAccuracy: merged.size ? [...merged.values()].reduce((a, b) => a + b, 0) / merged.size : undefined,
    finished: [...done.keys()].sort(),
    failures: failures.map((f) => ({ workers: f.label, exit: f.exit, detail: f.stderrTail })),
    views: [...views.values()].sort((a, b) => a.epoch - b.epoch),
    interrupted: options.signal?.aborted === true,
    finalCheckpoint,
    elapsedMs: performance.now() - start,
  };
}

/** The launcher's closing lines: accuracies, and what happened to the workers that did not finish. */
export function formatRunSummary(summary: LaunchSummary, runDir: string): string {
  const lines: string[] = [];
  for (const f of summary.failures) lines.push(`worker process ${f.workers} failed (${f.exit})`);
  for (const v of summary.views) lines.push(`view ${v.epoch}: ${v.members.join(', ')} from round ${v.startRound}${v.removed.length ? ` (without ${v.removed.join(', ')})` : ''}`);
  const who = summary.finished.length === summary.workers ? `${summary.workers} workers` : `${summary.finished.length} of ${summary.workers} workers finished`;
  lines.push(
    `${summary.interrupted ? 'interrupted' : 'done'}: ${who}, mean local test accuracy ${percent(summary.meanLocalAccuracy)}` +
      `${summary.mergedAccuracy !== undefined ? `, merged model ${percent(summary.mergedAccuracy)}` : ''} (${(summary.elapsedMs / 1000).toFixed(0)} s)`,
  );
  if (summary.finalCheckpoint !== undefined) lines.push(`final checkpoint at round ${summary.finalCheckpoint}: continue with gossamer train --resume ${runDir}`);
  lines.push(`run directory: ${runDir} (config.json, metrics.jsonl, workers/<id>.ckpt, summary.json)`);
  return lines.join('\n');
}

/**
 * The latest round of `runDir`'s checkpoints that every one of its `workers` wrote (a round some
 * worker had not reached when the run stopped is incomplete), or undefined when there is none.
 */
export function latestCompleteCheckpoint(runDir: string, workers: number): { round: number; dir: string } | undefined {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return undefined;
  const rounds = readdirSync(root)
    .map((name) => /^round-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => b - a);
  for (const round of rounds) {
    const dir = join(root, `round-${round}`);
    if (Array.from({ length: workers }, (_, i) => existsSync(join(dir, `w${i}.ckpt`))).every(Boolean)) return { round, dir };
  }
  return undefined;
}
