// One training step of an MLP (784-256-256-10, batch 128, AdamW), Gossamer's replica against
// TensorFlow.js's WebGPU backend on the same adapter in the same process, with the same work per step:
// gather the batch from a dataset already on the GPU (one small index upload), forward, softmax
// cross-entropy, backward, AdamW. Also counts, per steady-state step, the dispatches, submits and
// GPU buffers created on each side (TF.js's by wrapping its device's methods).
import { Gpu } from '@gossamer/gpu';
import { GpuBatcher, classificationDataset } from '@gossamer/data';
import { Replica, mlp } from '@gossamer/model';
import { createRng } from '@gossamer/topology';
import { PeakRss, loadTfjsWebgpu, mib } from './common.js';
import type { BenchResult } from './types.js';

type Tensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor2D = import('@tensorflow/tfjs-core').Tensor2D;

export interface TrainStepBenchOptions {
  adapter?: string;
  hidden?: number[];
  batch?: number;
  /** Timed steps per trial. */
  steps?: number;
  trials?: number;
}

interface Counts {
  dispatches: number;
  submits: number;
  buffers: number;
}

interface SideResult {
  msPerStep: number;
  perStep: Counts;
}

const FEATURES = 784;
const CLASSES = 10;
const SAMPLES = 4096;

function syntheticMnistLike(seed: number) {
  // Timing only: any fixed stream does; the project's one seeded PRNG.
  const next = createRng(seed).float;
  const labels = Uint32Array.from({ length: SAMPLES }, () => Math.floor(next() * CLASSES));
  const features = Float32Array.from({ length: SAMPLES * FEATURES }, () => next());
  return classificationDataset({ name: 'bench', features, labels, numClasses: CLASSES });
}

/** Counts what a TF.js WebGPU backend does on its device, by wrapping the device's methods. */
function instrumentTfjs(device: GPUDevice): Counts {
  const counts: Counts = { dispatches: 0, submits: 0, buffers: 0 };
  const createBuffer = device.createBuffer.bind(device);
  device.createBuffer = (d: GPUBufferDescriptor) => {
    counts.buffers++;
    return createBuffer(d);
  };
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (buffers: Iterable<GPUCommandBuffer>) => {
    counts.submits++;
    return submit(buffers);
  };
  const createCommandEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
    const encoder = createCommandEncoder(d);
    const beginComputePass = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (pd?: GPUComputePassDescriptor) => {
      const pass = beginComputePass(pd);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        counts.dispatches++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  return counts;
}

const perStep = (before: Counts, after: Counts, steps: number): Counts => ({
  dispatches: (after.dispatches - before.dispatches) / steps,
  submits: (after.submits - before.submits) / steps,
  buffers: (after.buffers - before.buffers) / steps,
});

export async function benchTrainStep(options: TrainStepBenchOptions = {}): Promise<BenchResult> {
  const hidden = options.hidden ?? [256, 256];
  const batch = options.batch ?? 128;
  const trials = options.trials ?? 2;
  const rss = new PeakRss();
  const adapterChoice = options.adapter ?? process.env.GOSSAMER_ADAPTER ?? 'auto';
  const gpu = await Gpu.create({ adapter: adapterChoice });
  const steps = options.steps ?? (gpu.isSoftware ? 10 : 200);
  const data = syntheticMnistLike(1);
  const spec = mlp(FEATURES, hidden, CLASSES);
  const lr = 1e-3;
  let ours: SideResult;
  let theirs: SideResult;
  let tfjsVersion = '';
  try {
    // --- Gossamer ---
    const replica = Replica.create(gpu, { spec, optimizer: { kind: 'adamw', lr, weightDecay: 0 }, batchSize: batch, seed: 1 });
    const batcher = new GpuBatcher(gpu, data, { batchSize: batch, seed: 1 });
    // Warm-up as long as a trial, unsynced, so pipelines are compiled and the buffer pool holds what
    // a trial's steps in flight need.
    replica.trainSteps(batcher, steps);
    await gpu.sync();
    const countsOf = (): Counts => ({ dispatches: gpu.stats.dispatches, submits: gpu.stats.submits, buffers: gpu.stats.buffersCreated });
    let best = Infinity;
    let counted: Counts | undefined;
    for (let t = 0; t < trials; t++) {
      const before = countsOf();
      const t0 = performance.now();
      replica.trainSteps(batcher, steps);
      await gpu.sync();
      best = Math.min(best, (performance.now() - t0) / steps);
      counted = perStep(before, countsOf(), steps); // the last trial's: steady state
    }
    const ourLoss = await replica.takeLoss();
    ours = { msPerStep: best, perStep: counted as Counts };
    replica.destroy();
    batcher.destroy();

    // --- TensorFlow.js, same work: gather from an on-GPU dataset by a small index tensor ---
    const { tf } = await loadTfjsWebgpu(adapterChoice);
    tfjsVersion = tf.version_core;
    const backend = tf.backend() as unknown as { device: GPUDevice };
    const counts = instrumentTfjs(backend.device);
    const xs = tf.tensor2d(data.features, [SAMPLES, FEATURES]);
    const ys = tf.tensor1d(Int32Array.from(data.labels), 'int32');
    const widths = [FEATURES, ...hidden, CLASSES];
    const vars = widths.slice(1).map((out, i) => {
      const bound = Math.sqrt(6 / widths[i]);
      return { w: tf.variable(tf.randomUniform([widths[i], out], -bound, bound)), b: tf.variable(tf.zeros([out])) };
    });
    const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
    let cursor = 0;
    const tfStep = () => {
      const idx = new Int32Array(batch);
      for (let i = 0; i < batch; i++) idx[i] = (cursor + i * 7) % SAMPLES;
      cursor = (cursor + batch) % SAMPLES;
      tf.tidy(() => {
        const indices = tf.tensor1d(idx, 'int32');
        const x = tf.gather(xs, indices) as Tensor2D;
        const y = tf.oneHot(tf.gather(ys, indices), CLASSES);
        // Forward, keeping what the backward pass needs.
        const inputs: Tensor2D[] = [];
        const pre: Tensor2D[] = [];
        let h = x;
        vars.forEach((v, i) => {
          inputs.push(h);
          const z = tf.add(tf.matMul(h, v.w), v.b) as Tensor2D;
          pre.push(z);
          h = i < vars.length - 1 ? tf.relu(z) : z;
        });
        // Mean softmax cross-entropy and its gradient (p − y) / B.
        const logProbs = tf.logSoftmax(h);
        const loss = tf.div(tf.neg(tf.sum(tf.mul(y, logProbs))), batch);
        let dz = tf.div(tf.sub(tf.exp(logProbs), y), batch) as Tensor2D;
        // Backward, the same products a tape would record.
        const grads: { name: string; tensor: Tensor }[] = [];
        for (let i = vars.length - 1; i >= 0; i--) {
          grads.push({ name: vars[i].w.name, tensor: tf.matMul(inputs[i], dz, true, false) });
          grads.push({ name: vars[i].b.name, tensor: tf.sum(dz, 0) });
          if (i > 0) dz = tf.mul(tf.matMul(dz, vars[i].w, false, true), tf.step(pre[i - 1])) as Tensor2D;
        }
        optimizer.applyGradients(grads);
        tf.keep(loss).dispose();
      });
    };
    for (let i = 0; i < steps; i++) tfStep();
    await tf.ready();
    const probe = async () => {
      const t = tf.slice(vars[0].b, [0], [1]);
      await t.data();
      t.dispose();
    };
    await probe();
    best = Infinity;
    counted = undefined;
    for (let t = 0; t < trials; t++) {
      const before = { ...counts };
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) tfStep();
      await probe();
      best = Math.min(best, (performance.now() - t0) / steps);
      counted = perStep(before, counts, steps);
    }
    theirs = { msPerStep: best, perStep: counted as Counts };
    xs.dispose();
    ys.dispose();
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    optimizer.dispose();
    if (!Number.isFinite(ourLoss)) throw new Error(`train-step bench: our loss is ${ourLoss}`);
  } finally {
    await gpu.sync().catch(() => undefined);
    gpu.destroy();
  }
  const peakRss = rss.stop();
  const fmt = (v: number) => Number(v.toFixed(v < 10 ? 2 : 1));
  const ratio = ours.msPerStep / theirs.msPerStep;
  return {
    name: 'train-step',
    adapter: gpu.adapterDescription,
    columns: ['side', 'ms/step', 'vs TF.js', 'dispatches/step', 'submits/step', 'buffers created/step'],
    rows: [
      ['gossamer', fmt(ours.msPerStep), `${ratio.toFixed(2)}×`, fmt(ours.perStep.dispatches), fmt(ours.perStep.submits), fmt(ours.perStep.buffers)],
      ['TF.js webgpu', fmt(theirs.msPerStep), '1.00×', fmt(theirs.perStep.dispatches), fmt(theirs.perStep.submits), fmt(theirs.perStep.buffers)],
    ],
    notes: [
      `MLP ${[FEATURES, ...hidden, CLASSES].join('-')}, batch ${batch}, AdamW (weight decay 0, so TF.js's Adam is the same update); ${steps} steps per trial, best of ${trials}, each trial timed to GPU completion`,
      'both sides gather the batch from a dataset already on the GPU with one small index upload per step',
      "TF.js: the backward pass written with TF.js ops (the products its tape would record) and tf.train.adam's applyGradients, because tfjs-core's gradient registrations ship only as extensionless ESM that Node cannot import",
      `goals: ≤ 15 dispatches, 1 submit, 0 buffers per step; step time ≤ 0.8× TF.js's on SwiftShader, ≤ 0.5× on a real GPU`,
      `TF.js ${tfjsVersion}; peak RSS of the process: ${mib(peakRss)}`,
    ],
    json: { ours, tfjs: theirs, ratio, hidden, batch, steps, trials, peakRssBytes: peakRss, isSoftware: gpu.isSoftware },
  };
}
