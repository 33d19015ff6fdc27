// One valid envelope of every kind, and small helpers shared by the wire tests.
import {
  AllReducePhase,
  ViewStep,
  createEnvelope,
  crc32c,
  DType,
  ErrorCode,
  LeaveReason,
  ReduceOp,
  WorkerState,
  bytesOf,
  type Capabilities,
  type Envelope,
  type EnvelopeBodies,
  type EnvelopeHeaderInit,
  type MessageKind,
  type TensorChunk,
} from '@gossamer/wire';

export const RUN_ID = 'run-2f6c1a';
export const header = (sender = 'w1', seq = 7): EnvelopeHeaderInit => ({ runId: RUN_ID, sender, seq, sendTimeMs: 1_732_000_000_123.5 });

export const capabilities: Capabilities = {
  adapter: 'nvidia hopper H100',
  softwareAdapter: false,
  maxBufferMib: 4096,
  memoryMib: 65536,
  stepsPerSecond: 41.5,
  gflops: 51000,
  linkMbps: 10000,
};

/** A small valid F32 tensor chunk: chunk 1 of 3 of a 10-element tensor, grid of 16 bytes. */
export function smallChunk(): TensorChunk {
  const payload = bytesOf(new Float32Array([1.5, -2, 3.25, 0]));
  return {
    tensorId: 3,
    round: 12,
    chunkIndex: 1,
    chunkCount: 3,
    chunkBytes: 16,
    byteOffset: 16,
    totalBytes: 40,
    dtype: DType.DTYPE_F32,
    elementCount: 10,
    blockSize: 0,
    crc32c: crc32c(payload),
    scales: new Uint8Array(0),
    payload,
  };
}

/** A valid INT8_BLOCK chunk: the only chunk of a 6-element tensor in blocks of 4. */
export function int8Chunk(): TensorChunk {
  const payload = new Uint8Array([1, 255, 127, 129, 3, 0]);
  const scales = bytesOf(new Float32Array([0.5, 0.25]));
  return {
    tensorId: 1,
    round: 2,
    chunkIndex: 0,
    chunkCount: 1,
    chunkBytes: 8,
    byteOffset: 0,
    totalBytes: 6,
    dtype: DType.DTYPE_INT8_BLOCK,
    elementCount: 6,
    blockSize: 4,
    crc32c: crc32c(scales, crc32c(payload)),
    scales,
    payload,
  };
}

const transfer = { tensorId: 3, round: 12, collectiveId: 0, phase: 0, step: 0 };

export const bodies: { [K in MessageKind]: () => EnvelopeBodies[K] } = {
  join: () => ({ capabilities, softwareVersion: '0.1.0', resumeRound: 0, incarnation: 7 }),
  leave: () => ({ reason: LeaveReason.LEAVE_REASON_DONE, detail: 'finished 100 rounds', lastRound: 100 }),
  heartbeat: () => ({ round: 5, state: WorkerState.WORKER_STATE_TRAINING, intervalMs: 1000, capabilities }),
  tensorChunk: smallChunk,
  chunkAck: () => ({ transfer, ackedBytes: 1 << 20, creditBytes: 4 << 20, complete: false }),
  retransmitRequest: () => ({ transfer, missingChunks: [0, 2, 900], allChunks: false }),
  allReduceChunk: () => ({
    collectiveId: 9,
    phase: AllReducePhase.ALL_REDUCE_PHASE_REDUCE_SCATTER,
    step: 1,
    ringSize: 4,
    segmentIndex: 2,
    segmentByteOffset: 80,
    op: ReduceOp.REDUCE_OP_MEAN,
    contributions: 3,
    chunk: smallChunk(),
  }),
  viewChange: () => ({ step: ViewStep.VIEW_STEP_COMMIT, epoch: 3, proposer: 'w0', members: ['w0', 'w2', 'w3'], round: 17 }),
  errorReport: () => ({ code: ErrorCode.ERROR_CODE_CHECKSUM, detail: 'chunk 4 failed its crc32c', aboutSeq: 1234, transfer, fatal: false }),
};

/** A valid envelope of the given kind. */
export function envelopeOf<K extends MessageKind>(kind: K, sender = 'w1', seq = 7): Envelope {
  // A generic K's envelope type is not provably one of the union's members: cast once, here.
  return createEnvelope(header(sender, seq), kind, bodies[kind]()) as unknown as Envelope;
}

/** Plain-data copy of a decoded message (own enumerable fields, bytes as arrays) for deep comparison. */
export function plain(value: unknown): unknown {
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) out[key] = plain((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/**
 * Reads from `decoded` every field that `shape` has, recursively: what a receiver sees for each field
 * the sender set (decoded protobufjs messages keep default values on their prototype).
 */
export function project(decoded: unknown, shape: unknown): unknown {
  if (shape === null || typeof shape !== 'object' || shape instanceof Uint8Array || Array.isArray(shape)) return decoded;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(shape)) {
    const value = decoded === null || typeof decoded !== 'object' ? undefined : (decoded as Record<string, unknown>)[key];
    out[key] = project(value, (shape as Record<string, unknown>)[key]);
  }
  return out;
}

export { rng } from '../../../test/support/numeric.js';

/** Fisher–Yates shuffle with a seeded generator. */
export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
