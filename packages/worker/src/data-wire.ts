// A run's train/test data as one binary body, for workers that cannot read the run's files (a
// browser page fetches it from the run over HTTP): every worker then derives its shard with the same
// partition rule, so a page trains on exactly the samples a Node worker with its index would.
//
// Layout, little-endian: u32 header length H, H bytes of UTF-8 JSON (names, shapes, classes, counts),
// zero padding to 4 bytes, then for train and for test: features (f32 × n·d), labels (u32 × n).
import { classificationDataset, type ClassificationDataset } from '@gossamer/data';
import type { TrainTest } from './datasets.js';

interface PartHeader {
  name: string;
  numSamples: number;
  featureShape: readonly number[];
  numClasses: number;
  classNames?: readonly string[];
}

function partHeader(d: ClassificationDataset): PartHeader {
  return { name: d.name, numSamples: d.numSamples, featureShape: d.featureShape, numClasses: d.numClasses, ...(d.classNames ? { classNames: d.classNames } : {}) };
}

/** The data as one body (decodeTrainTest reads it back, bit for bit). */
export function encodeTrainTest(data: TrainTest): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({ train: partHeader(data.train), test: partHeader(data.test) }));
  const start = Math.ceil((4 + header.length) / 4) * 4;
  const parts = [data.train, data.test];
  const size = start + parts.reduce((n, d) => n + d.features.byteLength + d.labels.byteLength, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, header.length, true);
  out.set(header, 4);
  let at = start;
  for (const d of parts) {
    for (const a of [d.features, d.labels]) {
      out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), at);
      at += a.byteLength;
    }
  }
  return out;
}

/** Reads encodeTrainTest's body; throws naming what does not fit. */
export function decodeTrainTest(bytes: Uint8Array): TrainTest {
  if (bytes.length < 4) throw new Error('run data: body too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + headerLength))) as { train: PartHeader; test: PartHeader };
  let at = Math.ceil((4 + headerLength) / 4) * 4;
  // Copies (slice), so the arrays are aligned whatever the body's offset in its buffer.
  const take = (n: number): ArrayBuffer => {
    if (at + n > bytes.length) throw new Error(`run data: body ends at ${bytes.length} bytes, before ${at + n}`);
    const b = bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + at + n) as ArrayBuffer;
    at += n;
    return b;
  };
  const part = (h: PartHeader): ClassificationDataset => {
    const numFeatures = h.featureShape.reduce((a, b) => a * b, 1);
    const features = new Float32Array(take(4 * h.numSamples * numFeatures));
    const labels = new Uint32Array(take(4 * h.numSamples));
    return classificationDataset({ name: h.name, features, labels, numClasses: h.numClasses, featureShape: h.featureShape, classNames: h.classNames });
  };
  const data = { train: part(header.train), test: part(header.test) };
  if (at !== bytes.length) throw new Error(`run data: ${bytes.length - at} bytes after the test set`);
  return data;
}
