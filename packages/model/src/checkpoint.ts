import { crc32 } from './crc32.js';

/**
 * Checkpoint file format (version 1), little-endian:
 *
 *   offset  size  field
 *   0       8     magic "GOSSCKPT"
 *   8       4     format version (u32) = 1
 *   12      4     header length H in bytes (u32)
 *   16      H     header: UTF-8 JSON, see CheckpointHeader (model spec, dtype, section lengths, ...)
 *   …       0–3   zero padding to a 4-byte boundary
 *   …             sections: float32 arrays in header.sections order (params first, then optimizer state)
 *   end−4   4     CRC-32 (zlib polynomial) of every byte before it
 *
 * The header carries the model spec and layout so a checkpoint cannot be loaded into the wrong model,
 * and the checksum turns silent corruption into a clear error.
 */
export const CHECKPOINT_MAGIC = 'GOSSCKPT';
export const CHECKPOINT_VERSION = 1;

export interface CheckpointHeader {
  /** The model's JSON spec (what `gossamer train` was asked to build). */
  model: unknown;
  /** Tensor layout of the flat parameter buffer. */
  layout: { name: string; offset: number; shape: number[] }[];
  dtype: 'f32';
  /** Sections and their float counts, in file order; the first is always "params". */
  sections: { name: string; length: number }[];
  /** Optimizer description (kind and hyper-parameters), if state is saved. */
  optimizer?: unknown;
  /** Training step at which the checkpoint was taken. */
  step: number;
  /** A distributed worker's place in its run (its round, data position, algorithm scalars), to resume from. */
  resume?: ResumeState;
  createdAt: string;
}

/** Where a worker of a distributed run was when it wrote the checkpoint. */
export interface ResumeState {
  /** The first round still to run. */
  round: number;
  /** The batcher's next batch number. */
  batcherStep: number;
  /** The algorithm's scalar state (e.g. push-sum's weight). */
  values: Record<string, number>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  /** Section name → values ("params", "optimizer.m", ...). */
  sections: Map<string, Float32Array>;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export function encodeCheckpoint(
  header: Omit<CheckpointHeader, 'sections' | 'dtype' | 'createdAt'>,
  sections: readonly { name: string; data: Float32Array }[],
): Uint8Array {
  if (sections.length === 0 || sections[0].name !== 'params') throw new CheckpointError('the first section must be "params"');
  const full: CheckpointHeader = {
    ...header,
    dtype: 'f32',
    sections: sections.map((s) => ({ name: s.name, length: s.data.length })),
    createdAt: new Date().toISOString(),
  };
  const json = new TextEncoder().encode(JSON.stringify(full));
  const headerEnd = 16 + json.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const dataBytes = sections.reduce((a, s) => a + s.data.byteLength, 0);
  const out = new Uint8Array(dataStart + dataBytes + 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(CHECKPOINT_MAGIC), 0);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, json.length, true);
  out.set(json, 16);
  let at = dataStart;
  for (const s of sections) {
    // Float32Array is little-endian on every platform Node and browsers run on.
    out.set(new Uint8Array(s.data.buffer, s.data.byteOffset, s.data.byteLength), at);
    at += s.data.byteLength;
  }
  view.setUint32(at, crc32(out.subarray(0, at)) >>> 0, true);
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): Checkpoint {
  if (bytes.length < 20 || new TextDecoder().decode(bytes.subarray(0, 8)) !== CHECKPOINT_MAGIC) {
    throw new CheckpointError(`${source} is not a Gossamer checkpoint (bad magic bytes)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) {
    throw new CheckpointError(`${source} has format version ${version}; this Gossamer reads version ${CHECKPOINT_VERSION}`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  const actual = crc32(bytes.subarray(0, bytes.length - 4)) >>> 0;
  if (stored !== actual) {
    throw new CheckpointError(`${source} is corrupt: checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)}); the file was truncated or modified`);
  }
  const headerLength = view.getUint32(12, true);
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as CheckpointHeader;
  } catch (e) {
    throw new CheckpointError(`${source}: unreadable header (${(e as Error).message})`);
  }
  let at = Math.ceil((16 + headerLength) / 4) * 4;
  const sections = new Map<string, Float32Array>();
  for (const s of header.sections) {
    const end = at + s.length * 4;
    if (end > bytes.length - 4) throw new CheckpointError(`${source}: section "${s.name}" runs past the end of the file`);
    // Copy through the ArrayBuffer: Buffer.slice (a Node Buffer is a Uint8Array) returns a view into a shared pool.
    sections.set(s.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset + at, bytes.byteOffset + end)));
    at = end;
  }
  if (at !== bytes.length - 4) throw new CheckpointError(`${source}: ${bytes.length - 4 - at} unexpected bytes after the last section`);
  return { header, sections };
}

/** Throws a CheckpointError naming the difference when a checkpoint does not fit a model. */
export function assertCompatible(header: CheckpointHeader, model: unknown, layout: CheckpointHeader['layout'], source = 'checkpoint'): void {
  const want = canonicalJson(model);
  const got = canonicalJson(header.model);
  if (want !== got) throw new CheckpointError(`${source} was saved from model ${got}, but this model is ${want}`);
  if (canonicalJson(layout) !== canonicalJson(header.layout)) {
    throw new CheckpointError(`${source} has a different parameter layout than this model (same spec, different code version?)`);
  }
}

/** JSON with object keys sorted, so equal specs compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
