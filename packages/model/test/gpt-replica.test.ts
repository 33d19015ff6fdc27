import { describe, expect, it } from 'vitest';
import { reference } from '@gossamer/kernels';
import { GptReplica, gptDispatches, gptReference, initialParameters, isNoDecayTensor, parseGptSpec, withVocab } from '@gossamer/model';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { rng } from '../../../test/support/numeric.js';

// A character-level corpus: a short sentence repeated, so the next character is (almost always)
// determined by the previous few and a 1-block GPT can learn it in tens of steps.
const text = 'the cat sat on the mat. '.repeat(40);
const alphabet = [...new Set(text)].sort();
const ids = Uint32Array.from(text, (ch) => alphabet.indexOf(ch));

function sampler(ctx: number, batch: number, seed: number) {
  const r = rng(seed);
  return () => {
    const tokens = new Uint32Array(batch * ctx);
    const targets = new Uint32Array(batch * ctx);
    for (let b = 0; b < batch; b++) {
      const start = Math.floor(r() * (ids.length - ctx - 1));
      tokens.set(ids.subarray(start, start + ctx), b * ctx);
      targets.set(ids.subarray(start + 1, start + ctx + 1), b * ctx);
    }
    return { tokens, targets };
  };
}

describe('GptReplica: one submit per training step', () => {
  const gpu = useGpu();
  const config = withVocab(parseGptSpec('gpt:1x16:heads=1:ctx=8:mlp=32'), alphabet.length);

  it('the loss falls on a tiny repeated text', async () => {
    const g = gpu();
    const replica = new GptReplica(g, { config, optimizer: { lr: 1e-2, weightDecay: 0.1 }, batchSize: 4, seed: 1 });
    const next = sampler(config.ctx, 4, 2);
    const train = async (steps: number) => {
      for (let i = 0; i < steps; i++) {
        const b = next();
        replica.setBatch(b.tokens, b.targets);
        replica.trainStep();
      }
      return replica.takeLoss();
    };
    const first = await train(5);
    // Near ln(V) at GPT-2 init: the logits start close to zero.
    expect(first).toBeGreaterThan(0.8 * Math.log(alphabet.length));
    await train(100);
    const last = await train(5);
    expect(last).toBeLessThan(0.4 * first);
    expect(replica.steps).toBe(110);
    expect(Number.isFinite(await replica.lastGradientNorm())).toBe(true);
    replica.destroy();
  });

  it('a step is one submit and creates no GPU buffer in steady state', async () => {
    const g = gpu();
    const replica = new GptReplica(g, { config, optimizer: { lr: 1e-3, weightDecay: 0.5 }, batchSize: 2, seed: 3 });
    const next = sampler(config.ctx, 2, 4);
    await expectSteadyStateAllocatesNothing(g, async () => {
      const b = next();
      replica.setBatch(b.tokens, b.targets);
      replica.trainStep();
      await g.sync();
    });
    const before = { ...g.stats };
    replica.trainStep();
    const after = g.stats;
    expect(after.submits - before.submits).toBe(1);
    expect(after.dispatches - before.dispatches).toBeGreaterThan(gptDispatches(config, 2).forward + gptDispatches(config, 2).backward);
    replica.destroy();
  });

  it('one step clips the gradient to clipNorm and applies AdamW with weight decay on the weight matrices only', async () => {
    const g = gpu();
    const hyper = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.5 };
    const clipNorm = 0.1;
    const replica = new GptReplica(g, { config, optimizer: hyper, batchSize: 2, seed: 5, clipNorm });
    const { tokens, targets } = sampler(config.ctx, 2, 6)();
    const layout = replica.layout;
    const x0 = initialParameters(layout, 5);
    const want = gptReference.gptGradient(config, layout, x0, tokens, targets, 2);
    const norm = Math.sqrt(want.grads.reduce((a, v) => a + v * v, 0));
    expect(norm).toBeGreaterThan(2 * clipNorm);
    replica.setBatch(tokens, targets);
    replica.trainStep();
    expect(await replica.takeLoss()).toBeCloseTo(want.loss, 5);
    expect((await replica.lastGradientNorm()) / norm).toBeCloseTo(1, 4);
    const clipped = await g.readF32(replica.grads);
    const x1 = await replica.getParameters();
    let decayVisible = 0;
    for (const s of layout.segments) {
      const range = (v: ArrayLike<number>) => Array.from({ length: s.length }, (_, i) => v[s.offset + i]);
      const gs = range(clipped);
      range(want.grads).forEach((v, i) => expect(Math.abs(gs[i] - (v * clipNorm) / norm), s.name).toBeLessThan(1e-6 * clipNorm));
      const zeros = new Float64Array(s.length);
      const decay = isNoDecayTensor(s.name) ? 0 : hyper.weightDecay;
      const expected = reference.optim.adamw(range(x0), gs, zeros, zeros, { ...hyper, weightDecay: decay }, 1).x;
      const undecayed = reference.optim.adamw(range(x0), gs, zeros, zeros, { ...hyper, weightDecay: 0 }, 1).x;
      const got = range(x1);
      expected.forEach((v, i) => {
        if (Math.abs(got[i] - v) > 1e-7) throw new Error(`${s.name}[${i}]: ${got[i]} after the step, expected ${v}`);
        decayVisible = Math.max(decayVisible, Math.abs(v - undecayed[i]));
      });
    }
    // The decay term is large enough that applying it to the wrong tensors would fail the check.
    expect(decayVisible).toBeGreaterThan(1e-5);
    replica.destroy();
  });
});
