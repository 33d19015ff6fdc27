// Running one decentralized Network Lasso run as real `netlasso-worker` processes over a NATS server:
// what `gossamer train --algo netlasso` does, and what the Network Lasso reproduction
// (@gossamer/experiments) builds on.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChildren, type ChildFailure } from './processes.js';
import type { NetlassoWorkerOutput } from './commands/netlasso-worker.js';

export interface NetlassoProcessRun {
  label: string;
  workers: number;
  /** The reports of the workers that finished (all of them, unless some failed). */
  outputs: NetlassoWorkerOutput[];
  /** Worker processes that failed; the others went on without them (docs/elastic.md). */
  failures: ChildFailure[];
  /** Wall time of the run, process start to the last exit. */
  seconds: number;
  /** Every worker reported the same iterations and the same x bits for every λ. */
  workersAgree: boolean;
}

/**
 * Runs one decentralized Network Lasso run: `workers` netlasso-worker processes on the problem spec,
 * over the NATS server at `url`. Events go to <dir>/events.jsonl, each worker's report to <dir>/wK.json;
 * w0's per-λ events are printed as progress.
 */
export async function runNetlassoProcesses(o: {
  url: string;
  specFile: string;
  workers: number;
  args: string[];
  dir: string;
  label: string;
  adapter?: string;
  /** 'continue' (default): the survivors of a failed worker adopt its nodes; 'abort': one failure ends the run. */
  onFailure?: 'continue' | 'abort';
}): Promise<NetlassoProcessRun> {
  const started = performance.now();
  mkdirSync(o.dir, { recursive: true });
  const events = join(o.dir, 'events.jsonl');
  writeFileSync(events, '');
  const entry = fileURLToPath(new URL('./netlasso-worker-main.js', import.meta.url));
  const runId = randomBytes(6).toString('hex');
  const specs = Array.from({ length: o.workers }, (_, k) => {
    const id = `w${k}`;
    const args = [entry, '--problem', o.specFile, '--workers', String(o.workers), '--id', id, '--nats', o.url, '--run', runId, ...o.args, '--out', join(o.dir, `${id}.json`)];
    if (o.adapter) args.push('--adapter', o.adapter);
    return { label: `${id} (${o.label})`, args };
  });
  // Progress comes from the lowest-numbered worker still running.
  const failed = new Set<number>();
  const failures = await runChildren(specs, (k, line) => {
    if (!line.startsWith('{')) return;
    appendFileSync(events, `${line}\n`);
    if (k !== Array.from({ length: o.workers }, (_, i) => i).find((i) => !failed.has(i))) return;
    const e = JSON.parse(line) as { type: string; lambda?: number; iterations?: number; clusters?: number; ari?: number | null; seconds?: number; waitSeconds?: number; hostedNodes?: number; cutRows?: number };
    if (e.type === 'start') console.log(`  ${o.label}: ${o.workers} worker processes (w0 hosts ${e.hostedNodes} nodes, ${e.cutRows} cut-edge copies)`);
    if (e.type === 'lambda') {
      const ari = e.ari === null || e.ari === undefined ? '' : `, ARI ${e.ari.toFixed(3)}`;
      console.log(`    λ = ${e.lambda!.toFixed(4)}: ${e.iterations} iterations, ${e.clusters} clusters${ari}, ${e.seconds!.toFixed(1)} s (waiting ${e.waitSeconds!.toFixed(1)} s)`);
    }
    if (e.type === 'regroup') console.log(`    ${(e as { worker?: string }).worker}: view ${(e as { epoch?: number }).epoch}, now hosts ${(e as { nodes?: number }).nodes} nodes; solving again from λ #${(e as { resumeLambdaIndex?: number }).resumeLambdaIndex}`);
  }, {
    onFailure: o.onFailure ?? 'continue',
    onChildFailure: (f) => {
      failed.add(f.index);
      console.log(`  ${f.label} failed (${f.exit}); the others go on without it`);
    },
  });
  const outputs = Array.from({ length: o.workers }, (_, k) => k)
    .filter((k) => !failures.some((f) => f.index === k))
    .map((k) => JSON.parse(readFileSync(join(o.dir, `w${k}.json`), 'utf8')) as NetlassoWorkerOutput);
  const workersAgree = outputs.every((w) => w.reports.every((r, l) => r.iterations === outputs[0].reports[l].iterations && r.x === outputs[0].reports[l].x));
  return { label: o.label, workers: o.workers, outputs, failures, seconds: (performance.now() - started) / 1000, workersAgree };
}
