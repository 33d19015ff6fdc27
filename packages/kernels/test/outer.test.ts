import { describe, expect, it } from 'vitest';
import { createSegmentTable, encodeOuterStep, outerStatsLength, reference, span, type OuterStepConfig } from '@gossamer/kernels';
import { expectSteadyStateAllocatesNothing, useGpu } from '../../../test/support/gpu.js';
import { expectAllClose, normal } from '../../../test/support/numeric.js';

// Tensors with padding gaps between them (as in a ParameterLayout); segment 1 spans several 64-float
// blocks, so per-tensor norms must combine block partials.
const SEGMENTS = [
  { offset: 0, length: 10 },
  { offset: 64, length: 300 },
  { offset: 384, length: 1 },
  { offset: 448, length: 37 },
];
const LENGTH = 512;
const BLOCK = 64;

function padded(values: Float32Array): Float32Array {
  const out = new Float32Array(LENGTH);
  for (const s of SEGMENTS) out.set(values.subarray(s.offset, s.offset + s.length), s.offset);
  return out;
}

const CASES: [string, OuterStepConfig][] = [
  ['stale, no penalty, no clip', { alpha: 0.7, beta: 0.5, penalty: { kind: 'none' }, clip: { kind: 'none' }, stale: true }],
  ['stale, constant penalty λ = 4, value clip φ = 0.3', { alpha: 1, beta: 0.3, penalty: { kind: 'constant', lambda: 4 }, clip: { kind: 'value', limit: 0.3 } , stale: true }],
  ['stale, gap penalty κ = 2, norm clip φ = 2', { alpha: 0.9, beta: 0.4, penalty: { kind: 'gap', kappa: 2, epsilon: 1e-6 }, clip: { kind: 'norm', maxNorm: 2 }, stale: true }],
  ['no staleness, gap penalty κ = 0.5, value clip φ = 1', { alpha: 1, beta: 0.2, penalty: { kind: 'gap', kappa: 0.5, epsilon: 1e-3 }, clip: { kind: 'value', limit: 1 }, stale: false }],
  ['no staleness, constant penalty λ = 2, norm clip φ = 1', { alpha: 0.5, beta: 0.9, penalty: { kind: 'constant', lambda: 2 }, clip: { kind: 'norm', maxNorm: 1 }, stale: false }],
];

describe('outer update (CO2) kernel vs the float64 reference', () => {
  const gpu = useGpu();

  function setup(seed: number) {
    const g = gpu();
    const anchor = padded(normal(LENGTH, seed));
    const previousAnchor = padded(Float32Array.from(anchor, (v, i) => v + 0.3 * normal(LENGTH, seed + 1)[i]));
    const average = padded(Float32Array.from(anchor, (v, i) => v + 0.5 * normal(LENGTH, seed + 2)[i]));
    const momentum = padded(normal(LENGTH, seed + 3, 0.4));
    // The kernel's buffers sit at non-zero offsets of larger buffers.
    const at = (values: Float32Array, off: number) => {
      const data = new Float32Array(off + LENGTH + 3).fill(7);
      data.set(values, off);
      return span(g.upload(data), off, LENGTH);
    };
    const table = createSegmentTable(g, SEGMENTS, BLOCK);
    const buffers = {
      table,
      average: at(average, 5),
      momentum: at(momentum, 1),
      anchor: at(anchor, 2),
      previousAnchor: at(previousAnchor, 0),
      params: at(new Float32Array(LENGTH).fill(-1), 9),
      stats: span(g.createBuffer(4 * (outerStatsLength(table) + 4)), 3, outerStatsLength(table)),
    };
    return { g, anchor, previousAnchor, average, momentum, buffers };
  }

  it.each(CASES)('%s', async (_name, config) => {
    const { g, anchor, previousAnchor, average, momentum, buffers } = setup(11);
    const want = reference.outer.outerStep({ anchor, previousAnchor, momentum }, average, SEGMENTS, config);
    // The clip and the penalty really act on these inputs (else the comparison would prove little).
    const beforeClip = reference.outer.outerMomentum(momentum, reference.outer.stalenessPenalty(
      reference.outer.pseudoGradient(config.stale ? previousAnchor : anchor, average),
      reference.outer.pseudoGradient(anchor, average),
      SEGMENTS,
      config.penalty,
    ).values, config.beta);
    if (config.clip.kind === 'value') expect(beforeClip.some((v) => Math.abs(v) > (config.clip as { limit: number }).limit)).toBe(true);
    if (config.clip.kind === 'norm') expect(want.momentumNorm).toBeGreaterThan(config.clip.maxNorm);
    if (config.penalty.kind === 'gap') expect(Math.min(...want.gapNorms.map((n, k) => reference.outer.stalenessPenaltyFactor(config.penalty, n, want.pseudoGradientNorms[k])))).toBeLessThan(0.9);

    const step = g.beginStep();
    encodeOuterStep(g, step, buffers, config);
    step.submit();
    const read = async (s: { buffer: GPUBuffer; offset: number; length: number }) => g.readF32(s.buffer, s.offset, s.length);
    const tol = { atol: 2e-6, rtol: 2e-6 };
    expectAllClose(await read(buffers.momentum), want.momentum, tol, 'momentum');
    expectAllClose(await read(buffers.anchor), want.anchor, tol, 'anchor');
    expectAllClose(await read(buffers.params), Float64Array.from(want.anchor, (v, i) => (SEGMENTS.some((s) => i >= s.offset && i < s.offset + s.length) ? v : -1)), tol, 'params = new anchor (padding untouched)');
    expectAllClose(await read(buffers.previousAnchor), want.previousAnchor, { atol: 0, rtol: 0 }, 'previous anchor = old anchor');
    const stats = await read(buffers.stats);
    const S = SEGMENTS.length;
    if (config.penalty.kind === 'gap') {
      expectAllClose(stats.subarray(0, S), want.gapNorms, { atol: 0, rtol: 1e-5 }, 'per-tensor ‖a − x̄‖');
      expectAllClose(stats.subarray(S, 2 * S), want.pseudoGradientNorms, { atol: 0, rtol: 1e-5 }, 'per-tensor ‖g‖');
    }
    if (config.clip.kind === 'norm') expectAllClose([stats[2 * S]], [want.momentumNorm], { atol: 0, rtol: 1e-5 }, '‖m‖ before the clip');
    // The buffers' neighbours are untouched.
    expect((await g.readF32(buffers.average.buffer))[4]).toBe(7);
    expect((await g.readF32(buffers.params.buffer))[9 + LENGTH]).toBe(7);
  });

  it('β = 0, α = 1, no penalty, no clip, no staleness gives exactly the average (the Local SGD limit)', async () => {
    const { g, anchor, average, buffers } = setup(5);
    const config: OuterStepConfig = { alpha: 1, beta: 0, penalty: { kind: 'none' }, clip: { kind: 'none' }, stale: false };
    const constantOne: OuterStepConfig = { ...config, penalty: { kind: 'constant', lambda: 1 } };
    for (const c of [config, constantOne]) {
      const step = g.beginStep();
      encodeOuterStep(g, step, buffers, c);
      step.submit();
      const got = await g.readF32(buffers.anchor.buffer, buffers.anchor.offset, LENGTH);
      // Bit for bit: the kernel evaluates x̄ + ((a − x̄) − α m), which is x̄ exactly here.
      for (const s of SEGMENTS) for (let i = s.offset; i < s.offset + s.length; i++) expect(got[i]).toBe(average[i]);
      expect(Array.from(await g.readF32(buffers.params.buffer, buffers.params.offset, LENGTH)).filter((v, i) => v !== got[i] && v !== -1)).toEqual([]);
      // The next step starts from a = x̄; a_prev holds the old anchor.
      g.write(buffers.anchor.buffer, 4 * buffers.anchor.offset, anchor);
    }
  });

  it('rejects bad hyper-parameters and aliased outputs; a steady-state step allocates nothing', async () => {
    const { g, buffers } = setup(3);
    const config: OuterStepConfig = { alpha: 1, beta: 0.5, penalty: { kind: 'gap', kappa: 1, epsilon: 1e-6 }, clip: { kind: 'norm', maxNorm: 1 }, stale: true };
    const step = g.beginStep();
    expect(() => encodeOuterStep(g, step, buffers, { ...config, penalty: { kind: 'constant', lambda: 0 } })).toThrow(/λ/);
    expect(() => encodeOuterStep(g, step, buffers, { ...config, clip: { kind: 'value', limit: -1 } })).toThrow(/φ/);
    expect(() => encodeOuterStep(g, step, { ...buffers, params: buffers.anchor }, config)).toThrow(/aliasing/);
    step.submit();
    await expectSteadyStateAllocatesNothing(g, async () => {
      const s = g.beginStep();
      encodeOuterStep(g, s, buffers, config);
      s.submit();
      await g.sync();
    });
  });
});
