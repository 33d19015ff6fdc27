import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { benchAttention } from '../bench/attention.js';
import { benchChaos } from '../bench/chaos.js';
import { benchCrc32c } from '../bench/crc32c.js';
import { benchExchange } from '../bench/exchange.js';
import { benchMatmul } from '../bench/matmul.js';
import { benchSoak } from '../bench/soak.js';
import { benchTrainStep } from '../bench/train-step.js';
import type { BenchResult, Benchmark } from '../bench/types.js';
import { UsageError, type Command } from '../command.js';

/** The benchmarks `gossamer bench` knows, in run order. Add new ones here. */
export const benchmarks: Benchmark[] = [
  {
    name: 'matmul',
    summary: 'square matmul GFLOP/s, ours vs TensorFlow.js WebGPU on the same adapter',
    run: ({ adapter, quick }) => benchMatmul(quick ? { adapter, sizes: [128, 256], reps: 2, trials: 1 } : { adapter }),
  },
  {
    name: 'attention',
    summary: 'fused causal multi-head attention, forward and backward: ms and GFLOP/s for GPT-like shapes',
    run: ({ adapter, quick }) =>
      benchAttention(quick ? { adapter, shapes: [{ batch: 2, seqLen: 64, heads: 2, headDim: 32 }], reps: 2, trials: 1 } : { adapter }),
  },
  {
    name: 'train-step',
    summary: 'MLP 784-256-256-10 training step (batch 128, AdamW): ms, dispatches, submits, allocations vs TensorFlow.js WebGPU',
    run: ({ adapter, quick }) => benchTrainStep(quick ? { adapter, steps: 3, trials: 1 } : { adapter }),
  },
  {
    name: 'exchange',
    summary: 'tensor exchange MB/s between two NatsTransports vs raw NATS publish of the same bytes (local nats-server)',
    run: ({ quick }) => benchExchange(quick ? { sizes: [100_000, 1_000_000], reps: 1, allReduceProcesses: [4] } : {}),
  },
  {
    name: 'crc32c',
    summary: 'CRC-32C MB/s (the checksum of every chunk on the wire), aligned and misaligned, vs copying the same bytes',
    run: ({ quick }) => benchCrc32c(quick ? { bytes: 1 << 20, trials: 2 } : {}),
  },
  {
    name: 'chaos',
    // --quick: 260 rounds, so a worker restarted late in the faults (10–20 s to start on a loaded
    // machine) still finds the run going and can be counted back.
    summary: 'a 16-worker D-SGD run under seeded kills, freezes, nats-server restarts and rejoins: faults survived, detection and recovery times, rounds lost, accuracy vs fault-free',
    run: ({ adapter, quick }) => benchChaos(quick ? { adapter, workers: 6, rounds: 260, maxFaults: 3, faultEveryMs: 2500, pattern: ['kill', 'freeze', 'server-restart'] } : { adapter }),
  },
  {
    name: 'soak',
    summary: 'memory soak: 1,000 steps and 100 rounds of gossip over NATS (2 workers); RSS, JS heap and GPU buffers per round',
    run: ({ adapter, quick }) => benchSoak(quick ? { adapter, rounds: 20, localSteps: 2 } : { adapter }),
  },
];

/** The result as a table with right-aligned numbers, then its notes. */
export function formatBenchResult(result: BenchResult): string {
  const cells = [result.columns, ...result.rows.map((row) => row.map(String))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[], numeric: boolean[]) =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  const numericColumns = result.columns.map((_, i) => result.rows.every((row) => typeof row[i] === 'number'));
  return [
    `== ${result.name}${result.adapter ? ` (${result.adapter})` : ''}`,
    line(result.columns, numericColumns),
    line(widths.map((w) => '-'.repeat(w)), numericColumns),
    ...result.rows.map((row) => line(row.map(String), numericColumns)),
    ...result.notes.map((note) => `  * ${note}`),
  ].join('\n');
}

export const bench: Command = {
  name: 'bench',
  summary: 'run benchmarks (matmul vs TensorFlow.js, ...), print tables and write JSON results',
  usage: '[--adapter <choice>] [--only <name,...>] [--out <dir>] [--quick]',
  options: {
    adapter: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string', default: 'bench-results' },
    quick: { type: 'boolean', default: false },
  },
  optionHelp: {
    adapter: 'WebGPU adapter: auto, hardware, swiftshader, or part of an adapter name',
    only: `comma-separated benchmarks to run (${benchmarks.map((b) => b.name).join(', ')})`,
    out: 'directory for <name>.json results',
    quick: 'smaller sizes and fewer repetitions (a smoke test, not a measurement)',
  },
  async run(values) {
    const only = typeof values.only === 'string' ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    const unknown = only?.filter((name) => !benchmarks.some((b) => b.name === name)) ?? [];
    if (unknown.length > 0) {
      throw new UsageError(`unknown benchmark(s) ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
    }
    const selected = only ? benchmarks.filter((b) => only.includes(b.name)) : benchmarks;
    const outDir = resolve(typeof values.out === 'string' ? values.out : 'bench-results');
    const adapter = typeof values.adapter === 'string' ? values.adapter : undefined;
    const quick = values.quick === true;
    mkdirSync(outDir, { recursive: true });
    for (const benchmark of selected) {
      console.log(`running ${benchmark.name}: ${benchmark.summary}${quick ? ' [quick]' : ''} ...`);
      const t0 = performance.now();
      const result = await benchmark.run({ adapter, quick });
      const seconds = (performance.now() - t0) / 1000;
      console.log(formatBenchResult(result));
      console.log(`  (${seconds.toFixed(1)} s)\n`);
      const file = join(outDir, `${result.name}.json`);
      const record = {
        date: new Date().toISOString(),
        adapter: result.adapter ?? null,
        node: process.version,
        platform: `${process.platform}-${process.arch}`,
        quick,
        seconds,
        columns: result.columns,
        rows: result.rows,
        notes: result.notes,
        results: result.json,
      };
      writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
      console.log(`wrote ${file}`);
    }
    return 0;
  },
};
