import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  assertCompatible,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  initialParameters,
  loadCheckpointFile,
  ParameterLayout,
  saveCheckpointFile,
  SEGMENT_ALIGN_FLOATS,
} from '@gossamer/model';

const mlp = ParameterLayout.build([
  { name: 'fc1.weight', shape: [784, 33], init: { kind: 'he-uniform', fanIn: 784 } },
  { name: 'fc1.bias', shape: [33], init: { kind: 'zeros' } },
  { name: 'fc2.weight', shape: [33, 10], init: { kind: 'glorot-uniform', fanIn: 33, fanOut: 10 } },
  { name: 'fc2.bias', shape: [10], init: { kind: 'constant', value: 0.5 } },
]);

describe('ParameterLayout', () => {
  it('places tensors on aligned, non-overlapping segments of one buffer', () => {
    let end = 0;
    for (const s of mlp.segments) {
      expect(s.offset % SEGMENT_ALIGN_FLOATS).toBe(0);
      expect(s.offset).toBeGreaterThanOrEqual(end);
      end = s.offset + s.length;
    }
    expect(mlp.length).toBeGreaterThanOrEqual(end);
    expect(mlp.parameterCount).toBe(784 * 33 + 33 + 33 * 10 + 10);
    expect(mlp.segment('fc2.bias').shape).toEqual([10]);
  });

  it('rejects duplicate names, bad shapes and unknown tensors with clear errors', () => {
    expect(() => ParameterLayout.build([{ name: 'a', shape: [2], init: { kind: 'zeros' } }, { name: 'a', shape: [3], init: { kind: 'zeros' } }])).toThrow(/duplicate/);
    expect(() => ParameterLayout.build([{ name: 'a', shape: [2, 0], init: { kind: 'zeros' } }])).toThrow(/invalid shape/);
    expect(() => mlp.segment('fc3.weight')).toThrow(/no tensor "fc3.weight".*fc1.weight/);
  });
});

describe('initialParameters', () => {
  it('is bit-identical for the same seed and differs for another', () => {
    const a = initialParameters(mlp, 42);
    const b = initialParameters(mlp, 42);
    const c = initialParameters(mlp, 43);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
  });

  it('follows each initializer: bounds, zeros, constants, zero padding', () => {
    const p = initialParameters(mlp, 7);
    const w1 = mlp.view(p, 'fc1.weight');
    const bound = Math.sqrt(6 / 784);
    expect(Math.max(...w1)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w1)).toBeGreaterThanOrEqual(-bound);
    // Uniform on [−b, b): mean ≈ 0 and variance ≈ b²/3 over 25,872 draws.
    const mean = w1.reduce((a, v) => a + v, 0) / w1.length;
    const variance = w1.reduce((a, v) => a + (v - mean) ** 2, 0) / w1.length;
    expect(Math.abs(mean)).toBeLessThan(0.02 * bound);
    expect(variance / (bound ** 2 / 3)).toBeCloseTo(1, 1);
    expect(Array.from(new Set(mlp.view(p, 'fc1.bias')))).toEqual([0]);
    expect(Array.from(new Set(mlp.view(p, 'fc2.bias')))).toEqual([0.5]);
    const s = mlp.segment('fc1.bias');
    const padding = p.subarray(s.offset + s.length, mlp.segment('fc2.weight').offset);
    expect(padding.every((v) => v === 0)).toBe(true);
  });

  it('gives each tensor its own stream: adding a tensor leaves the others unchanged', () => {
    const bigger = ParameterLayout.build([
      { name: 'extra', shape: [5], init: { kind: 'uniform', bound: 1 } },
      ...mlp.segments.map((s) => ({ name: s.name, shape: s.shape, init: s.init })),
    ]);
    const a = initialParameters(mlp, 3);
    const b = initialParameters(bigger, 3);
    expect(Array.from(bigger.view(b, 'fc2.weight'))).toEqual(Array.from(mlp.view(a, 'fc2.weight')));
  });
});

describe('checkpoints', () => {
  const spec = { kind: 'mlp', inputs: 784, hidden: [33], outputs: 10, activation: 'relu' };
  const params = initialParameters(mlp, 1);
  const moment = Float32Array.from({ length: mlp.length }, (_, i) => i * 0.5);
  const bytes = encodeCheckpoint({ model: spec, layout: mlp.describe(), optimizer: { kind: 'adamw', lr: 1e-3 }, step: 17 }, [
    { name: 'params', data: params },
    { name: 'optimizer.m', data: moment },
  ]);

  it('round-trips parameters and optimizer state bit for bit, through a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-ckpt-'));
    const path = join(dir, 'model.ckpt');
    await saveCheckpointFile(path, bytes);
    const ck = await loadCheckpointFile(path);
    expect(ck.header.step).toBe(17);
    expect(Buffer.from(ck.sections.get('params')!.buffer).equals(Buffer.from(params.buffer))).toBe(true);
    expect(Array.from(ck.sections.get('optimizer.m')!.subarray(0, 4))).toEqual([0, 0.5, 1, 1.5]);
    // Key order in the spec does not matter.
    assertCompatible(ck.header, { outputs: 10, kind: 'mlp', activation: 'relu', hidden: [33], inputs: 784 }, mlp.describe());
  });

  it('names a wrong model, corruption, truncation and foreign files', async () => {
    const ck = decodeCheckpoint(bytes);
    expect(() => assertCompatible(ck.header, { ...spec, hidden: [64] }, mlp.describe())).toThrow(/saved from model .*"hidden":\[33\].*but this model is .*"hidden":\[64\]/);
    const flipped = bytes.slice();
    flipped[bytes.length - 100] ^= 1;
    expect(() => decodeCheckpoint(flipped)).toThrow(/checksum mismatch/);
    expect(() => decodeCheckpoint(bytes.slice(0, bytes.length - 8))).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(new TextEncoder().encode('{"not":"a checkpoint"}'))).toThrow(/not a Gossamer checkpoint/);
    const dir = mkdtempSync(join(tmpdir(), 'gossamer-ckpt-'));
    writeFileSync(join(dir, 'x'), bytes.slice(0, 10));
    await expect(loadCheckpointFile(join(dir, 'x'))).rejects.toThrow(/not a Gossamer checkpoint/);
    await expect(loadCheckpointFile(join(dir, 'missing'))).rejects.toThrow(/cannot read checkpoint/);
    expect(readFileSync(join(dir, 'x')).length).toBe(10);
  });
});
