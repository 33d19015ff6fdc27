import { describe, expect, it } from 'vitest';
import { span, uploadLabels, decayIntervals } from '@gossamer/kernels';
import {
  GptGraph,
  formatGptSpec,
  gptDispatches,
  gptLayout,
  gptNoDecayRanges,
  gptReference,
  initialParameters,
  isNoDecayTensor,
  parseGptSpec,
  withVocab,
  type GptConfig,
  type ParameterLayout,
} from '@gossamer/model';
import type { Gpu } from '@gossamer/gpu';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { normal, rng } from '../../../test/support/numeric.js';

/** GPT-2 init plus noise on every real parameter, so biases, β and γ − 1 are non-zero too. */
function noisyParameters(layout: ParameterLayout, seed: number, noise: number): Float32Array {
  const flat = initialParameters(layout, seed);
  const z = normal(layout.length, seed + 1, noise);
  for (const s of layout.segments) for (let i = s.offset; i < s.offset + s.length; i++) flat[i] += z[i];
  return flat;
}

/** B sequences of T tokens and their next tokens, from one random stream of B·(T + 1) ids. */
function tokenBatch(cfg: GptConfig, batch: number, seed: number): { tokens: Uint32Array; targets: Uint32Array } {
  const r = rng(seed);
  const tokens = new Uint32Array(batch * cfg.ctx);
  const targets = new Uint32Array(batch * cfg.ctx);
  for (let b = 0; b < batch; b++) {
    const seq = Array.from({ length: cfg.ctx + 1 }, () => Math.floor(r() * cfg.vocab));
    tokens.set(seq.slice(0, cfg.ctx), b * cfg.ctx);
    targets.set(seq.slice(1), b * cfg.ctx);
  }
  return { tokens, targets };
}

const tiny = withVocab(parseGptSpec('gpt:2x16:heads=1:ctx=5:mlp=32'), 11);
const twoHeads = withVocab(parseGptSpec('gpt:2x32:heads=2:ctx=7:mlp=64'), 13);

describe('GPT spec, layout and init', () => {
  it('parses specs with defaults and rejects bad ones with the reason', () => {
    expect(parseGptSpec('gpt:4x128')).toEqual({ layers: 4, width: 128, heads: 2, ctx: 128, mlp: 512 });
    expect(parseGptSpec('gpt:2x96:heads=3:ctx=64:mlp=200')).toEqual({ layers: 2, width: 96, heads: 3, ctx: 64, mlp: 200 });
    expect(parseGptSpec(formatGptSpec(twoHeads))).toEqual(parseGptSpec('gpt:2x32:heads=2:ctx=7:mlp=64'));
    expect(() => parseGptSpec('gpt:2x100:heads=3')).toThrow(/not divisible by heads=3/);
    expect(() => parseGptSpec('gpt:2x128:heads=1')).toThrow(/head size .* = 128; it must be one of 16, 32, 48, 64/);
    expect(() => parseGptSpec('gpt:2x40')).toThrow(/not a multiple of 16/);
    expect(() => parseGptSpec('gpt:0x64')).toThrow(/layers "0" is not a positive integer/);
    expect(() => parseGptSpec('gpt:2x64:ctx=-3')).toThrow(/ctx "-3" is not a positive integer/);
    expect(() => parseGptSpec('gpt:2x64:ctx=1.5')).toThrow(/ctx "1.5" is not a positive integer/);
    expect(() => parseGptSpec('gpt:2x64:dropout=0.1')).toThrow(/unknown option "dropout=0.1"/);
    expect(() => parseGptSpec('gpt:2x64:ctx=8:ctx=9')).toThrow(/ctx given twice/);
    expect(() => parseGptSpec('gpt:64')).toThrow(/expected gpt:<layers>x<width>/);
    expect(() => parseGptSpec('mlp:64')).toThrow(/starts with "gpt:"/);
    expect(() => withVocab(parseGptSpec('gpt:1x16'), 1)).toThrow(/vocab must be an integer ≥ 2/);
  });

  it('lays out the tensors with a tied head and GPT-2 init', () => {
    const cfg = withVocab(parseGptSpec('gpt:3x64:heads=2:ctx=32'), 50);
    const layout = gptLayout(cfg);
    const C = 64;
    const M = 256;
    const perBlock = 2 * C + C * 3 * C + 3 * C + C * C + C + 2 * C + C * M + M + M * C + C;
    expect(layout.parameterCount).toBe(50 * C + 32 * C + 3 * perBlock + 2 * C);
    expect(layout.segments.map((s) => s.name).filter((n) => n.includes('head') || n.includes('lm'))).toEqual([]);
    const flat = initialParameters(layout, 7);
    expect(initialParameters(layout, 7)).toEqual(flat);
    const std = (name: string) => {
      const v = layout.view(flat, name);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      return Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    };
    expect(std('wte')).toBeCloseTo(0.02, 3);
    expect(std('h1.attn.qkv.weight')).toBeCloseTo(0.02, 3);
    expect(std('h0.mlp.fc.weight')).toBeCloseTo(0.02, 3);
    expect(std('h2.attn.proj.weight')).toBeCloseTo(0.02 / Math.sqrt(6), 3);
    expect(std('h2.mlp.proj.weight')).toBeCloseTo(0.02 / Math.sqrt(6), 3);
    expect([...layout.view(flat, 'h1.ln2.gamma')].every((v) => v === 1)).toBe(true);
    expect([...layout.view(flat, 'h1.ln2.beta'), ...layout.view(flat, 'h0.attn.qkv.bias'), ...layout.view(flat, 'lnf.beta')].every((v) => v === 0)).toBe(true);
    // No-decay ranges: exactly the embeddings, γ, β and biases, weights decayed.
    const intervals = decayIntervals(layout.length, gptNoDecayRanges(layout));
    for (const s of layout.segments) {
      const iv = intervals.find((r) => s.offset >= r.offset && s.offset < r.offset + r.length);
      expect(iv && s.offset + s.length <= iv.offset + iv.length, s.name).toBe(true);
      expect(iv?.decay, s.name).toBe(!isNoDecayTensor(s.name));
    }
    expect(intervals.filter((r) => r.decay).length).toBe(3 * 4);
  });
});

describe('GPT float64 reference', () => {
  it('gradient of every parameter tensor matches central finite differences', () => {
    const layout = gptLayout(tiny);
    const params = noisyParameters(layout, 3, 0.2);
    const { tokens, targets } = tokenBatch(tiny, 2, 9);
    const { loss, grads } = gptReference.gptGradient(tiny, layout, params, tokens, targets, 2);
    expect(loss).toBeCloseTo(gptReference.gptLoss(tiny, layout, params, tokens, targets, 2), 12);
    for (const s of layout.segments) {
      const indices = Array.from({ length: s.length }, (_, i) => s.offset + i);
      const fd = gptReference.gptFiniteDifferences(tiny, layout, params, tokens, targets, 2, indices);
      const maxAbs = fd.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      expect(maxAbs, s.name).toBeGreaterThan(1e-6);
      indices.forEach((p, j) => {
        const err = Math.abs(grads[p] - fd[j]);
        if (err > 1e-6 * maxAbs + 1e-5 * Math.abs(fd[j])) throw new Error(`${s.name}[${p - s.offset}]: analytic ${grads[p]}, finite differences ${fd[j]}`);
      });
    }
  });
});

async function gpuGradients(g: Gpu, cfg: GptConfig, batch: number, seed: number) {
  const layout = gptLayout(cfg);
  const params = noisyParameters(layout, seed, 0.2);
  const { tokens, targets } = tokenBatch(cfg, batch, seed + 10);
  const graph = new GptGraph(g, cfg, layout, batch, true);
  const paramBuffer = g.upload(params);
  // Garbage in every real gradient element: overwrite semantics must replace all of it.
  const garbage = new Float32Array(layout.length);
  for (const s of layout.segments) garbage.fill(123.5, s.offset, s.offset + s.length);
  const grads = g.upload(garbage);
  const n = batch * cfg.ctx;
  const b = { tokens: span(uploadLabels(g, tokens, cfg.vocab), 0, n), targets: span(uploadLabels(g, targets, cfg.vocab), 0, n) };
  const run = async () => {
    const step = g.beginStep();
    graph.encodeForward(step, paramBuffer, b);
    graph.encodeBackward(step, paramBuffer, grads, b);
    step.submit();
    await g.sync();
  };
  await run();
  const got = { grads: await g.readF32(grads), loss: (await g.readF32(graph.loss.buffer, 0, 1))[0] };
  return { layout, params, tokens, targets, graph, run, got };
}

describe('GptGraph on the GPU vs the float64 reference', () => {
  const gpu = useGpu();

  // Tolerance: float32 through a few layers gives errors ~1e-6 of the largest gradient entry; we
  // allow 1e-4·max|g| (per tensor) absolute plus 2e-3 relative, as the MLP/CNN gradient tests.
  it.each([
    ['V=11 C=16 H=1 T=5 B=2, 2 layers', tiny, 2],
    ['V=13 C=32 H=2 D=16 T=7 B=3, 2 layers', twoHeads, 3],
    // 280 rows > LAYERNORM_PARAM_CHUNK_ROWS: the LayerNorm dγ/dβ take the two-pass path.
    ['V=9 C=32 H=2 T=7 B=40, 1 layer', withVocab(parseGptSpec('gpt:1x32:heads=2:ctx=7:mlp=32'), 9), 40],
  ] as const)('%s: loss and every parameter gradient', async (_name, cfg, batch) => {
    const g = gpu();
    const { layout, params, tokens, targets, graph, got } = await gpuGradients(g, cfg, batch, 21);
    const want = gptReference.gptGradient(cfg, layout, params, tokens, targets, batch);
    expect(Math.abs(got.loss - want.loss)).toBeLessThan(1e-5 * want.loss);
    for (const s of layout.segments) {
      let maxAbs = 0;
      for (let i = s.offset; i < s.offset + s.length; i++) maxAbs = Math.max(maxAbs, Math.abs(want.grads[i]));
      expect(maxAbs, s.name).toBeGreaterThan(1e-6);
      for (let i = s.offset; i < s.offset + s.length; i++) {
        const err = Math.abs(got.grads[i] - want.grads[i]);
        if (!(err <= 1e-4 * maxAbs + 2e-3 * Math.abs(want.grads[i]))) {
          throw new Error(`${s.name}[${i - s.offset}]: GPU ${got.grads[i]}, reference ${want.grads[i]} (max |g| of the tensor ${maxAbs})`);
        }
      }
    }
    // Padding is never written (it was zero and stays zero).
    const real = new Set(layout.segments.flatMap((s) => Array.from({ length: s.length }, (_, i) => s.offset + i)));
    for (let i = 0; i < got.grads.length; i++) if (!real.has(i)) expect(got.grads[i]).toBe(0);
    graph.destroy();
  });

  it('a steady-state step creates no GPU buffer', async () => {
    const g = gpu();
    const { run, graph } = await gpuGradients(g, twoHeads, 2, 5);
    await expectSteadyStateAllocatesNothing(g, run);
    graph.destroy();
  });

  it('dispatches per step follow gptDispatches: linear in layers, independent of heads', async () => {
    const g = gpu();
    const counts: Record<string, { forward: number; backward: number }> = {};
    for (const [name, text, batch] of [
      ['L2 H1', 'gpt:2x32:heads=1:ctx=7:mlp=32', 2],
      ['L2 H2', 'gpt:2x32:heads=2:ctx=7:mlp=32', 2],
      ['L3 H2', 'gpt:3x32:heads=2:ctx=7:mlp=32', 2],
      // 280 rows: the LayerNorm parameter gradients take the two-pass (chunked) path.
      ['L1 H2 big', 'gpt:1x32:heads=2:ctx=7:mlp=32', 40],
    ] as const) {
      const cfg = withVocab(parseGptSpec(text), 9);
      const { graph } = await gpuGradients(g, cfg, batch, 1);
      counts[name] = { ...graph.lastDispatches };
      expect(graph.lastDispatches, name).toEqual(gptDispatches(cfg, batch));
      graph.destroy();
    }
    expect(counts['L2 H1']).toEqual(counts['L2 H2']);
    expect(counts['L3 H2'].forward - counts['L2 H2'].forward).toBe(9);
    expect(counts['L3 H2'].backward - counts['L2 H2'].backward).toBe(14);
    expect(counts['L2 H2']).toEqual({ forward: 23, backward: 34 });
  });
});
