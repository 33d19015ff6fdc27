import { describe, expect, it } from 'vitest';
import type { Gpu } from '@gossamer/gpu';
import { reference, span, type OuterStepConfig } from '@gossamer/kernels';
import { Replica, mlp, type BatchSource } from '@gossamer/model';
import type { AllReduceOptions, TransferKey, Transport } from '@gossamer/transport';
import {
  TENSOR,
  parseOuterMomentumClip,
  parseStalenessPenalty,
  runCo2Worker,
  runLocalSgdWorker,
  runSlowMoWorker,
  simulateWorkers,
  workerIds,
  type AlgorithmEvent,
  type Co2Options,
  type OuterRoundEvent,
  type WorkerContext,
} from '@gossamer/algorithms';
import { useGpu } from '../../../test/support/gpu.js';
import { normal } from '../../../test/support/numeric.js';

// CO2 (ALGORITHMS.md §3) on a tiny deterministic problem: 3 workers, a 4-3-2 MLP, each worker always
// trains on its own fixed batch (so inner steps are a deterministic function of where they start).
// A recording transport keeps every all-reduce's input (the round's snapshot) and output (x̄), so a
// float64 replay of the outer rule can be compared with what the workers did.

const N = 3;
const BATCH = 4;
const spec = mlp(4, [3], 2);

interface Recorded {
  round: number;
  input: Float32Array;
  output: Float32Array;
}

/** A transport that records the parameter all-reduces and logs when they start and finish. */
function recording(inner: Transport, log: string[], records: Recorded[]): Transport {
  return {
    get id() {
      return inner.id;
    },
    members: () => inner.members(),
    send: (to, key, data, options) => inner.send(to, key, data, options),
    receive: (from, key, options) => inner.receive(from, key, options),
    membership: () => inner.membership(),
    views: inner.views,
    stats: () => inner.stats(),
    close: (options) => inner.close(options),
    async allReduce(key: TransferKey, data: Float32Array, options?: AllReduceOptions): Promise<Float32Array> {
      if (key.tensor !== TENSOR.average) return inner.allReduce(key, data, options);
      const input = Float32Array.from(data);
      log.push(`start ${key.round}`);
      const output = await inner.allReduce(key, data, options);
      log.push(`done ${key.round}`);
      records.push({ round: key.round, input, output: Float32Array.from(output) });
      return output;
    },
  };
}

function fixedBatch(g: Gpu, worker: number, log?: string[]): BatchSource {
  const features = g.upload(normal(BATCH * 4, 40 + worker));
  const labels = g.upload(Uint32Array.from({ length: BATCH }, (_, i) => (i + worker) % 2));
  return {
    batchFeatures: span(features),
    batchLabels: span(labels),
    encode() {
      log?.push('step');
    },
  };
}

interface Run {
  params: Float32Array[];
  initial: Float32Array;
  records: Recorded[][];
  logs: string[][];
  events: OuterRoundEvent[];
  segments: { offset: number; length: number }[];
}

async function runTiny(
  g: Gpu,
  body: (ctx: WorkerContext) => Promise<unknown>,
  options: { optimizer?: 'sgd' | 'adamw'; latencyMs?: number } = {},
): Promise<Run> {
  const ids = workerIds(N);
  const optimizer = options.optimizer === 'adamw' ? ({ kind: 'adamw', lr: 0.05 } as const) : ({ kind: 'sgd', lr: 0.5 } as const);
  const replicas = ids.map((id) => Replica.create(g, { spec, optimizer, batchSize: BATCH, seed: 7, name: id }));
  const logs = ids.map((): string[] => []);
  const records = ids.map((): Recorded[] => []);
  const events: OuterRoundEvent[] = [];
  const initial = await replicas[0].getParameters();
  try {
    await simulateWorkers(
      ids,
      (transport, index) =>
        body({
          gpu: g,
          transport: recording(transport, logs[index], records[index]),
          replica: replicas[index],
          batches: fixedBatch(g, index, logs[index]),
          ids,
          index,
          emit: (e: AlgorithmEvent) => {
            if (e.type === 'round') events.push(e as OuterRoundEvent);
          },
        }),
      options.latencyMs ? { link: { latencyMs: options.latencyMs } } : {},
    );
    const params = await Promise.all(replicas.map((r) => r.getParameters()));
    return { params, initial, records, logs, events, segments: replicas[0].layout.segments.map((s) => ({ offset: s.offset, length: s.length })) };
  } finally {
    for (const r of replicas) r.destroy();
  }
}

const base = { rounds: 4, localSteps: 2, evalEvery: 0, consensusEvery: 0 };

function co2(options: Partial<Co2Options>): Co2Options {
  return { ...base, outerLearningRate: 1, outerMomentum: 0, penalty: { kind: 'none' }, clip: { kind: 'none' }, staleness: 'none', ...options };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Float64 replay of the outer rule from the recorded averages: the final anchor. */
function replay(run: Run, averages: Float32Array[], config: Omit<OuterStepConfig, 'stale'>, mode: 'stale' | 'fresh'): Float64Array {
  let state = { anchor: Float64Array.from(run.initial), previousAnchor: Float64Array.from(run.initial), momentum: new Float64Array(run.initial.length) };
  const step = (average: Float32Array, stale: boolean) => {
    const r = reference.outer.outerStep(state, average, run.segments, { ...config, stale });
    state = { anchor: r.anchor, previousAnchor: r.previousAnchor, momentum: r.momentum };
  };
  for (let t = 0; t < averages.length; t++) {
    if (mode === 'fresh') step(averages[t], false);
    else if (t === 0) state.previousAnchor = Float64Array.from(state.anchor);
    else step(averages[t - 1], true);
  }
  if (mode === 'stale') step(averages[averages.length - 1], true);
  return state.anchor;
}

describe('CO2 and its limits on a tiny deterministic problem (in-process)', () => {
  const gpu = useGpu();

  it('no staleness, β = 0, α = 1, λ = 1, no clip: CO2 is exactly Local SGD (AdamW inner state kept, not averaged)', async () => {
    const g = gpu();
    const local = await runTiny(g, (ctx) => runLocalSgdWorker(ctx, base), { optimizer: 'adamw' });
    const viaCo2 = await runTiny(g, (ctx) => runCo2Worker(ctx, co2({ penalty: { kind: 'constant', lambda: 1 } })), { optimizer: 'adamw' });
    // The workers trained and the averaging happened: parameters moved, and all workers agree.
    expect(maxAbsDiff(local.params[0], local.initial)).toBeGreaterThan(1e-3);
    for (let i = 0; i < N; i++) {
      expect(Array.from(viaCo2.params[i])).toEqual(Array.from(local.params[i]));
      expect(Array.from(local.params[i])).toEqual(Array.from(local.params[0]));
    }
    expect(viaCo2.events.filter((e) => e.worker === 'w0').map((e) => e.applied)).toEqual(['current', 'current', 'current', 'current']);
  });

  it('one-round staleness: the update applied at the end of round t is built from the average of round t−1', async () => {
    const g = gpu();
    const step = { alpha: 0.8, beta: 0.5, penalty: parseStalenessPenalty('constant:2'), clip: parseOuterMomentumClip('value:0.05') };
    const run = await runTiny(g, (ctx) => runCo2Worker(ctx, co2({ outerLearningRate: step.alpha, outerMomentum: step.beta, penalty: step.penalty, clip: step.clip, staleness: 'one-round' })));
    const averages = run.records[0].map((r) => r.output);
    expect(run.records[0].map((r) => r.round)).toEqual([0, 1, 2, 3]);
    // Every worker received the same averages (the all-reduce is bit-identical on every member) and
    // ends with the same anchor.
    for (let i = 1; i < N; i++) {
      expect(run.records[i].map((r) => Array.from(r.output))).toEqual(averages.map((a) => Array.from(a)));
      expect(Array.from(run.params[i])).toEqual(Array.from(run.params[0]));
    }
    // Round 0 applies nothing, so round 1 starts from the same anchor: the same fixed batch and a
    // stateless SGD give the same snapshot, bit for bit. Round 2 starts from an updated anchor.
    for (let i = 0; i < N; i++) {
      const [s0, s1, s2] = run.records[i].map((r) => r.input);
      expect(Array.from(s1)).toEqual(Array.from(s0));
      expect(maxAbsDiff(s2, s1)).toBeGreaterThan(1e-4);
    }
    // The final anchor is the float64 replay with stale averages, and clearly not the fresh replay.
    const stale = replay(run, averages, step, 'stale');
    const fresh = replay(run, averages, step, 'fresh');
    expect(maxAbsDiff(run.params[0], stale)).toBeLessThan(1e-5);
    expect(maxAbsDiff(run.params[0], fresh)).toBeGreaterThan(1e-3);
    expect(run.events.filter((e) => e.worker === 'w0').map((e) => e.applied)).toEqual(['none', 'previous', 'previous', 'previous']);
  });

  it('the all-reduce of round t is in flight while round t+1 computes (Local SGD blocks instead)', async () => {
    const g = gpu();
    // 120 ms per link hop: each ring all-reduce takes ≥ 4 hops, far longer than encoding 2 steps,
    // also on a loaded machine (at 30 ms, two steps under load sometimes outlasted the all-reduce).
    const overlapped = await runTiny(g, (ctx) => runCo2Worker(ctx, co2({ staleness: 'one-round', outerMomentum: 0.3 })), { latencyMs: 120 });
    const blocking = await runTiny(g, (ctx) => runLocalSgdWorker(ctx, base), { latencyMs: 120 });
    const steps = ['step', 'step'];
    expect(overlapped.logs[0]).toEqual([...steps, 'start 0', ...steps, 'done 0', 'start 1', ...steps, 'done 1', 'start 2', ...steps, 'done 2', 'start 3', 'done 3']);
    expect(blocking.logs[0]).toEqual([0, 1, 2, 3].flatMap((t) => [...steps, `start ${t}`, `done ${t}`]));
    // Per round: compute, wait and bytes are reported; CO2 waits less in total than Local SGD.
    const w0 = (run: Run) => run.events.filter((e) => e.worker === 'w0');
    for (const e of w0(overlapped)) {
      expect(e.computeMs).toBeGreaterThan(0);
      expect(e.waitMs).toBe(e.commMs);
    }
    // Bytes are cumulative: round 0's all-reduce leaves after round 0's event, then they grow.
    const sent = w0(overlapped).map((e) => e.bytesSent);
    expect(sent[0]).toBe(0);
    for (let t = 1; t < sent.length; t++) expect(sent[t]).toBeGreaterThan(sent[t - 1]);
    const totalWait = (run: Run) => w0(run).reduce((a, e) => a + e.waitMs, 0);
    expect(totalWait(overlapped)).toBeLessThan(totalWait(blocking));
  });

  it("SlowMo is CO2's blocking outer step: u ← βu + (a − x̄)/γ, a ← a − αγu (float64 replay, γ = 2)", async () => {
    const g = gpu();
    const run = await runTiny(g, (ctx) => runSlowMoWorker(ctx, { ...base, slowLearningRate: 0.7, slowMomentum: 0.6, baseLearningRate: 2 }));
    const averages = run.records[0].map((r) => r.output);
    let a = Float64Array.from(run.initial);
    let u = new Float64Array(a.length);
    for (const avg of averages) {
      u = Float64Array.from(u, (v, i) => 0.6 * v + (a[i] - avg[i]) / 2);
      a = Float64Array.from(a, (v, i) => v - 0.7 * 2 * u[i]);
    }
    expect(maxAbsDiff(run.params[0], a)).toBeLessThan(1e-5);
    expect(maxAbsDiff(run.params[0], averages[3])).toBeGreaterThan(1e-3); // momentum really acted
  });

  it('a worker whose hardware rounds differently keeps a different anchor, until it is re-synchronised from the canonical copy (resyncEvery)', async () => {
    const g = gpu();
    // Worker w1's averages of rounds 0–5 are off by 1e-3 in one element (what a different GPU's
    // rounding does, exaggerated); from round 6 on it computes like the others.
    const perturbed = (inner: Transport, resyncs: { count: number }): Transport => ({
      ...recording(inner, [], []),
      receive: (from, key, options) => {
        if (key.tensor === TENSOR.resync) resyncs.count++;
        return inner.receive(from, key, options);
      },
      async allReduce(key: TransferKey, data: Float32Array, options?: AllReduceOptions) {
        const out = await inner.allReduce(key, data, options);
        if (key.tensor === TENSOR.average && key.round < 6) out[0] += 1e-3;
        return out;
      },
    });
    const final = async (resyncEvery: number) => {
      const resyncs = { count: 0 };
      const run = await runTiny(g, (ctx) =>
        runCo2Worker({ ...ctx, transport: ctx.index === 1 ? perturbed(ctx.transport, resyncs) : ctx.transport }, co2({ rounds: 8, outerMomentum: 0.6, resyncEvery })),
      );
      return { w1: maxAbsDiff(run.params[0], run.params[1]), w2: maxAbsDiff(run.params[0], run.params[2]), resyncs: resyncs.count };
    };
    const alone = await final(0);
    expect(alone.resyncs).toBe(0);
    expect(alone.w2).toBe(0); // the unperturbed workers agree exactly
    expect(alone.w1).toBeGreaterThan(1e-5); // w1's outer momentum still carries the old difference
    // Copied from w0 before round 6: the same outer state, the same averages from then on, so the
    // same bits at the end.
    const healed = await final(6);
    expect(healed.resyncs).toBe(1);
    expect(healed.w1).toBe(0);
    expect(healed.w2).toBe(0);
  });

  it('parses the penalty and clip syntax and rejects bad values', () => {
    expect(parseStalenessPenalty('none')).toEqual({ kind: 'none' });
    expect(parseStalenessPenalty('constant:2')).toEqual({ kind: 'constant', lambda: 2 });
    expect(parseStalenessPenalty('gap:0.5:1e-6')).toEqual({ kind: 'gap', kappa: 0.5, epsilon: 1e-6 });
    expect(parseOuterMomentumClip('value:1')).toEqual({ kind: 'value', limit: 1 });
    expect(parseOuterMomentumClip('norm:3')).toEqual({ kind: 'norm', maxNorm: 3 });
    expect(() => parseStalenessPenalty('constant:0')).toThrow(/λ/);
    expect(() => parseStalenessPenalty('gap')).toThrow(/number/);
    expect(() => parseOuterMomentumClip('norm:-1')).toThrow(/φ/);
    expect(() => parseOuterMomentumClip('clamp:1')).toThrow(/value/);
  });
});
