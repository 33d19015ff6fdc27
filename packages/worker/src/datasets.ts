import { classificationDataset, gaussianBlobs, loadCsv, loadMnist, stratifiedSplit, subset, type ClassificationDataset } from '@gossamer/data';
import type { DatasetSpec } from './config.js';

export interface TrainTest {
  train: ClassificationDataset;
  test: ClassificationDataset;
}

function splitClassification(all: ClassificationDataset, testFraction: number, seed: number): TrainTest {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`dataset: testFraction must be in (0, 1), got ${testFraction}`);
  const testSize = Math.max(1, Math.round(all.numSamples * testFraction));
  const split = stratifiedSplit(all.labels, all.numClasses, testSize, seed);
  return { train: subset(all, split.train, `${all.name}/train`), test: subset(all, split.test, `${all.name}/test`) };
}

/** Loads a run's dataset as a train/test split, deterministically from the seed. */
export async function loadTrainTest(spec: DatasetSpec, seed: number): Promise<TrainTest> {
  switch (spec.kind) {
    case 'mnist': {
      const split = await loadMnist({ seed, testSize: spec.testSize, normalization: spec.normalization ?? 'standard' });
      return { train: split.train, test: split.test };
    }
    case 'blobs': {
      const blobs = gaussianBlobs({ numSamples: spec.samples, numClasses: spec.classes, numFeatures: spec.features, separation: spec.separation, seed });
      return splitClassification(blobs.dataset, spec.testFraction ?? 0.2, seed);
    }
    case 'csv': {
      const data = await loadCsv(spec.path, { label: spec.label, name: spec.path });
      if (data.task !== 'classification') throw new Error(`dataset ${spec.path}: training needs class labels`);
      return splitClassification(classificationDataset({ ...data }), spec.testFraction ?? 0.2, seed);
    }
  }
}
