// Every rejection reason, each produced by a crafted message, counted by reason and sender and
// handed to the logger; a rejected chunk never touches the destination.
import { describe, expect, it } from 'vitest';
import {
  DType,
  EnvelopeDecoder,
  OTHER_SENDERS,
  TensorReassembler,
  WIRE_ERROR_REASONS,
  WireErrorCounter,
  bytesOf,
  createEnvelope,
  crc32c,
  decodeEnvelope,
  encodeEnvelope,
  formatWireError,
  type DecoderOptions,
  type LeaveReason,
  type Envelope,
  type TensorChunk,
  type WireError,
  type WireErrorReason,
} from '@gossamer/wire';
import { RUN_ID, bodies, envelopeOf, header, int8Chunk, smallChunk } from './fixtures.js';

const logged: WireError[] = [];
const errors = new WireErrorCounter({ onError: (e) => logged.push(e) });
const options: DecoderOptions = { runId: RUN_ID, knownSenders: new Set(['w1', 'w2']), errors, maxMessageBytes: 4096 };
const decoder = new EnvelopeDecoder(options);

/** Decodes bytes that must be rejected for `reason`; returns the error. */
function rejected(bytes: Uint8Array, reason: WireErrorReason, receivedFrom = 'subject-w1'): WireError {
  const result = decoder.decode(bytes, receivedFrom);
  if (result.ok) throw new Error(`accepted, expected ${reason}`);
  expect(result.error.reason, result.error.detail).toBe(reason);
  return result.error;
}

const chunkEnvelope = (chunk: TensorChunk, sender = 'w1'): Envelope => createEnvelope(header(sender), 'tensorChunk', chunk) as Envelope;
/** A chunk with a correct CRC for whatever payload it has (so only the intended fault shows). */
const resealed = (c: TensorChunk): TensorChunk => ({ ...c, crc32c: crc32c(c.scales, crc32c(c.payload)) });

function reassemblerFor(c: TensorChunk, destination = new Uint8Array(c.totalBytes), counter = errors) {
  return new TensorReassembler(
    { tensorId: c.tensorId, round: c.round, dtype: c.dtype, elementCount: c.elementCount, blockSize: c.blockSize },
    { destination, scalesDestination: new Uint8Array(1024), errors: counter },
  );
}

describe('decoder rejections', () => {
  it('MALFORMED: bad wire type, missing body, unknown enum, invalid UTF-8, required message missing', () => {
    rejected(new Uint8Array([0x0f, 0x01]), 'MALFORMED'); // field 1 with wire type 7
    const noBody = { ...envelopeOf('join') } as Record<string, unknown>;
    delete noBody.join;
    delete noBody.body;
    rejected(encodeEnvelope(noBody as unknown as Envelope), 'MALFORMED');
    rejected(encodeEnvelope(createEnvelope(header(), 'leave', { ...bodies.leave(), reason: 99 as LeaveReason }) as Envelope), 'MALFORMED');
    const join = createEnvelope(header(), 'join', { ...bodies.join(), capabilities: null as never }) as Envelope;
    rejected(encodeEnvelope(join), 'MALFORMED');
    // sender "w1" with an invalid UTF-8 byte: 0x1a = field 3 (sender), length 2, bytes "w" 0xff.
    const bad = encodeEnvelope(createEnvelope(header('w1'), 'leave', bodies.leave()) as Envelope);
    const at = Buffer.from(bad).indexOf(Buffer.from([0x1a, 0x02, 0x77, 0x31]));
    bad[at + 3] = 0xff;
    const e = rejected(bad, 'MALFORMED');
    expect(e.sender).toBe('subject-w1'); // unparseable: named by the transport's hint
  });

  it('VERSION: another protocol version, whether or not the rest parses', () => {
    const v2 = encodeEnvelope({ ...envelopeOf('heartbeat'), protocolVersion: 2 });
    expect(rejected(v2, 'VERSION').sender).toBe('w1');
    rejected(new Uint8Array([0x08, 0x02, 0x0f, 0x0f]), 'VERSION'); // version 2, then garbage
  });

  it('WRONG_RUN and UNKNOWN_SENDER', () => {
    rejected(encodeEnvelope({ ...envelopeOf('heartbeat'), runId: 'an-old-run' }), 'WRONG_RUN');
    const e = rejected(encodeEnvelope(envelopeOf('heartbeat', 'w99')), 'UNKNOWN_SENDER');
    expect(e.sender).toBe('w99');
    expect(e.kind).toBe('heartbeat');
    expect(e.seq).toBe(7);
  });

  it('CHECKSUM: one payload bit flipped in transit', () => {
    const bytes = encodeEnvelope(envelopeOf('tensorChunk'));
    bytes[bytes.length - 3] ^= 0x10; // inside the payload, the last field
    const e = rejected(bytes, 'CHECKSUM');
    expect([e.tensorId, e.round, e.chunkIndex]).toEqual([3, 12, 1]);
  });

  it('OVERSIZED: a message over the limit, and a chunk longer than its slot', () => {
    rejected(new Uint8Array(4097), 'OVERSIZED');
    const c = smallChunk();
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...c, payload: new Uint8Array(20) }))), 'OVERSIZED');
  });

  it('TRUNCATED: bytes cut short, and a chunk shorter than its slot', () => {
    const bytes = encodeEnvelope(envelopeOf('tensorChunk'));
    rejected(bytes.subarray(0, bytes.length - 5), 'TRUNCATED');
    const c = smallChunk();
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...c, payload: c.payload.subarray(0, 12) }))), 'TRUNCATED');
  });

  it('NON_FINITE: NaN in a measured rate, a send time, a scale, or (when asked) a tensor payload', () => {
    const beat = bodies.heartbeat();
    rejected(encodeEnvelope(createEnvelope(header(), 'heartbeat', { ...beat, capabilities: { ...beat.capabilities, stepsPerSecond: Number.NaN } }) as Envelope), 'NON_FINITE');
    rejected(encodeEnvelope(createEnvelope({ ...header(), sendTimeMs: Infinity }, 'heartbeat', beat) as Envelope), 'NON_FINITE');
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...int8Chunk(), scales: bytesOf(new Float32Array([0.5, NaN])) }))), 'NON_FINITE');
    const nanChunk = resealed({ ...smallChunk(), payload: bytesOf(new Float32Array([1, NaN, 3, 4])) });
    expect(decoder.decode(encodeEnvelope(chunkEnvelope(nanChunk))).ok).toBe(true); // payloads are scanned by the reassembler
    const strict = decodeEnvelope(encodeEnvelope(chunkEnvelope(nanChunk)), { checkTensorFinite: true });
    expect(strict.ok ? undefined : strict.error.reason).toBe('NON_FINITE');
  });

  it('LENGTH_MISMATCH: total_bytes vs element count, and an all-reduce segment off the element grid', () => {
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...smallChunk(), totalBytes: 44 }))), 'LENGTH_MISMATCH');
    rejected(encodeEnvelope(createEnvelope(header(), 'allReduceChunk', { ...bodies.allReduceChunk(), segmentByteOffset: 82 }) as Envelope), 'LENGTH_MISMATCH');
  });

  it('OUT_OF_RANGE: chunk index past the count, all-reduce step past the ring', () => {
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...smallChunk(), chunkIndex: 3 }))), 'OUT_OF_RANGE');
    rejected(encodeEnvelope(createEnvelope(header(), 'allReduceChunk', { ...bodies.allReduceChunk(), step: 3 }) as Envelope), 'OUT_OF_RANGE');
  });

  it('STALE_EPOCH: tensor traffic of an older view; membership messages pass at any view', () => {
    let epoch = 2;
    const viewed = new EnvelopeDecoder({ ...options, viewEpoch: () => epoch });
    const old = encodeEnvelope(createEnvelope({ ...header(), viewEpoch: 1 }, 'tensorChunk', smallChunk()) as Envelope);
    const result = viewed.decode(old);
    expect(result.ok ? undefined : result.error.reason).toBe('STALE_EPOCH');
    expect(viewed.decode(encodeEnvelope(createEnvelope({ ...header(), viewEpoch: 1 }, 'heartbeat', bodies.heartbeat()) as Envelope)).ok).toBe(true);
    expect(viewed.decode(encodeEnvelope(createEnvelope({ ...header(), viewEpoch: 3 }, 'tensorChunk', smallChunk()) as Envelope)).ok).toBe(true);
    epoch = 1;
    expect(viewed.decode(old).ok).toBe(true);
  });

  it('OVERLAP: a chunk whose byte_offset is not its slot', () => {
    rejected(encodeEnvelope(chunkEnvelope(resealed({ ...smallChunk(), byteOffset: 8 }))), 'OVERLAP');
  });
});

describe('reassembler rejections (and a rejected chunk changes nothing)', () => {
  it('DUPLICATE, WRONG_ROUND, MISMATCH, LENGTH_MISMATCH, NON_FINITE, CHECKSUM', () => {
    const c = smallChunk();
    const destination = new Uint8Array(c.totalBytes).fill(0xee);
    const r = reassemblerFor(c, destination);
    const before = destination.slice();
    const expectRejected = (chunk: TensorChunk, reason: WireErrorReason): void => {
      const result = r.accept(chunk, 'w2');
      expect(result.ok ? undefined : result.error.reason).toBe(reason);
      expect(Buffer.from(destination).equals(Buffer.from(before))).toBe(true); // untouched
    };
    expectRejected({ ...c, round: c.round - 1 }, 'WRONG_ROUND'); // a late chunk
    expectRejected({ ...c, tensorId: 4 }, 'MISMATCH');
    expectRejected({ ...c, dtype: DType.DTYPE_F16 }, 'MISMATCH');
    expectRejected(resealed({ ...c, elementCount: 11, totalBytes: 44 }), 'LENGTH_MISMATCH');
    expectRejected(resealed({ ...c, payload: bytesOf(new Float32Array([1, Infinity, 3, 4])) }), 'NON_FINITE');
    expectRejected({ ...c, crc32c: c.crc32c ^ 1 }, 'CHECKSUM');
    expect(r.accept(c, 'w2').ok).toBe(true);
    expect(Array.from(destination.subarray(16, 32))).toEqual(Array.from(c.payload));
    const after = destination.slice();
    const dup = r.accept(resealed({ ...c, payload: new Uint8Array(16) }), 'w2');
    expect(dup.ok ? undefined : dup.error.reason).toBe('DUPLICATE');
    expect(Buffer.from(destination).equals(Buffer.from(after))).toBe(true); // the first copy is kept
    // Once the grid is known, a chunk on another grid is a mismatch.
    const other = r.accept(resealed({ ...c, chunkIndex: 0, chunkBytes: 8, chunkCount: 5, byteOffset: 0, payload: c.payload.subarray(0, 8) }), 'w2');
    expect(other.ok ? undefined : other.error.reason).toBe('MISMATCH');
  });

  it('a chunk from another sender than expected is a MISMATCH naming that sender', () => {
    const c = smallChunk();
    const r = new TensorReassembler({ tensorId: 3, round: 12, dtype: DType.DTYPE_F32, elementCount: 10, from: 'w1' }, { destination: new Uint8Array(40) });
    const result = r.accept(c, 'w2');
    expect(result.ok ? undefined : [result.error.reason, result.error.sender]).toEqual(['MISMATCH', 'w2']);
  });
});

describe('counting and logging', () => {
  it('every reason was produced above, counted and logged with its sender', () => {
    const byReason = errors.byReason();
    for (const reason of WIRE_ERROR_REASONS) expect(byReason[reason], reason).toBeGreaterThan(0);
    expect(logged.length).toBe(errors.total);
    expect(errors.count({ sender: 'w99', reason: 'UNKNOWN_SENDER' })).toBe(1);
    expect(errors.count({ sender: 'subject-w1' })).toBeGreaterThan(0);
    expect(errors.bySender().get('w2')).toBeGreaterThan(0);
    for (const e of logged) expect(e.sender.length).toBeGreaterThan(0);
    const line = formatWireError(logged.find((e) => e.reason === 'CHECKSUM')!);
    expect(line).toMatch(/^CHECKSUM from w1 \(tensorChunk, seq 7, tensor 3, round 12, chunk 1\): crc32c 0x[0-9a-f]{8} != 0x[0-9a-f]{8}/);
  });

  it('caps the number of senders tracked, and survives a throwing logger', () => {
    const counter = new WireErrorCounter({
      maxSenders: 3,
      onError: () => {
        throw new Error('logger down');
      },
    });
    for (let i = 0; i < 10; i++) counter.record({ reason: 'MALFORMED', sender: `forged-${i}`, detail: '' });
    expect(counter.bySender().size).toBe(4);
    expect(counter.count({ sender: OTHER_SENDERS })).toBe(7);
    expect(counter.total).toBe(10);
    expect(counter.entries()).toHaveLength(4);
    counter.reset();
    expect(counter.total).toBe(0);
  });
});
