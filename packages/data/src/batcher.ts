import { STORAGE_USAGE, type Gpu, type StepEncoder } from '@gossamer/gpu';
import { gatherRows, gatherShiftedImages, packImageShift, span, type F32Span, type ImageShape, type WordSpan } from '@gossamer/kernels';
import type { Dataset } from './dataset.js';
import { Random, deriveSeed } from './random.js';

/**
 * What happens to the n mod B samples left over at the end of an epoch:
 * - `wrap` (default): samples form one endless stream, epoch after epoch, each epoch a fresh
 *   permutation; batches cut the stream every B samples, so a batch may straddle two epochs. Every
 *   sample is used exactly once per epoch and shards smaller than B still work (tiny Dirichlet
 *   shards are common), at the price that a straddling batch may hold one sample twice.
 * - `drop`: each epoch yields ⌊n/B⌋ batches from its permutation and skips the rest (PyTorch's
 *   drop_last); every batch holds B distinct samples. Needs n ≥ B.
 */
export type BatchRemainder = 'wrap' | 'drop';

export interface GpuBatcherOptions {
  /** B: samples per batch. */
  batchSize: number;
  /** Seed of the per-epoch shuffles: epoch e's order is a function of (seed, e) alone. Default 0. */
  seed?: number;
  remainder?: BatchRemainder;
  /**
   * Steps that may be encoded before the first of them is submitted (each gets its own slot of the
   * index buffer, since queue.writeBuffer lands at once, not at submit). Default 4.
   */
  maxPendingSteps?: number;
  /**
   * Gather straight into these spans (e.g. a model's input activations) instead of buffers of the
   * batcher's own: features [B × numFeatures], labels [B].
   */
  into?: { readonly features?: F32Span; readonly labels?: WordSpan };
  /** Prefix of the GPU buffer labels. Default the dataset's name. */
  label?: string;
  /**
   * Augment image batches with random translations: every sample of every batch is moved by
   * (dx, dy), each drawn uniformly from −maxShift…maxShift, seeded by (seed, step) alone. The shift
   * happens inside the batch gather (same dispatch count, no extra buffer), and the samples must be
   * images (`featureShape` [channels, height, width]). Default: none.
   */
  augment?: { maxShift: number };
}

/** Random translations of image batches (see `GpuBatcherOptions.augment`). */
export interface ShiftAugment {
  readonly maxShift: number;
  readonly image: ImageShape;
}

/** The batch a step was given. */
export interface BatchInfo {
  /** 0-based number of this batch. */
  readonly step: number;
  /** Epoch of the batch's first sample. */
  readonly epoch: number;
  /** Rows of the shard in this batch, in batch order. A reused array: valid until the next `encode` or `indicesOf`. */
  readonly indices: Uint32Array;
}

/**
 * A worker's shard on the GPU and the batches drawn from it. The features and labels are uploaded
 * once; each step the host writes the step's B u32 row indices (one small queue.writeBuffer into a
 * preallocated ring of index slots) and records two gather dispatches into the caller's
 * StepEncoder, so the training step stays one submit and a steady-state step creates no buffers.
 *
 * Indices come from the host, not a GPU RNG: they are B words per step (B = 64: 256 bytes), the
 * order is an exact seeded Fisher–Yates permutation per epoch that the CPU reference and every
 * device reproduce bit for bit, and the host knows each batch's rows (tests, debugging, resuming
 * from a checkpoint with `seek`).
 */
export class GpuBatcher {
  readonly numSamples: number;
  readonly numFeatures: number;
  readonly batchSize: number;
  readonly remainder: BatchRemainder;
  /** Batches per epoch: ⌊n/B⌋ with `drop`; n/B (not necessarily an integer) with `wrap`. */
  readonly stepsPerEpoch: number;
  /** The whole shard, [numSamples × numFeatures] f32. */
  readonly features: GPUBuffer;
  /** The shard's labels ([numSamples] u32) or regression targets ([numSamples] f32): see `labelType`. */
  readonly labels: GPUBuffer;
  readonly labelType: 'u32' | 'f32';
  /** Where each encode gathers the batch: [B × numFeatures] f32. */
  readonly batchFeatures: F32Span;
  /** Where each encode gathers the batch's labels or targets: [B] words of `labelType`. */
  readonly batchLabels: WordSpan;
  /** Set when batches are augmented. */
  readonly augment: ShiftAugment | undefined;

  private readonly seed: number;
  private readonly slots: number;
  private readonly indexBuffer: GPUBuffer;
  /** Words each step writes: its B indices, then (augmenting) its B packed shifts. */
  private readonly stepWords: number;
  private readonly hostWords: Uint32Array;
  private readonly hostIndices: Uint32Array;
  private readonly hostShifts: { readonly dx: Int32Array; readonly dy: Int32Array };
  private readonly owned: GPUBuffer[];
  /** Two cached epoch permutations: a wrapping batch spans at most two epochs. */
  private readonly permutations: { epoch: number; order: Uint32Array }[];
  private nextStep = 0;
  private encodesSinceSubmit = 0;
  private submitsSeen: number;

  constructor(
    private readonly gpu: Gpu,
    shard: Dataset,
    options: GpuBatcherOptions,
  ) {
    const n = shard.numSamples;
    const f = shard.numFeatures;
    const b = options.batchSize;
    const name = options.label ?? shard.name;
    this.remainder = options.remainder ?? 'wrap';
    if (!Number.isInteger(b) || b < 1) throw new Error(`GpuBatcher(${name}): batchSize must be a positive integer, got ${b}`);
    if (n === 0) throw new Error(`GpuBatcher(${name}): the shard is empty`);
    if (this.remainder === 'drop' && n < b) {
      throw new Error(`GpuBatcher(${name}): ${n} samples cannot fill one batch of ${b} with remainder 'drop'; use 'wrap'`);
    }
    const maxBinding = gpu.limits.maxStorageBufferBindingSize;
    if (n * f * 4 > maxBinding) {
      throw new Error(`GpuBatcher(${name}): the shard's ${n * f * 4} feature bytes exceed this device's maxStorageBufferBindingSize ${maxBinding}`);
    }
    this.slots = options.maxPendingSteps ?? 4;
    if (!Number.isInteger(this.slots) || this.slots < 1) throw new Error(`GpuBatcher(${name}): maxPendingSteps must be a positive integer`);
    this.numSamples = n;
    this.numFeatures = f;
    this.batchSize = b;
    this.seed = options.seed ?? 0;
    this.stepsPerEpoch = batchesPerEpoch(n, b, this.remainder);
    this.augment = options.augment && shiftAugment(name, shard, options.augment.maxShift);
    this.stepWords = this.augment ? 2 * b : b;

    this.owned = [];
    const own = (buffer: GPUBuffer) => (this.owned.push(buffer), buffer);
    this.features = own(gpu.upload(shard.features, `${name}:features`));
    if (shard.task === 'classification') {
      this.labels = own(gpu.upload(shard.labels, `${name}:labels`));
      this.labelType = 'u32';
    } else {
      this.labels = own(gpu.upload(shard.targets, `${name}:targets`));
      this.labelType = 'f32';
    }
    this.indexBuffer = own(gpu.createBuffer(this.slots * this.stepWords * 4, STORAGE_USAGE, `${name}:batch-indices`));
    const into = options.into ?? {};
    if (into.features && into.features.length !== b * f) {
      throw new Error(`GpuBatcher(${name}): into.features has ${into.features.length} floats, a batch needs ${b} × ${f}`);
    }
    if (into.labels && into.labels.length !== b) throw new Error(`GpuBatcher(${name}): into.labels has ${into.labels.length} words, a batch needs ${b}`);
    this.batchFeatures = into.features ?? span(own(gpu.createBuffer(b * f * 4, STORAGE_USAGE, `${name}:batch-features`)));
    this.batchLabels = into.labels ?? span(own(gpu.createBuffer(b * 4, STORAGE_USAGE, `${name}:batch-labels`)));
    this.hostWords = new Uint32Array(this.stepWords);
    this.hostIndices = this.hostWords.subarray(0, b);
    this.hostShifts = { dx: new Int32Array(b), dy: new Int32Array(b) };
    this.permutations = [
      { epoch: -1, order: new Uint32Array(n) },
      { epoch: -1, order: new Uint32Array(n) },
    ];
    this.submitsSeen = gpu.stats.submits;
  }

  /** Batches encoded so far (the number of the next batch). */
  get stepsTaken(): number {
    return this.nextStep;
  }

  /** The epoch the next batch starts in. */
  get epoch(): number {
    return this.epochOf(this.nextStep);
  }

  /** Makes batch number `step` the next one (e.g. when resuming from a checkpoint). */
  seek(step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`GpuBatcher.seek: step must be a non-negative integer, got ${step}`);
    this.nextStep = step;
  }

  /**
   * Row indices of batch `step` (host only; no GPU work). Returns the batcher's reused index array.
   */
  indicesOf(step: number): Uint32Array {
    const b = this.batchSize;
    const n = this.numSamples;
    const out = this.hostIndices;
    if (this.remainder === 'drop') {
      const epoch = Math.floor(step / this.stepsPerEpoch);
      const start = (step - epoch * this.stepsPerEpoch) * b;
      out.set(this.permutation(epoch).subarray(start, start + b));
      return out;
    }
    let position = step * b; // in the endless stream of samples
    let filled = 0;
    while (filled < b) {
      const epoch = Math.floor(position / n);
      const offset = position - epoch * n;
      const take = Math.min(b - filled, n - offset);
      out.set(this.permutation(epoch).subarray(offset, offset + take), filled);
      filled += take;
      position += take;
    }
    return out;
  }

  /**
   * The translations of batch `step`'s samples, in batch order (host only; zeros without
   * `augment`). Returns reused arrays: valid until the next `encode` or `shiftsOf`.
   */
  shiftsOf(step: number): { readonly dx: Int32Array; readonly dy: Int32Array } {
    const { dx, dy } = this.hostShifts;
    if (!this.augment) return (dx.fill(0), dy.fill(0), this.hostShifts);
    const m = this.augment.maxShift;
    const random = new Random(deriveSeed(this.seed, 'shift', step));
    for (let r = 0; r < this.batchSize; r++) {
      dx[r] = random.int(2 * m + 1) - m;
      dy[r] = random.int(2 * m + 1) - m;
    }
    return this.hostShifts;
  }

  /**
   * Encodes the next batch into `step`: writes its B indices to the GPU and gathers the features
   * into `batchFeatures` and the labels into `batchLabels`. Kernels recorded after this in the same
   * step see the batch.
   */
  encode(step: StepEncoder): BatchInfo {
    const submits = this.gpu.stats.submits;
    if (submits !== this.submitsSeen) {
      this.submitsSeen = submits;
      this.encodesSinceSubmit = 0;
    }
    if (this.encodesSinceSubmit >= this.slots) {
      throw new Error(
        `GpuBatcher: ${this.encodesSinceSubmit + 1} batches encoded without a submit; maxPendingSteps is ${this.slots} ` +
          '(a later batch would overwrite the indices of an unsubmitted one)',
      );
    }
    const number = this.nextStep;
    const b = this.batchSize;
    const indices = this.indicesOf(number);
    if (this.augment) {
      const { dx, dy } = this.shiftsOf(number);
      for (let r = 0; r < b; r++) this.hostWords[b + r] = packImageShift(dx[r], dy[r]);
    }
    const slot = number % this.slots;
    this.gpu.write(this.indexBuffer, slot * this.stepWords * 4, this.hostWords);
    const slotIndices = { buffer: this.indexBuffer, offset: slot * this.stepWords, count: b };
    const source = span(this.features, 0, this.numSamples * this.numFeatures);
    if (this.augment) {
      gatherShiftedImages(step, {
        source,
        indices: slotIndices,
        shifts: { buffer: this.indexBuffer, offset: slot * this.stepWords + b, count: b },
        destination: this.batchFeatures,
        image: this.augment.image,
      });
    } else {
      gatherRows(step, { source, indices: slotIndices, destination: this.batchFeatures, rowLength: this.numFeatures });
    }
    gatherRows(step, { source: span(this.labels, 0, this.numSamples), indices: slotIndices, destination: this.batchLabels, rowLength: 1 });
    this.encodesSinceSubmit++;
    this.nextStep++;
    return { step: number, epoch: this.epochOf(number), indices };
  }

  /** Frees the batcher's GPU buffers (not those passed in `into`). */
  destroy(): void {
    for (const b of this.owned.splice(0)) b.destroy();
  }

  private epochOf(step: number): number {
    return this.remainder === 'drop' ? Math.floor(step / this.stepsPerEpoch) : Math.floor((step * this.batchSize) / this.numSamples);
  }

  /** Epoch e's sample order: a Fisher–Yates shuffle seeded by (seed, e) alone. */
  private permutation(epoch: number): Uint32Array {
    const [a, b] = this.permutations;
    if (a.epoch === epoch) return a.order;
    if (b.epoch === epoch) return b.order;
    // Replace the older epoch; reuse its array (no allocation per epoch).
    const victim = a.epoch < b.epoch ? a : b;
    victim.epoch = epoch;
    for (let i = 0; i < victim.order.length; i++) victim.order[i] = i;
    new Random(deriveSeed(this.seed, 'epoch', epoch)).shuffle(victim.order);
    return victim.order;
  }
}

function shiftAugment(name: string, shard: Dataset, maxShift: number): ShiftAugment {
  const shape = shard.featureShape;
  if (shape.length !== 3) {
    throw new Error(`GpuBatcher(${name}): shift augmentation needs image samples [channels, height, width]; this dataset's have shape [${shape.join(', ')}]`);
  }
  const [channels, height, width] = shape;
  if (!Number.isInteger(maxShift) || maxShift < 0 || maxShift >= Math.min(height, width)) {
    throw new Error(`GpuBatcher(${name}): augment.maxShift must be an integer from 0 to ${Math.min(height, width) - 1} for ${height}×${width} images, got ${maxShift}`);
  }
  return { maxShift, image: { channels, height, width } };
}

/** Batches per epoch of n samples in batches of B: ⌊n/B⌋ with `drop`, n/B (not necessarily an integer) with `wrap`. */
export function batchesPerEpoch(numSamples: number, batchSize: number, remainder: BatchRemainder = 'wrap'): number {
  return remainder === 'drop' ? Math.floor(numSamples / batchSize) : numSamples / batchSize;
}

/** Epoch e's sample order for a shard of n samples, as the batcher draws it (a CPU reference). */
export function epochPermutation(numSamples: number, seed: number, epoch: number): Uint32Array {
  return new Random(deriveSeed(seed, 'epoch', epoch)).permutation(numSamples);
}
