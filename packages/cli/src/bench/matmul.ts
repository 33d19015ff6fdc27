// Matmul throughput: Gossamer's kernel (shaders/matmul.wgsl) against TensorFlow.js's WebGPU backend,
// on the same adapter, in the same process, on the same inputs.
import { Gpu } from '@gossamer/gpu';
import { MATMUL_DEFAULT_TILES, matmul, matmulFlops } from '@gossamer/kernels';
import { createRng } from '@gossamer/topology';
import { PeakRss, loadTfjsWebgpu, mib } from './common.js';
import type { BenchResult } from './types.js';

type TfTensor = import('@tensorflow/tfjs-core').Tensor;

export interface MatmulBenchOptions {
  adapter?: string;
  /** Square sizes n (n×n·n×n). Default 256, 512, 1024. */
  sizes?: number[];
  /** Matmuls per timed trial; default by size and by adapter (fewer on software adapters). */
  reps?: number;
  /** Timed trials per size and side; the best is reported. Default 2. */
  trials?: number;
}

interface SideTiming {
  /** Best seconds per matmul over the trials. */
  seconds: number;
  gflops: number;
}

interface SizeResult {
  size: number;
  reps: number;
  trials: number;
  ours: SideTiming;
  tfjs: SideTiming;
  /** ours GFLOP/s ÷ TF.js GFLOP/s. */
  ratio: number;
  /** max |ours − TF.js| ÷ max |TF.js| over C, from the warm-up run. */
  maxRelativeDifference: number;
}

/** Default matmuls per trial: enough to dwarf launch latency on GPUs, bounded time on CPUs. */
function defaultReps(size: number, isSoftware: boolean): number {
  if (isSoftware) return size <= 256 ? 8 : size <= 512 ? 3 : 2;
  return Math.min(500, Math.max(10, Math.round(1e11 / matmulFlops(size, size, size))));
}

/** Deterministic inputs in [-1, 1). */
function inputs(n: number, seed: number): Float32Array {
  const next = createRng(seed).float; // timing only: any fixed stream does
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
}

export async function benchMatmul(options: MatmulBenchOptions = {}): Promise<BenchResult> {
  const sizes = options.sizes ?? [256, 512, 1024];
  const trials = options.trials ?? 2;
  const rss = new PeakRss();
  const adapterChoice = options.adapter ?? process.env.GOSSAMER_ADAPTER ?? 'auto';
  const gpu = await Gpu.create({ adapter: adapterChoice });
  const results: SizeResult[] = [];
  let tfjsAdapter = '';
  let tfjsVersion = '';
  try {
    const { tf, adapter } = await loadTfjsWebgpu(adapterChoice);
    tfjsAdapter = adapter;
    tfjsVersion = tf.version_core;
    for (const size of sizes) {
      const reps = options.reps ?? defaultReps(size, gpu.isSoftware);
      const flops = matmulFlops(size, size, size);
      const hostA = inputs(size * size, size);
      const hostB = inputs(size * size, size + 1);
      const [a, b, c] = [gpu.upload(hostA, 'bench-a'), gpu.upload(hostB, 'bench-b'), gpu.createBuffer(size * size * 4, undefined, 'bench-c')];
      const ta = tf.tensor2d(hostA, [size, size]);
      const tb = tf.tensor2d(hostB, [size, size]);

      // Each trial: `reps` matmuls back to back, ended by one 4-byte readback (ours: C[0]; TF.js: a
      // 1×1 slice of the last product), so both sides are timed to GPU completion with the same tiny
      // readback. Ours submits every matmul on its own, as a training step would.
      const runOurs = async (count: number): Promise<number> => {
        const t0 = performance.now();
        let done: Promise<ArrayBuffer> | undefined;
        for (let r = 0; r < count; r++) {
          const step = gpu.beginStep('bench-matmul');
          matmul(step, a, b, c, { m: size, n: size, k: size });
          if (r === count - 1) done = step.readback(c, 0, 4);
          step.submit();
        }
        await done;
        return (performance.now() - t0) / 1000;
      };
      const runTfjs = async (count: number): Promise<{ seconds: number; last: TfTensor }> => {
        const t0 = performance.now();
        let last: TfTensor | undefined;
        for (let r = 0; r < count; r++) {
          const next = tf.matMul(ta, tb);
          last?.dispose();
          last = next;
        }
        const corner = tf.slice(last!, [0, 0], [1, 1]);
        await corner.data();
        const seconds = (performance.now() - t0) / 1000;
        corner.dispose();
        return { seconds, last: last! };
      };

      // Warm-up: pipeline compilation, and a cross-check of the two results.
      await runOurs(1);
      await gpu.sync();
      const warm = await runTfjs(1);
      const theirs = (await warm.last.data()) as Float32Array;
      warm.last.dispose();
      const ours = await gpu.readF32(c);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < ours.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[i] - theirs[i]));
        maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
      }

      let bestOurs = Infinity;
      let bestTfjs = Infinity;
      for (let t = 0; t < trials; t++) {
        // Alternate the sides so that drifting machine load does not favour one of them.
        bestOurs = Math.min(bestOurs, (await runOurs(reps)) / reps);
        const run = await runTfjs(reps);
        run.last.dispose();
        bestTfjs = Math.min(bestTfjs, run.seconds / reps);
      }
      await gpu.sync();
      rss.sample();
      results.push({
        size,
        reps,
        trials,
        ours: { seconds: bestOurs, gflops: flops / bestOurs / 1e9 },
        tfjs: { seconds: bestTfjs, gflops: flops / bestTfjs / 1e9 },
        ratio: bestTfjs / bestOurs,
        maxRelativeDifference: maxAbs > 0 ? maxDiff / maxAbs : maxDiff,
      });
      ta.dispose();
      tb.dispose();
      for (const buffer of [a, b, c]) buffer.destroy();
    }
  } finally {
    await gpu.sync().catch(() => undefined);
    gpu.destroy();
  }
  const peakRss = rss.stop();

  const ms = (s: number) => Number((s * 1000).toFixed(s < 0.01 ? 3 : 1));
  const rows = results.map((r) => [
    `${r.size}³`,
    Number(r.ours.gflops.toFixed(3)),
    Number(r.tfjs.gflops.toFixed(3)),
    `${r.ratio.toFixed(2)}×`,
    ms(r.ours.seconds),
    ms(r.tfjs.seconds),
    `${r.reps}×${r.trials}`,
    r.maxRelativeDifference.toExponential(1),
  ]);
  const tiles = MATMUL_DEFAULT_TILES;
  const notes = [
    `adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' [software]' : ''}; TF.js ${tfjsVersion} WebGPU backend on a second device of the same adapter (it reports: ${tfjsAdapter})`,
    `ours: ${8 * tiles.wgY}×${8 * tiles.wgX} tiles of ${tiles.wgX}×${tiles.wgY} threads, 8×8 outputs per thread, K staged ${tiles.tileK} at a time`,
    'timing: after a warm-up run (compilation; also cross-checks the two results, last column), best of the trials of `reps` back-to-back ' +
      'matmuls, each trial ended by one 4-byte readback on both sides (ours: C[0]; TF.js: a 1×1 slice, one extra tiny dispatch); ' +
      'ours submits each matmul separately, TF.js batches up to 15 dispatches per submit',
    'GFLOP/s = 2·n³ / seconds per matmul',
    `peak RSS of the process: ${mib(peakRss)}`,
  ];
  if (gpu.isSoftware) notes.push('software adapter (CPU): absolute numbers say nothing about GPUs; the ratio shows relative kernel cost');
  return {
    name: 'matmul',
    adapter: gpu.adapterDescription,
    columns: ['size', 'ours GFLOP/s', 'TF.js GFLOP/s', 'ours/TF.js', 'ours ms', 'TF.js ms', 'reps×trials', 'max rel diff'],
    rows,
    notes,
    json: { sizes: results, peakRssBytes: peakRss, tiles, tfjsVersion, tfjsAdapter, isSoftware: gpu.isSoftware },
  };
}

