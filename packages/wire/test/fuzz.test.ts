// Property-based tests: random and mutated bytes never make the decoder or reassembler throw; what
// they accept is valid and stable; chunk sets with random drops report exactly what was dropped.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DType,
  EnvelopeDecoder,
  EnvelopeEncoder,
  MESSAGE_KINDS,
  TensorReassembler,
  WIRE_ERROR_REASONS,
  WireErrorCounter,
  blockCount,
  bytesPerElement,
  chunkTensor,
  createEnvelope,
  pb,
  gossamer,
  planChunks,
  validateEnvelope,
  type DecodeResult,
  type Envelope,
  type TensorChunk,
} from '@gossamer/wire';
import { RUN_ID, envelopeOf, header, plain } from './fixtures.js';

const SEED = 20241123;
const errors = new WireErrorCounter();
const decoder = new EnvelopeDecoder({ runId: RUN_ID, knownSenders: new Set(['w1']), errors });
const lenient = new EnvelopeDecoder({ errors }); // no run or membership checks: lets more mutants through
const encoder = new EnvelopeEncoder();

/** Decoding must return a well-formed result, never throw. */
function decodeSafely(d: EnvelopeDecoder, bytes: Uint8Array): DecodeResult {
  const result = d.decode(bytes, 'subject-sender');
  if (!result.ok) {
    expect(WIRE_ERROR_REASONS).toContain(result.error.reason);
    expect(typeof result.error.sender).toBe('string');
    expect(result.error.sender.length).toBeGreaterThan(0);
  }
  return result;
}

/** An accepted envelope is valid, and re-encoding it decodes to the same message (a fixed point). */
function checkAccepted(envelope: Envelope): void {
  expect(validateEnvelope(envelope, { checkTensorFinite: false })).toBeUndefined();
  const again = lenient.decode(encoder.encode(envelope));
  if (!again.ok) throw new Error(`re-encoded accepted message rejected: ${again.error.detail}`);
  expect(plain(again.envelope)).toEqual(plain(envelope));
  // Our one-copy encoder still agrees with protobufjs's own, whatever the (valid) content.
  expect(Array.from(encoder.encode(envelope))).toEqual(Array.from(pb.Envelope.encode(envelope as gossamer.v1.Envelope.$Properties).finish()));
  // A reassembler fed whatever chunk got through never throws either.
  const chunk: TensorChunk | undefined = envelope.body === 'tensorChunk' ? envelope.tensorChunk : envelope.body === 'allReduceChunk' ? envelope.allReduceChunk.chunk : undefined;
  if (chunk) feedReassembler(chunk);
}

function feedReassembler(chunk: TensorChunk): void {
  const elementCount = Math.min(chunk.elementCount, 1 << 16);
  const dtype = [1, 2, 3, 4].includes(chunk.dtype) ? chunk.dtype : DType.DTYPE_F32;
  const blockSize = dtype === DType.DTYPE_INT8_BLOCK ? Math.max(1, Math.min(chunk.blockSize, 1 << 16)) : 0;
  const r = new TensorReassembler(
    { tensorId: chunk.tensorId, round: chunk.round, dtype, elementCount, blockSize },
    { destination: new Uint8Array(elementCount * 4), scalesDestination: new Uint8Array(4 * blockCount(elementCount, Math.max(1, blockSize))), errors },
  );
  const result = r.accept(chunk, 'w1');
  if (result.ok) expect(r.receivedBytes).toBe(chunk.payload.length);
}

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; count: number }
  | { op: 'truncate'; at: number }
  | { op: 'duplicate'; at: number; count: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
);

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + (m.op === 'insert' ? 1 : 0));
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at] ^= 1 << m.bit;
        break;
      case 'set':
        if (b.length > 0) b[at] = m.value;
        break;
      case 'insert':
        b.splice(at, 0, ...m.bytes);
        break;
      case 'delete':
        b.splice(at, m.count);
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'duplicate':
        b.splice(at, 0, ...b.slice(at, at + m.count));
        break;
    }
  }
  return Uint8Array.from(b);
}

describe('decoder fuzzing', () => {
  it('random bytes never throw: the result is ok or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const result = decodeSafely(decoder, bytes);
        if (result.ok) checkAccepted(result.envelope);
      }),
      { numRuns: 3000, seed: SEED },
    );
  });

  it('random bytes behind a valid envelope prefix (version 1, known sender) never throw', () => {
    const prefix = encoder.encode({ ...envelopeOf('heartbeat') }).subarray(0, 2 + 2 + RUN_ID.length + 4);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (tail) => {
        const bytes = new Uint8Array(prefix.length + tail.length);
        bytes.set(prefix);
        bytes.set(tail, prefix.length);
        const result = decodeSafely(lenient, bytes);
        if (result.ok) checkAccepted(result.envelope);
      }),
      { numRuns: 3000, seed: SEED + 1 },
    );
  });

  it('mutations of valid messages of every kind never throw, and are either rejected or decode to a valid, stable message', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(fc.constantFrom(...MESSAGE_KINDS), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (kind, mutations) => {
        const bytes = mutate(encoder.encode(envelopeOf(kind)), mutations);
        const result = decodeSafely(lenient, bytes);
        if (result.ok) {
          accepted++;
          checkAccepted(result.envelope);
        } else rejected++;
      }),
      { numRuns: 6000, seed: SEED + 2 },
    );
    // Both outcomes occur (the property is not vacuous).
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(100);
  });

  it('random field values in well-formed tensor chunks never throw (decoder and reassembler)', () => {
    const u32 = fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 0xffffffff }));
    const chunkArb = fc.record({
      tensorId: u32,
      round: u32,
      chunkIndex: u32,
      chunkCount: u32,
      chunkBytes: u32,
      byteOffset: u32,
      totalBytes: u32,
      dtype: fc.integer({ min: -2, max: 6 }),
      elementCount: u32,
      blockSize: u32,
      crc32c: u32,
      scales: fc.uint8Array({ maxLength: 32 }),
      payload: fc.uint8Array({ maxLength: 128 }),
    });
    fc.assert(
      fc.property(chunkArb, (chunk) => {
        const envelope = createEnvelope(header(), 'tensorChunk', chunk as TensorChunk) as Envelope;
        const result = decodeSafely(decoder, encoder.encode(envelope));
        if (result.ok) checkAccepted(result.envelope);
        feedReassembler(chunk as TensorChunk);
      }),
      { numRuns: 3000, seed: SEED + 3 },
    );
  });
});

describe('reassembly properties', () => {
  it('random tensors, chunk sizes, drops, order and duplicates: missing = exactly the dropped indices; received bytes exact', () => {
    fc.assert(
      fc.property(
        fc.record({
          dtype: fc.constantFrom(DType.DTYPE_F32, DType.DTYPE_F16, DType.DTYPE_BF16, DType.DTYPE_INT8_BLOCK),
          elementCount: fc.integer({ min: 0, max: 20_000 }),
          blockSize: fc.integer({ min: 1, max: 64 }),
          maxPayload: fc.integer({ min: 400, max: 6000 }),
          dropMask: fc.array(fc.boolean(), { maxLength: 200 }),
          order: fc.array(fc.nat(), { maxLength: 400 }),
          duplicates: fc.array(fc.nat(), { maxLength: 20 }),
          seed: fc.integer(),
        }),
        ({ dtype, elementCount, blockSize, maxPayload, dropMask, order, duplicates, seed }) => {
          const plan = planChunks({ tensorId: 1, round: 2, dtype, elementCount, blockSize }, { runId: RUN_ID, sender: 'w1', maxPayload });
          const source = new Uint8Array(plan.totalBytes);
          // Finite floats whatever the dtype: bytes with every exponent's top bit clear.
          for (let i = 0; i < source.length; i++) source[i] = (Math.imul(i + 1, seed | 1) >>> 8) & 0xff;
          const elementBytes = bytesPerElement(dtype);
          if (dtype !== DType.DTYPE_INT8_BLOCK) for (let i = elementBytes - 1; i < source.length; i += elementBytes) source[i] &= 0x3f;
          const scales = dtype === DType.DTYPE_INT8_BLOCK ? new Uint8Array(new Float32Array(blockCount(elementCount, blockSize)).map((_, i) => i).buffer) : undefined;
          const messages = [...chunkTensor(plan, source, scales)].map((c, i) =>
            encoder.encode(createEnvelope({ runId: RUN_ID, sender: 'w1', seq: i + 1, sendTimeMs: 0 }, 'tensorChunk', c) as Envelope),
          );
          for (const m of messages) expect(m.length).toBeLessThanOrEqual(maxPayload);
          const dropped = messages.map((_, i) => i).filter((i) => dropMask[i % Math.max(1, dropMask.length)] === true && dropMask.length > 0);
          const kept = messages.map((_, i) => i).filter((i) => !dropped.includes(i));
          // Arrival order: a permutation driven by `order`, plus duplicates of kept chunks.
          const arrivals = [...kept];
          for (let i = arrivals.length - 1; i > 0; i--) {
            const j = (order[i % Math.max(1, order.length)] ?? 0) % (i + 1);
            [arrivals[i], arrivals[j]] = [arrivals[j], arrivals[i]];
          }
          if (kept.length > 0) for (const d of duplicates) arrivals.splice(d % (arrivals.length + 1), 0, kept[d % kept.length]);

          const destination = new Uint8Array(plan.totalBytes);
          const scalesDestination = scales ? new Uint8Array(scales.length) : undefined;
          const counter = new WireErrorCounter();
          const r = new TensorReassembler(
            { tensorId: 1, round: 2, dtype, elementCount, blockSize },
            { destination, scalesDestination, errors: counter, verifyChecksum: false },
          );
          for (const i of arrivals) {
            const result = decoder.decode(messages[i]);
            if (!result.ok || result.envelope.body !== 'tensorChunk') throw new Error('valid chunk rejected by the decoder');
            r.accept(result.envelope.tensorChunk, 'w1');
          }
          const missing = r.missingChunkIndices();
          if (kept.length === 0) expect(missing).toBeNull();
          else expect(missing).toEqual(dropped);
          expect(r.complete).toBe(dropped.length === 0);
          expect(counter.total).toBe(arrivals.length - kept.length); // only the duplicates were rejected
          expect(counter.count({ reason: 'DUPLICATE' })).toBe(counter.total);
          // Every received chunk's bytes are in place; dropped slots are untouched (still zero).
          for (let i = 0; i < plan.chunkCount; i++) {
            const start = i * plan.chunkBytes;
            const end = Math.min(start + plan.chunkBytes, plan.totalBytes);
            const want = dropped.includes(i) ? new Uint8Array(end - start) : source.subarray(start, end);
            if (!Buffer.from(destination.subarray(start, end)).equals(Buffer.from(want))) throw new Error(`chunk ${i} bytes differ`);
          }
        },
      ),
      { numRuns: 500, seed: SEED + 4 },
    );
  });
});
