// The Network Lasso reproduction's traffic-incident demo (moved with it from @gossamer/algorithms):
// ROC AUC, and a tiny run of the demo on the GPU (SwiftShader runs WebGPU on the CPU).
import { describe, expect, it } from 'vitest';
import { reproduceTrafficIncidents, rocAuc } from '@gossamer/experiments';
import { useGpu } from '../../../test/support/gpu.js';

const gpu = useGpu();

describe('metrics', () => {
  it('ROC AUC by ranks, ties counted half', () => {
    expect(rocAuc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBe(0.75);
    expect(rocAuc([1, 1, 1, 1], [0, 1, 0, 1])).toBe(0.5);
  });
});

describe('traffic incident demo (tiny)', () => {
  it('fuses one-class SVMs over road regions and scores all four methods', async () => {
    const r = await reproduceTrafficIncidents(
      { gpu: gpu() },
      { rows: 3, cols: 4, regions: 4, intervalsPerDay: 24, trainDays: 1, validationDays: 1, testDays: 1, incidentsPerDay: 3, samplesPerRegion: 12, lambdas: [0, 1] },
    );
    expect(r.sensors).toBe(12);
    expect(r.methods.map((m) => m.method)).toEqual(['centralized', 'local', 'federated averaging', 'network lasso']);
    for (const m of r.methods) {
      expect(m.auc, m.method).toBeGreaterThan(0.5);
      expect(m.falseAlarmRate).toBeGreaterThanOrEqual(0);
      expect(m.falseAlarmRate).toBeLessThan(0.5);
      expect(m.detectionRate).toBeGreaterThan(0);
    }
    expect(r.path.map((q) => q.lambda)).toEqual([0, 1]);
    expect(r.path.every((q) => q.iterations > 0)).toBe(true);
  });
});
