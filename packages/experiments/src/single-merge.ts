// `gossamer reproduce single-merge`: the single-merge reproduction (Zhu et al., ICLR 2026) at small
// scale, every variant a real run (nats-server + worker processes) launched by @gossamer/cli.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchDistributed, markdownTable, percent, writePlot, type LaunchSummary } from '@gossamer/cli';
import { barChart, lineChart } from '@gossamer/plot';
import { resolveRunConfig, type RunConfig } from '@gossamer/worker';

interface Variant {
  name: string;
  /** What the variant shows (ALGORITHMS.md §2 claims). */
  role: string;
  config: Partial<RunConfig>;
}

export interface VariantResult extends LaunchSummary {
  name: string;
  role: string;
  /** Mean local test accuracy by round (evaluation rounds). */
  curve: [number, number][];
}

/** The single-merge reproduction (Zhu et al., ICLR 2026) at small scale: MNIST, Dirichlet α = 0.1. */
export function singleMergeVariants(quick: boolean): { base: Partial<RunConfig>; variants: Variant[] } {
  const workers = quick ? 8 : 16;
  const rounds = quick ? 20 : 100;
  // Softmax regression, one local step per round: 100 rounds of 16 workers fit in ~15 minutes on a
  // 2-core machine with a software adapter, and the merged model has converged far enough for the
  // paper's claims to be visible (an MLP needs 200+ rounds for (d); see the README).
  const base: Partial<RunConfig> = {
    dataset: { kind: 'mnist' },
    model: 'softmax',
    optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
    batchSize: 32,
    workers,
    processes: Math.min(4, workers),
    partition: { kind: 'dirichlet', alpha: 0.1 },
    localSteps: 1,
    rounds,
    evalEvery: Math.max(1, rounds / 4),
    seed: 0,
  };
  const variants: Variant[] = [
    { name: 'all-reduce SGD', role: 'server-equivalent baseline: gradients averaged every step', config: { algo: 'allreduce' } },
    { name: 'gossip r=1 + final merge', role: 'one random peer a round (pairwise averaging), one exact merge at the end', config: { algo: 'dsgd', schedule: 'final-merge:1', merge: 'exact' } },
    { name: 'gossip r=1 + 5 gossip rounds', role: 'the exact merge replaced by 5 rounds of exponential-graph gossip', config: { algo: 'dsgd', schedule: 'final-merge:1', merge: 'gossip:5' } },
    { name: 'sparse r=0.2 + final merge', role: "the paper's R 0.2: a random peer with probability 0.2 a round, one exact merge", config: { algo: 'dsgd', schedule: 'final-merge:0.2', merge: 'exact' } },
    { name: 'no communication + merge', role: 'never-communicating models, merged at the end', config: { algo: 'local', merge: 'exact' } },
    { name: 'early window (first 25%)', role: 'full averaging in the first quarter of rounds only', config: { algo: 'dsgd', schedule: 'window:0:0.25', merge: 'exact' } },
    { name: 'late window (last 25%)', role: 'the same amount of full averaging in the last quarter', config: { algo: 'dsgd', schedule: 'late:0.75', merge: 'exact' } },
  ];
  return { base, variants };
}

/** The claims of ALGORITHMS.md §2 / the issue, checked on the results of singleMergeVariants' runs. */
export function singleMergeClaims(results: readonly VariantResult[]): string[] {
  const [allReduce, merged, gossip5, sparse, noComm, early, late] = results;
  const holds = (ok: boolean) => (ok ? 'holds' : 'does not hold');
  const points = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? Number.NaN : 100 * (a - b));
  const margin = points(merged.mergedAccuracy, merged.meanLocalAccuracy);
  const gap = points(allReduce.meanLocalAccuracy, merged.mergedAccuracy);
  const chance = 1 / 10;
  return [
    `(a) merged model vs mean local model: ${percent(merged.mergedAccuracy)} vs ${percent(merged.meanLocalAccuracy)} (+${margin.toFixed(1)} points; r = 0.2: ${percent(sparse.mergedAccuracy)} vs ${percent(sparse.meanLocalAccuracy)}) — claim: far above: ${holds(margin >= 5)}`,
    `(b) no communication, merged: ${percent(noComm.mergedAccuracy)} (chance 10%) — claim: far below the communicating merge: ${holds((noComm.mergedAccuracy ?? 1) < chance + 0.5 * ((merged.mergedAccuracy ?? 0) - chance))}`,
    `(c) late vs early window (mean local): ${percent(late.meanLocalAccuracy)} vs ${percent(early.meanLocalAccuracy)} — claim: late beats early: ${holds((late.meanLocalAccuracy ?? 0) > (early.meanLocalAccuracy ?? 1))}`,
    `(d) final merge vs all-reduce SGD: ${percent(merged.mergedAccuracy)} vs ${percent(allReduce.meanLocalAccuracy)} (${gap.toFixed(1)} points below) — claim: within 2 points: ${holds(gap <= 2)}`,
    `(e) 5 gossip rounds instead of the exact merge: ${percent(gossip5.mergedAccuracy)} vs ${percent(merged.mergedAccuracy)} — claim: stays close (within 1 point): ${holds(Math.abs(points(gossip5.mergedAccuracy, merged.mergedAccuracy)) <= 1)}`,
  ];
}

function readCurve(runDir: string): [number, number][] {
  const byRound = new Map<number, number[]>();
  for (const line of readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line) continue;
    const e = JSON.parse(line) as { type: string; round?: number; accuracy?: number };
    if (e.type === 'round' && e.round !== undefined && e.accuracy !== undefined) byRound.set(e.round, [...(byRound.get(e.round) ?? []), e.accuracy]);
  }
  return [...byRound.entries()].sort((a, b) => a[0] - b[0]).map(([r, accs]) => [r + 1, accs.reduce((a, b) => a + b, 0) / accs.length]);
}

export function formatSingleMergeTable(results: readonly VariantResult[]): string {
  const rows = results.map((r) => [r.name, percent(r.meanLocalAccuracy), percent(r.mergedAccuracy), `${(r.elapsedMs / 1000).toFixed(0)} s`]);
  return markdownTable(['variant', 'mean local acc', 'merged acc', 'time'], rows);
}

export async function reproduceSingleMerge(outDir: string, quick: boolean, adapter: string | undefined): Promise<void> {
  const { base, variants } = singleMergeVariants(quick);
  const results: VariantResult[] = [];
  console.log(
    `single-merge reproduction: MNIST, ${base.workers} workers, Dirichlet α = 0.1, model ${base.model}, ${base.rounds} rounds × ${base.localSteps} local steps; ` +
      `each variant is a real run (nats-server + ${base.processes} worker processes)`,
  );
  for (const [i, v] of variants.entries()) {
    const config = resolveRunConfig({ ...base, ...v.config });
    const runDir = join(outDir, `${i + 1}-${v.name.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '').toLowerCase()}`);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    console.log(`\n[${i + 1}/${variants.length}] ${v.name}: ${v.role}`);
    const summary = await launchDistributed(config, { runDir, adapter, json: false, quiet: false });
    results.push({ ...summary, name: v.name, role: v.role, curve: readCurve(runDir) });
  }
  const table = formatSingleMergeTable(results);
  console.log(`\n${table}`);
  const claims = singleMergeClaims(results);
  console.log(claims.join('\n'));
  const svgBars = await barChart({
    title: `Single merge: MNIST, ${base.workers} workers, Dirichlet α = 0.1`,
    x: { label: 'variant' },
    y: { label: 'test accuracy' },
    categories: results.map((r) => r.name),
    series: [
      { name: 'mean local model', values: results.map((r) => r.meanLocalAccuracy ?? null) },
      { name: 'merged model', values: results.map((r) => r.mergedAccuracy ?? null) },
    ],
    width: 640,
  });
  const svgCurves = await lineChart({
    title: 'Mean local test accuracy by round',
    x: { label: 'round' },
    y: { label: 'test accuracy' },
    series: results.map((r) => ({ name: r.name, points: r.curve })),
    width: 640,
  });
  writePlot(join(outDir, 'single-merge'), svgBars);
  writePlot(join(outDir, 'single-merge-curves'), svgCurves);
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ base, results, claims }, null, 2)}\n`);
  writeFileSync(join(outDir, 'results.md'), `${table}\n\n${claims.map((c) => `- ${c}`).join('\n')}\n`);
  console.log(`\nwrote ${outDir}/{single-merge.svg/.png, single-merge-curves.svg/.png, results.json, results.md}`);
}
