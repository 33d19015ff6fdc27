import { Gpu } from '@gossamer/gpu';
import { attentionBackward, attentionBackwardFlops, attentionForward, attentionForwardFlops, attentionTiles, type AttentionShape } from '@gossamer/kernels';
import { createRng } from '@gossamer/topology';
import { PeakRss, mib } from './common.js';
import type { BenchResult } from './types.js';

export interface AttentionBenchOptions {
  adapter?: string;
  /**
   * Shapes to time; default GPT-like blocks (T = 256, D = 64) and a small-head one, or on a software
   * adapter two small ones (a GPU-sized call there takes tens of seconds).
   */
  shapes?: AttentionShape[];
  /** Calls per timed trial; default by shape and adapter (fewer on software adapters). */
  reps?: number;
  /** Timed trials per shape; the best is reported. Default 2. */
  trials?: number;
}

interface ShapeResult {
  shape: AttentionShape;
  reps: number;
  /** Best seconds per forward, and per forward + backward. */
  forwardSeconds: number;
  stepSeconds: number;
  forwardGflops: number;
  backwardGflops: number;
}

const DEFAULT_SHAPES: AttentionShape[] = [
  { batch: 8, seqLen: 256, heads: 4, headDim: 64 },
  { batch: 8, seqLen: 256, heads: 12, headDim: 64 },
  { batch: 16, seqLen: 128, heads: 8, headDim: 32 },
];
const SOFTWARE_SHAPES: AttentionShape[] = [
  { batch: 1, seqLen: 256, heads: 4, headDim: 32 },
  { batch: 1, seqLen: 128, heads: 2, headDim: 64 },
];

function defaultReps(shape: AttentionShape, isSoftware: boolean): number {
  const flops = attentionForwardFlops(shape) + attentionBackwardFlops(shape);
  if (isSoftware) return Math.max(1, Math.min(3, Math.round(2e8 / flops)));
  return Math.min(200, Math.max(5, Math.round(2e10 / flops)));
}

/** Forward and forward + backward of the fused causal attention kernels: ms and GFLOP/s per shape. */
export async function benchAttention(options: AttentionBenchOptions = {}): Promise<BenchResult> {
  const trials = options.trials ?? 2;
  const rss = new PeakRss();
  const gpu = await Gpu.create({ adapter: options.adapter ?? process.env.GOSSAMER_ADAPTER ?? 'auto' });
  const shapes = options.shapes ?? (gpu.isSoftware ? SOFTWARE_SHAPES : DEFAULT_SHAPES);
  const results: ShapeResult[] = [];
  try {
    for (const shape of shapes) {
      const c = shape.heads * shape.headDim;
      const tokens = shape.batch * shape.seqLen;
      const next = createRng(tokens + c).float; // timing only: any fixed stream does
      const host = (n: number) => Float32Array.from({ length: n }, () => 2 * next() - 1);
      const qkv = gpu.upload(host(tokens * 3 * c), 'bench-qkv');
      const dy = gpu.upload(host(tokens * c), 'bench-dy');
      const y = gpu.createBuffer(tokens * c * 4, undefined, 'bench-y');
      const lse = gpu.createBuffer(shape.batch * shape.heads * shape.seqLen * 4, undefined, 'bench-lse');
      const dqkv = gpu.createBuffer(tokens * 3 * c * 4, undefined, 'bench-dqkv');
      const run = async (count: number, backward: boolean): Promise<number> => {
        const t0 = performance.now();
        let done: Promise<ArrayBuffer> | undefined;
        for (let r = 0; r < count; r++) {
          const step = gpu.beginStep('bench-attention');
          attentionForward(step, shape, { qkv, y, lse });
          if (backward) attentionBackward(gpu, step, shape, { qkv, y, lse, dy, dqkv });
          if (r === count - 1) done = step.readback(backward ? dqkv : y, 0, 4);
          step.submit();
        }
        await done;
        return (performance.now() - t0) / 1000 / count;
      };
      const reps = options.reps ?? defaultReps(shape, gpu.isSoftware);
      await run(1, true); // compiles the three pipelines
      let forwardSeconds = Infinity;
      let stepSeconds = Infinity;
      for (let t = 0; t < trials; t++) {
        forwardSeconds = Math.min(forwardSeconds, await run(reps, false));
        stepSeconds = Math.min(stepSeconds, await run(reps, true));
      }
      const backwardSeconds = Math.max(stepSeconds - forwardSeconds, 1e-9);
      results.push({
        shape,
        reps,
        forwardSeconds,
        stepSeconds,
        forwardGflops: attentionForwardFlops(shape) / forwardSeconds / 1e9,
        backwardGflops: attentionBackwardFlops(shape) / backwardSeconds / 1e9,
      });
      rss.sample();
      for (const b of [qkv, dy, y, lse, dqkv]) b.destroy();
    }
  } finally {
    await gpu.sync().catch(() => undefined);
    gpu.destroy();
  }
  const peakRss = rss.stop();
  const ms = (s: number) => Number((s * 1000).toFixed(s < 0.01 ? 3 : 1));
  const rows = results.map((r) => [
    `B${r.shape.batch} T${r.shape.seqLen} H${r.shape.heads} D${r.shape.headDim}`,
    ms(r.forwardSeconds),
    ms(r.stepSeconds),
    Number(r.forwardGflops.toFixed(3)),
    Number(r.backwardGflops.toFixed(3)),
    `${attentionTiles(r.shape.headDim).bn}`,
    `${r.reps}×${trials}`,
  ]);
  const notes = [
    `adapter: ${gpu.adapterDescription}${gpu.isSoftware ? ' [software]' : ''}`,
    'kernels: one forward dispatch and two backward dispatches of ⌈T/16⌉×H×B workgroups of 64 threads (16 rows × 4 threads); bn = rows of each streamed K/V (or Q/dy) tile',
    'timing: after a warm-up call (compilation), best of the trials of `reps` back-to-back calls, each submitted alone, ended by one 4-byte readback; backward = (forward + backward) − forward',
    'GFLOP/s: forward 4·D per causal (query, key) pair; backward 8·D per pair (dP, dv, dq, dk), the recomputed scores not counted',
    `peak RSS of the process: ${mib(peakRss)}`,
  ];
  if (gpu.isSoftware) notes.push('software adapter (CPU): absolute numbers say nothing about GPUs');
  return {
    name: 'attention',
    adapter: gpu.adapterDescription,
    columns: ['shape', 'fwd ms', 'fwd+bwd ms', 'fwd GFLOP/s', 'bwd GFLOP/s', 'bn', 'reps×trials'],
    rows,
    notes,
    json: { shapes: results, peakRssBytes: peakRss, isSoftware: gpu.isSoftware },
  };
}
