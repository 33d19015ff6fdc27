import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { barChart, lineChart } from '@gossamer/plot';
import { resolveRunConfig, type RunConfig } from '@gossamer/worker';
import { UsageError, type Command } from '../command.js';
import { launchDistributed, type LaunchSummary } from '../launch.js';
import { parseBandwidths, reproduceCo2 } from './reproduce-co2.js';
import { reproduceNetlasso } from './reproduce-netlasso.js';

interface Variant {
  name: string;
  /** What the variant shows (ALGORITHMS.md §2 claims). */
  role: string;
  config: Partial<RunConfig>;
}

interface VariantResult extends LaunchSummary {
  name: string;
  role: string;
  /** Mean local test accuracy by round (evaluation rounds). */
  curve: [number, number][];
}

/** The single-merge reproduction (Zhu et al., ICLR 2026) at small scale: MNIST, Dirichlet α = 0.1. */
export function singleMergeVariants(quick: boolean): { base: Partial<RunConfig>; variants: Variant[] } {
  const workers = quick ? 8 : 16;
  const rounds = quick ? 8 : 20;
  const base: Partial<RunConfig> = {
    dataset: { kind: 'mnist' },
    model: quick ? 'softmax' : 'mlp:32',
    optimizer: { kind: 'momentum', lr: 0.05, momentum: 0.9 },
    batchSize: 32,
    workers,
    processes: Math.min(4, workers),
    partition: { kind: 'dirichlet', alpha: 0.1 },
    localSteps: 5,
    rounds,
    evalEvery: Math.max(1, rounds / 4),
    seed: 0,
  };
  const variants: Variant[] = [
    { name: 'all-reduce SGD', role: 'server-equivalent baseline: gradients averaged every step', config: { algo: 'allreduce' } },
    { name: 'sparse (r=0.2) + final merge', role: 'the paper: little communication, one exact merge at the end', config: { algo: 'dsgd', schedule: 'final-merge:0.2', merge: 'exact' } },
    { name: 'sparse + 5 gossip rounds', role: 'the exact merge replaced by 5 rounds of exponential-graph gossip', config: { algo: 'dsgd', schedule: 'final-merge:0.2', merge: 'gossip:5' } },
    { name: 'no communication + merge', role: 'never-communicating models, merged at the end', config: { algo: 'local', merge: 'exact' } },
    { name: 'early window (first 25%)', role: 'full averaging in the first quarter of rounds only', config: { algo: 'dsgd', schedule: 'window:0:0.25', merge: 'exact' } },
    { name: 'late window (last 25%)', role: 'the same amount of full averaging in the last quarter', config: { algo: 'dsgd', schedule: 'late:0.75', merge: 'exact' } },
  ];
  return { base, variants };
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

const pct = (v: number | undefined) => (v === undefined ? '–' : `${(100 * v).toFixed(2)}%`);

export function formatSingleMergeTable(results: readonly VariantResult[]): string {
  const rows = results.map((r) => [r.name, pct(r.meanLocalAccuracy), pct(r.mergedAccuracy), `${(r.elapsedMs / 1000).toFixed(0)} s`]);
  const head = ['variant', 'mean local acc', 'merged acc', 'time'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function reproduceSingleMerge(outDir: string, quick: boolean, adapter: string | undefined): Promise<void> {
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
  const [allReduce, merged, , noComm, early, late] = results;
  const claims = [
    `(a) merged model vs mean local model: ${pct(merged.mergedAccuracy)} vs ${pct(merged.meanLocalAccuracy)}`,
    `(b) no communication, merged: ${pct(noComm.mergedAccuracy)}`,
    `(c) late vs early window (mean local): ${pct(late.meanLocalAccuracy)} vs ${pct(early.meanLocalAccuracy)}`,
    `(d) final merge vs all-reduce SGD: ${pct(merged.mergedAccuracy)} vs ${pct(allReduce.meanLocalAccuracy)}`,
    `(e) 5 gossip rounds instead of the exact merge: ${pct(results[2].mergedAccuracy)}`,
  ];
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
  writeFileSync(join(outDir, 'single-merge.svg'), svgBars);
  writeFileSync(join(outDir, 'single-merge-curves.svg'), svgCurves);
  writeFileSync(join(outDir, 'results.json'), `${JSON.stringify({ base, results, claims }, null, 2)}\n`);
  writeFileSync(join(outDir, 'results.md'), `${table}\n\n${claims.map((c) => `- ${c}`).join('\n')}\n`);
  console.log(`\nwrote ${outDir}/{single-merge.svg, single-merge-curves.svg, results.json, results.md}`);
}

export const reproduce: Command = {
  name: 'reproduce',
  summary: "reproduce a paper's claims at small scale: single-merge, co2, netlasso",
  usage: 'single-merge|co2|netlasso [--quick] [--out <dir>] [--bandwidths 50,200]',
  options: {
    out: { type: 'string' },
    quick: { type: 'boolean', default: false },
    adapter: { type: 'string' },
    bandwidths: { type: 'string' },
  },
  optionHelp: {
    out: 'directory for runs, table, plots (default runs/reproduce-<name>)',
    quick: 'fewer workers and rounds, a smaller model (a smoke test, not the reproduction)',
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    bandwidths: 'co2: link speeds in Mbit/s per worker, comma-separated (default 50,200; --quick 50)',
  },
  async run(values, positionals) {
    const [name] = positionals;
    const quick = values.quick === true;
    const adapter = typeof values.adapter === 'string' ? values.adapter : undefined;
    const out = resolve(typeof values.out === 'string' ? values.out : join('runs', `reproduce-${name ?? ''}`));
    if (name !== 'single-merge' && name !== 'co2' && name !== 'netlasso') {
      throw new UsageError(`unknown reproduction "${name ?? ''}": available: single-merge, co2, netlasso`);
    }
    mkdirSync(out, { recursive: true });
    if (name === 'co2') {
      let links: number[] | undefined;
      try {
        links = parseBandwidths(typeof values.bandwidths === 'string' ? values.bandwidths : undefined);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      await reproduceCo2(out, quick, adapter, links);
    } else if (name === 'netlasso') await reproduceNetlasso(out, quick, adapter);
    else await reproduceSingleMerge(out, quick, adapter);
    return 0;
  },
};
