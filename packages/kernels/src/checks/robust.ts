import type { Gpu } from '@gossamer/gpu';
import * as ref from '../reference/index.js';
import { geomedStart, robustMix, type RobustRule } from '../robust.js';
import { checkInput, mixedError, type SelfCheck } from '../selfcheck-types.js';

// Two distance blocks (P > 4096), K = 6 neighbours; one attacker far away so the selections matter.
const P = 5003;
const K = 6;

async function runRules(gpu: Gpu, rules: readonly RobustRule[]): Promise<number> {
  const x = checkInput(P, 40);
  const received = checkInput(K * P, 41);
  received.fill(50, 2 * P, 3 * P); // vector 3 is an outlier
  const weights = Float32Array.from({ length: K + 1 }, () => 1 / (K + 1));
  const [bx, br, bw] = [gpu.upload(x), gpu.upload(received), gpu.upload(weights)];
  const outs = rules.map(() => gpu.createBuffer(P * 4));
  const step = gpu.beginStep();
  rules.forEach((rule, i) => robustMix(gpu, step, rule, { x: bx, received: br, count: K, out: outs[i], weights: bw }));
  step.submit();
  let err = 0;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    const want =
      rule.kind === 'nna'
        ? ref.robust.nna(x, received, K, rule.f)
        : rule.kind === 'trimmed-mean'
          ? ref.robust.trimmedMean(x, received, K, rule.f)
          : rule.kind === 'median'
            ? ref.robust.median(x, received, K)
            : rule.kind === 'geomed'
              ? ref.robust.geometricMedian(x, received, K, rule.iterations ?? 8, rule.nu ?? 1e-6, geomedStart(rule, K))
              : ref.robust.clippedGossip(x, received, K, weights, rule.tau);
    err = Math.max(err, mixedError(await gpu.readF32(outs[i]), want));
  }
  for (const b of [bx, br, bw, ...outs]) b.destroy();
  return err;
}

/** Robust mixing rules (robust.ts) against their float64 references. */
export const robustChecks: SelfCheck[] = [
  {
    name: 'robust.nna+trimmed-mean+median+clip',
    async run(gpu) {
      const rules: RobustRule[] = [{ kind: 'nna', f: 2 }, { kind: 'trimmed-mean', f: 2 }, { kind: 'median' }, { kind: 'clip', tau: 30 }];
      // Bounds (robust.test.ts): ≤ 2(m + 1)u for the averages, ≤ 2(82 + 2K)u ≈ 1.3e-5 for clipping.
      return { maxError: await runRules(gpu, rules), tolerance: 2e-5 };
    },
  },
  {
    name: 'robust.geomed',
    async run(gpu) {
      // Bound: 2·T·(45 + 2(K + 1))u ≈ 5.6e-5 for T = 8 iterations.
      return { maxError: await runRules(gpu, [{ kind: 'geomed', iterations: 8, nu: 1e-6 }]), tolerance: 1e-4 };
    },
  },
];
