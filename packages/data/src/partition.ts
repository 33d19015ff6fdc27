import { labelHistogram, subset, type Dataset } from './dataset.js';
import { Random } from './random.js';
import { apportion, indicesByClass } from './split.js';

/**
 * Which samples each worker holds. Every scheme is a pure function of its seed; the workers'
 * index lists are disjoint, cover every sample, and are sorted ascending (the batcher shuffles).
 */
export interface Partition {
  readonly numWorkers: number;
  /** Samples of the partitioned dataset. */
  readonly numSamples: number;
  /** Sample indices of worker w, ascending. */
  readonly workers: readonly Uint32Array[];
  /** How it was made, e.g. "dirichlet(α=0.1, seed=0, min=10, draws=2)". */
  readonly description: string;
}

export interface IidSpec {
  readonly kind: 'iid';
  readonly seed?: number;
}

export interface DirichletSpec {
  readonly kind: 'dirichlet';
  /** Concentration: 0.1 is the standard strongly non-IID setting; ≥ 100 is close to IID. */
  readonly alpha: number;
  readonly seed?: number;
  /**
   * Every worker gets at least this many samples. Default min(10, ⌊N/n⌋): 10 as in NIID-Bench
   * (Li et al. 2022), lowered for datasets too small for it.
   */
  readonly minSamplesPerWorker?: number;
  /**
   * NIID-Bench / FedMA balancing (default true): while splitting a class, a worker that already holds
   * ≥ N/n samples gets a zero share of it, which keeps shard sizes within a small factor of each other
   * without changing the per-class skew much. false: the plain per-class Dir(α) split.
   */
  readonly balance?: boolean;
  /** Whole-partition redraws tried before repairing (see partitionDirichlet). Default 100. */
  readonly maxDraws?: number;
}

export interface ShardsSpec {
  readonly kind: 'shards';
  /** k: shards (and so at most k distinct labels) per worker; McMahan et al. 2017 used 2. */
  readonly shardsPerWorker: number;
  readonly seed?: number;
}

export type PartitionSpec = IidSpec | DirichletSpec | ShardsSpec;

/** Partitions a dataset by `spec`; the non-IID schemes need a classification dataset. */
export function partitionDataset(dataset: Dataset, numWorkers: number, spec: PartitionSpec): Partition {
  if (spec.kind === 'iid') return partitionIid(dataset.numSamples, numWorkers, spec.seed ?? 0);
  if (dataset.task !== 'classification') {
    throw new Error(`partitionDataset(${dataset.name}): the ${spec.kind} partition needs class labels; use iid for regression data`);
  }
  if (spec.kind === 'dirichlet') return partitionDirichlet(dataset.labels, dataset.numClasses, numWorkers, spec);
  return partitionShards(dataset.labels, dataset.numClasses, numWorkers, spec.shardsPerWorker, spec.seed ?? 0);
}

/** A worker's shard as a dataset of its own (copied rows), named "<dataset>/worker<w>". */
export function workerShard<D extends Dataset>(dataset: D, partition: Partition, worker: number): D {
  if (partition.numSamples !== dataset.numSamples) {
    throw new Error(`workerShard: the partition is of ${partition.numSamples} samples, ${dataset.name} has ${dataset.numSamples}`);
  }
  const indices = partition.workers[worker];
  if (!indices) throw new Error(`workerShard: no worker ${worker} among ${partition.numWorkers}`);
  return subset(dataset, indices, `${dataset.name}/worker${worker}`);
}

/** IID: a seeded shuffle cut into n contiguous pieces; sizes differ by at most one. */
export function partitionIid(numSamples: number, numWorkers: number, seed = 0): Partition {
  checkWorkers(numWorkers, numSamples);
  const order = new Random(seed).permutation(numSamples);
  const workers: Uint32Array[] = [];
  const base = Math.floor(numSamples / numWorkers);
  const extra = numSamples % numWorkers;
  let start = 0;
  for (let w = 0; w < numWorkers; w++) {
    const size = base + (w < extra ? 1 : 0);
    workers.push(sorted(order.subarray(start, start + size)));
    start += size;
  }
  return { numWorkers, numSamples, workers, description: `iid(seed=${seed})` };
}

/**
 * Dirichlet label skew (Hsu et al. 2019; the NIID-Bench implementation): for each class, its
 * samples are shuffled and split among the n workers in proportions p ~ Dir(α, …, α) (cut points
 * ⌊cumsum(p)·count⌋). Small α gives each worker a few dominant classes.
 *
 * Minimum size: as in the common implementations, the whole partition is redrawn until every worker
 * has at least `minSamplesPerWorker` samples. Redrawing alone need not terminate quickly at large n
 * and small α (hundreds of workers on 10 classes), so after `maxDraws` draws the draw with the
 * largest minimum is repaired: each short worker receives samples drawn at random from the currently
 * largest worker until it reaches the minimum. The repair moves few samples and is reported in the
 * description ("repaired=m"); with the defaults MNIST-sized data at n ≤ 64 never needs it.
 */
export function partitionDirichlet(labels: Uint32Array, numClasses: number, numWorkers: number, spec: Omit<DirichletSpec, 'kind'>): Partition {
  const n = labels.length;
  checkWorkers(numWorkers, n);
  const { alpha } = spec;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new Error(`partitionDirichlet: alpha must be positive and finite, got ${alpha}`);
  const seed = spec.seed ?? 0;
  const minSize = spec.minSamplesPerWorker ?? Math.min(10, Math.floor(n / numWorkers));
  if (!Number.isInteger(minSize) || minSize < 0 || minSize * numWorkers > n) {
    throw new Error(`partitionDirichlet: cannot give ${numWorkers} workers ${minSize} samples each from ${n} samples`);
  }
  const balance = spec.balance ?? true;
  const maxDraws = spec.maxDraws ?? 100;
  if (!Number.isInteger(maxDraws) || maxDraws < 1) throw new Error(`partitionDirichlet: maxDraws must be a positive integer, got ${maxDraws}`);

  const random = new Random(seed);
  const byClass = indicesByClass(labels, numClasses);
  const cap = n / numWorkers;
  let best: number[][] = [];
  let bestMin = -1;
  let draws = 0;
  while (draws < maxDraws && bestMin < minSize) {
    draws++;
    const workers: number[][] = Array.from({ length: numWorkers }, () => []);
    for (let c = 0; c < numClasses; c++) {
      const members = random.shuffle(Uint32Array.from(byClass[c]));
      // Draw even for empty classes, so one class's absence does not shift every later draw.
      const p = random.dirichlet(alpha, numWorkers);
      if (balance) {
        let kept = 0;
        for (let w = 0; w < numWorkers; w++) kept += p[w] = workers[w].length < cap ? p[w] : 0;
        // Cannot be 0 while samples remain (someone is below the mean), but guard rounding anyway.
        if (kept > 0) for (let w = 0; w < numWorkers; w++) p[w] /= kept;
        else p.set(random.dirichlet(alpha, numWorkers));
      }
      let cumulative = 0;
      let start = 0;
      for (let w = 0; w < numWorkers; w++) {
        cumulative += p[w];
        const end = w === numWorkers - 1 ? members.length : Math.min(members.length, Math.floor(cumulative * members.length));
        for (let j = start; j < end; j++) workers[w].push(members[j]);
        start = Math.max(start, end);
      }
    }
    const smallest = Math.min(...workers.map((s) => s.length));
    if (smallest > bestMin) {
      bestMin = smallest;
      best = workers;
    }
  }
  const moved = bestMin < minSize ? repairMinimum(best, minSize, random) : 0;
  const description = `dirichlet(α=${alpha}, seed=${seed}, min=${minSize}${balance ? '' : ', unbalanced'}, draws=${draws}${moved > 0 ? `, repaired=${moved}` : ''})`;
  return { numWorkers, numSamples: n, workers: best.map((s) => sorted(Uint32Array.from(s))), description };
}

/** Moves random samples from the largest workers to each worker below `minSize`; returns how many. */
function repairMinimum(workers: number[][], minSize: number, random: Random): number {
  let moved = 0;
  for (let w = 0; w < workers.length; w++) {
    while (workers[w].length < minSize) {
      let donor = 0;
      for (let v = 1; v < workers.length; v++) if (workers[v].length > workers[donor].length) donor = v;
      const from = workers[donor];
      const j = random.int(from.length);
      workers[w].push(from[j]);
      from[j] = from[from.length - 1];
      from.pop();
      moved++;
    }
  }
  return moved;
}

/**
 * k label-sorted shards per worker (McMahan et al. 2017's pathological non-IID split), with shards
 * cut within each class so a shard never straddles two labels: every worker holds at most k labels,
 * exactly. The n·k shards are apportioned to the classes by class size (at least one per class
 * present), each class's samples are shuffled and cut into its shards of near-equal size, and the
 * shuffled shards are dealt k per worker. Needs n·k ≥ the number of classes present.
 */
export function partitionShards(labels: Uint32Array, numClasses: number, numWorkers: number, shardsPerWorker: number, seed = 0): Partition {
  const n = labels.length;
  checkWorkers(numWorkers, n);
  if (!Number.isInteger(shardsPerWorker) || shardsPerWorker < 1) {
    throw new Error(`partitionShards: shardsPerWorker must be a positive integer, got ${shardsPerWorker}`);
  }
  const totalShards = numWorkers * shardsPerWorker;
  if (totalShards > n) throw new Error(`partitionShards: ${totalShards} shards need at least as many samples, got ${n}`);
  const counts = labelHistogram(labels, numClasses);
  const present = Array.from(counts.keys()).filter((c) => counts[c] > 0);
  if (totalShards < present.length) {
    throw new Error(
      `partitionShards: ${numWorkers} workers × ${shardsPerWorker} shards = ${totalShards} cannot cover ${present.length} classes ` +
        'without a shard holding two labels; use more workers or shards per worker',
    );
  }
  // One shard per present class, the rest by class size; then no class may have more shards than samples.
  const extra = apportion(totalShards - present.length, Array.from(present, (c) => counts[c]));
  const shardsOf = new Uint32Array(numClasses);
  present.forEach((c, i) => (shardsOf[c] = 1 + extra[i]));
  for (;;) {
    const over = present.find((c) => shardsOf[c] > counts[c]);
    if (over === undefined) break;
    shardsOf[over]--;
    // Give the shard to the class whose shards are largest.
    let target = present[0];
    for (const c of present) if (counts[c] / (shardsOf[c] + 1) > counts[target] / (shardsOf[target] + 1)) target = c;
    shardsOf[target]++;
  }

  const random = new Random(seed);
  const byClass = indicesByClass(labels, numClasses);
  const shards: Uint32Array[] = [];
  for (const c of present) {
    const members = random.shuffle(Uint32Array.from(byClass[c]));
    const sizes = apportion(members.length, new Array<number>(shardsOf[c]).fill(1));
    let start = 0;
    for (const size of sizes) {
      shards.push(members.subarray(start, start + size));
      start += size;
    }
  }
  const order = random.permutation(shards.length);
  const workers: Uint32Array[] = [];
  for (let w = 0; w < numWorkers; w++) {
    const mine = Array.from({ length: shardsPerWorker }, (_, s) => shards[order[w * shardsPerWorker + s]]);
    const indices = new Uint32Array(mine.reduce((a, shard) => a + shard.length, 0));
    let at = 0;
    for (const shard of mine) {
      indices.set(shard, at);
      at += shard.length;
    }
    workers.push(indices.sort());
  }
  return { numWorkers, numSamples: n, workers, description: `shards(k=${shardsPerWorker}, seed=${seed})` };
}

/** One worker's data as the partition summary reports it. */
export interface WorkerDataSummary {
  readonly worker: number;
  readonly numSamples: number;
  /** Samples per class. */
  readonly labelHistogram: Uint32Array;
  /** Distinct labels present. */
  readonly numLabels: number;
  /** Fewest classes that together hold ≥ 90% of this worker's samples (0 for an empty worker). */
  readonly classesFor90: number;
  /** Total-variation distance ½ Σ_c |p_w(c) − p(c)| to the global label distribution, in [0, 1]. */
  readonly totalVariation: number;
}

export interface PartitionSummary {
  readonly description: string;
  readonly numClasses: number;
  readonly workers: readonly WorkerDataSummary[];
  readonly globalHistogram: Uint32Array;
  readonly minSamples: number;
  readonly maxSamples: number;
  /** Mean over workers of `totalVariation`: 0 for a perfectly IID split, near 1 for disjoint labels. */
  readonly meanTotalVariation: number;
  /** Mean over workers of `classesFor90`. */
  readonly meanClassesFor90: number;
}

/** Per-worker counts, label histograms and skew statistics of a partition of labelled data. */
export function summarizePartition(partition: Partition, labels: Uint32Array, numClasses: number): PartitionSummary {
  if (partition.numSamples !== labels.length) {
    throw new Error(`summarizePartition: the partition is of ${partition.numSamples} samples, got ${labels.length} labels`);
  }
  const globalHistogram = labelHistogram(labels, numClasses);
  const total = labels.length;
  const workers = partition.workers.map((indices, worker): WorkerDataSummary => {
    const hist = labelHistogram(labels, numClasses, indices);
    const size = indices.length;
    let tv = 0;
    for (let c = 0; c < numClasses; c++) tv += Math.abs((size ? hist[c] / size : 0) - (total ? globalHistogram[c] / total : 0));
    const descending = Array.from(hist).sort((a, b) => b - a);
    let covered = 0;
    let classesFor90 = 0;
    // 1e-9 slack: 90% of 10 samples is 9, not 9.000000000000002.
    while (size > 0 && covered < 0.9 * size - 1e-9) covered += descending[classesFor90++];
    return {
      worker,
      numSamples: size,
      labelHistogram: hist,
      numLabels: hist.reduce((a, h) => a + (h > 0 ? 1 : 0), 0),
      classesFor90,
      totalVariation: tv / 2,
    };
  });
  const sizes = workers.map((w) => w.numSamples);
  const mean = (f: (w: WorkerDataSummary) => number) => workers.reduce((a, w) => a + f(w), 0) / Math.max(workers.length, 1);
  return {
    description: partition.description,
    numClasses,
    workers,
    globalHistogram,
    minSamples: Math.min(...sizes),
    maxSamples: Math.max(...sizes),
    meanTotalVariation: mean((w) => w.totalVariation),
    meanClassesFor90: mean((w) => w.classesFor90),
  };
}

/**
 * The summary as a plain-text table for the CLI (this package prints nothing itself): one line per
 * worker (the first `maxWorkers`, default 32) with its count, the classes covering 90% of it, its
 * TV distance and its label histogram, then the totals.
 */
export function formatPartitionSummary(summary: PartitionSummary, maxWorkers = 32): string {
  const lines = [`partition ${summary.description}: ${summary.workers.length} workers, ${summary.numClasses} classes`];
  const width = Math.max(6, ...summary.workers.map((w) => String(w.numSamples).length));
  lines.push(`${'worker'.padStart(6)}  ${'samples'.padStart(width)}  c90  labels   TV    histogram`);
  for (const w of summary.workers.slice(0, maxWorkers)) {
    lines.push(
      `${String(w.worker).padStart(6)}  ${String(w.numSamples).padStart(width)}  ${String(w.classesFor90).padStart(3)}  ` +
        `${String(w.numLabels).padStart(6)}  ${w.totalVariation.toFixed(2)}  [${Array.from(w.labelHistogram).join(' ')}]`,
    );
  }
  if (summary.workers.length > maxWorkers) lines.push(`   ... ${summary.workers.length - maxWorkers} more workers`);
  lines.push(
    `samples per worker ${summary.minSamples}–${summary.maxSamples}; mean classes covering 90%: ` +
      `${summary.meanClassesFor90.toFixed(2)}; mean TV distance to the global label distribution: ${summary.meanTotalVariation.toFixed(3)}`,
  );
  return lines.join('\n');
}

function checkWorkers(numWorkers: number, numSamples: number): void {
  if (!Number.isInteger(numWorkers) || numWorkers < 1) throw new Error(`partition: numWorkers must be a positive integer, got ${numWorkers}`);
  if (!Number.isInteger(numSamples) || numSamples < 0) throw new Error(`partition: bad sample count ${numSamples}`);
}

function sorted(indices: Uint32Array): Uint32Array {
  return Uint32Array.from(indices).sort();
}
