import { labelHistogram } from './dataset.js';
import { Random } from './random.js';

export interface SplitIndices {
  readonly train: Uint32Array;
  readonly test: Uint32Array;
}

/**
 * Largest-remainder apportionment: splits `total` into integer parts proportional to `weights`
 * that sum to exactly `total` (ties go to the lower index, so the result is deterministic).
 */
export function apportion(total: number, weights: ArrayLike<number>): Uint32Array {
  const k = weights.length;
  let sum = 0;
  for (let i = 0; i < k; i++) sum += weights[i];
  const parts = new Uint32Array(k);
  if (total === 0 || k === 0) return parts;
  if (!(sum > 0)) throw new Error('apportion: weights must have a positive sum');
  const remainders: { i: number; r: number }[] = [];
  let given = 0;
  for (let i = 0; i < k; i++) {
    const exact = (total * weights[i]) / sum;
    parts[i] = Math.floor(exact);
    given += parts[i];
    remainders.push({ i, r: exact - parts[i] });
  }
  remainders.sort((a, b) => b.r - a.r || a.i - b.i);
  for (let j = 0; given < total; j++, given++) parts[remainders[j % k].i]++;
  return parts;
}

/**
 * A train/test split stratified by label: each class contributes to the test set in proportion to
 * its size (largest remainder, so the test set has exactly `testSize` samples), the members drawn at
 * random. Both index lists come back shuffled, so a prefix of either is a fair sample.
 */
export function stratifiedSplit(labels: Uint32Array, numClasses: number, testSize: number, seed: number): SplitIndices {
  const n = labels.length;
  if (!Number.isInteger(testSize) || testSize < 0 || testSize > n) {
    throw new Error(`stratifiedSplit: testSize must be an integer in [0, ${n}], got ${testSize}`);
  }
  const random = new Random(seed);
  const counts = labelHistogram(labels, numClasses);
  const testPerClass = apportion(testSize, counts);
  const byClass = indicesByClass(labels, numClasses);
  const train: number[] = [];
  const test: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = random.shuffle(byClass[c]);
    for (let j = 0; j < members.length; j++) (j < testPerClass[c] ? test : train).push(members[j]);
  }
  return { train: random.shuffle(Uint32Array.from(train)), test: random.shuffle(Uint32Array.from(test)) };
}

/** Sample indices of each class, ascending. */
export function indicesByClass(labels: Uint32Array, numClasses: number): Uint32Array[] {
  const counts = labelHistogram(labels, numClasses);
  const out = Array.from(counts, (c) => new Uint32Array(c));
  const fill = new Uint32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}
