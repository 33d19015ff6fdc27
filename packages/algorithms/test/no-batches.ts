import type { BatchSource } from '@gossamer/model';

/** The batch source of a pure-gossip run (localSteps 0): it takes no gradient step, so it has no batches. */
export const noBatches: BatchSource = {
  batchFeatures: { buffer: undefined as unknown as GPUBuffer, offset: 0, length: 0 },
  batchLabels: { buffer: undefined as unknown as GPUBuffer, offset: 0, length: 0 },
  encode() {
    throw new Error('pure gossip takes no gradient steps');
  },
};
