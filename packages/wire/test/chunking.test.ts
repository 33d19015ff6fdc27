// Chunker and reassembler: every encoded chunk fits max_payload, tensors of every awkward size
// reassemble bit-exactly from chunks arriving in random order with duplicates, and drops are reported
// exactly.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_PAYLOAD,
  DType,
  EnvelopeDecoder,
  EnvelopeEncoder,
  TensorReassembler,
  WireErrorCounter,
  blockCount,
  bytesOf,
  chunkAt,
  chunkEnvelopeOverhead,
  chunkTensor,
  createEnvelope,
  encodeTensor,
  planChunks,
  AllReducePhase,
  ReduceOp,
  type ChunkPlan,
  type Envelope,
  type TensorChunk,
} from '@gossamer/wire';
import { RUN_ID, rng, shuffle } from './fixtures.js';

const SENDER = 'w3';
const encoder = new EnvelopeEncoder();
const decoder = new EnvelopeDecoder({ runId: RUN_ID, knownSenders: new Set([SENDER]) });

function randomBytes(n: number, seed: number): Uint8Array {
  const random = rng(seed);
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = (random() * 0x100000000) >>> 0;
  for (let i = words.length * 4; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** Finite random float32 values (random bytes would hold NaNs), as bytes. */
function randomF32Bytes(elements: number, seed: number): Uint8Array {
  const bytes = randomBytes(elements * 4, seed);
  // Clear one exponent bit so no element is NaN/Inf, keep everything else random.
  for (let i = 3; i < bytes.length; i += 4) bytes[i] &= 0xbf;
  return bytes;
}

function envelopeFor(chunk: TensorChunk, seq: number): Envelope {
  return createEnvelope({ runId: RUN_ID, sender: SENDER, seq, sendTimeMs: Date.now() }, 'tensorChunk', chunk) as Envelope;
}

interface Transfer {
  plan: ChunkPlan;
  messages: Uint8Array[];
}

/** Encodes every chunk of a tensor; checks each message fits max_payload. */
function send(plan: ChunkPlan, bytes: Uint8Array, scales: Uint8Array | undefined, maxPayload: number): Transfer {
  const messages: Uint8Array[] = [];
  let seq = 1;
  for (const chunk of chunkTensor(plan, bytes, scales)) {
    const message = encoder.encode(envelopeFor(chunk, seq++));
    if (message.length > maxPayload) throw new Error(`chunk ${chunk.chunkIndex}: ${message.length} bytes > ${maxPayload}`);
    messages.push(message);
  }
  expect(messages.length).toBe(plan.chunkCount);
  return { plan, messages };
}

/** Decodes messages (in the given order) into a fresh destination; returns the reassembler. */
function receive(plan: ChunkPlan, messages: Uint8Array[], maxPayload: number, errors?: WireErrorCounter) {
  const destination = new Uint8Array(plan.totalBytes);
  const scalesDestination = plan.blockSize > 0 ? new Uint8Array(4 * blockCount(plan.elementCount, plan.blockSize)) : undefined;
  const reassembler = new TensorReassembler(
    { tensorId: plan.tensorId, round: plan.round, dtype: plan.dtype, elementCount: plan.elementCount, blockSize: plan.blockSize, from: SENDER },
    // The decoder has verified each CRC; the reassembler still checks NaN/Inf where it writes.
    { destination, scalesDestination, verifyChecksum: false, errors },
  );
  const dec = new EnvelopeDecoder({ runId: RUN_ID, knownSenders: new Set([SENDER]), maxMessageBytes: maxPayload, errors });
  for (const message of messages) {
    const result = dec.decode(message, SENDER);
    if (!result.ok) throw new Error(result.error.detail);
    if (result.envelope.body !== 'tensorChunk') throw new Error('not a chunk');
    reassembler.accept(result.envelope.tensorChunk, result.envelope.sender);
  }
  return { reassembler, destination, scalesDestination };
}

/** Random order, with ~20% of the chunks delivered twice. */
function scramble(messages: Uint8Array[], seed: number): Uint8Array[] {
  const random = rng(seed);
  const withDuplicates = [...messages, ...messages.filter(() => random() < 0.2)];
  return shuffle(withDuplicates, random);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

const opts = { runId: RUN_ID, sender: SENDER };

describe('planChunks', () => {
  it('1 MiB of f32 does not fit one default message: framing makes it 2 chunks', () => {
    const plan = planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_F32, elementCount: (1 << 20) / 4 }, opts);
    expect(plan.chunkCount).toBe(2);
    expect(plan.chunkBytes % 4).toBe(0);
    expect(plan.chunkBytes).toBeLessThan(DEFAULT_MAX_PAYLOAD);
    expect(plan.chunkBytes).toBeGreaterThan(DEFAULT_MAX_PAYLOAD - 512);
  });

  it('sizes int8 chunks in whole blocks, counting each block\'s 4-byte scale', () => {
    const plan = planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_INT8_BLOCK, elementCount: 5_000_000, blockSize: 32 }, opts);
    expect(plan.chunkBytes % 32).toBe(0);
    expect(plan.chunkBytes + (plan.chunkBytes / 32) * 4 + chunkEnvelopeOverhead(RUN_ID, SENDER, DEFAULT_MAX_PAYLOAD)).toBeLessThanOrEqual(DEFAULT_MAX_PAYLOAD);
  });

  it('refuses what cannot work', () => {
    expect(() => planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_F32, elementCount: 10 }, { ...opts, maxPayload: 100 })).toThrow(RangeError);
    expect(() => planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_F32, elementCount: 2 ** 30 }, opts)).toThrow(RangeError);
    expect(() => planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_INT8_BLOCK, elementCount: 10 }, opts)).toThrow(RangeError);
    expect(() => planChunks({ tensorId: 0, round: 0, dtype: 0 as DType, elementCount: 10 }, opts)).toThrow(RangeError);
  });
});

describe('every encoded chunk fits max_payload, and full chunks nearly fill it', () => {
  const maxima = [4096, 65_536, DEFAULT_MAX_PAYLOAD];
  const ids = [
    { runId: RUN_ID, sender: SENDER },
    { runId: 'r'.repeat(128), sender: 'é'.repeat(64) }, // longest ids, 2-byte UTF-8
  ];
  for (const maxPayload of maxima) {
    for (const id of ids) {
      it(`max ${maxPayload}, ids of ${id.runId.length}/${id.sender.length} chars: tensor_chunk and all_reduce_chunk bodies`, () => {
        for (const [dtype, blockSize] of [[DType.DTYPE_F32, 0], [DType.DTYPE_F16, 0], [DType.DTYPE_INT8_BLOCK, 64], [DType.DTYPE_INT8_BLOCK, 1]] as const) {
          const plan = planChunks({ tensorId: 0xffffffff, round: 0xffffffff, dtype, elementCount: 3 * maxPayload, blockSize }, { ...id, maxPayload });
          const bytes = new Uint8Array(plan.totalBytes);
          const scales = new Uint8Array(4 * blockCount(plan.elementCount, Math.max(1, blockSize)));
          const chunk = chunkAt(plan, bytes, 0, scales); // a full chunk
          const header = { runId: id.runId, sender: id.sender, seq: 0xffffffff, sendTimeMs: 1.7e12 + 0.123 };
          const asChunk = encoder.encode(createEnvelope(header, 'tensorChunk', chunk) as Envelope).length;
          const asAllReduce = encoder.encode(
            createEnvelope(header, 'allReduceChunk', {
              collectiveId: 0xffffffff,
              phase: AllReducePhase.ALL_REDUCE_PHASE_ALL_GATHER,
              step: 0xfffffffd,
              ringSize: 0xffffffff,
              segmentIndex: 0xfffffffe,
              segmentByteOffset: 0xfffffff0,
              op: ReduceOp.REDUCE_OP_SUM,
              contributions: 0xffffffff,
              chunk,
            }) as Envelope,
          ).length;
          expect(asChunk).toBeLessThanOrEqual(maxPayload);
          expect(asAllReduce).toBeLessThanOrEqual(maxPayload);
          // Not wasteful: unused room is under one unit (element, or block + scale) plus the bound's slack
          // (fields the bound counts at 5 bytes that are smaller here: index 0, offset 0, dtype, counts).
          const unitCost = blockSize > 0 ? blockSize + 4 : dtype === DType.DTYPE_F32 ? 4 : 2;
          expect(maxPayload - asAllReduce).toBeLessThan(unitCost + 64);
          expect(maxPayload - asChunk).toBeLessThan(unitCost + 64 + 56); // + the all-reduce wrapper it did not need
        }
      });
    }
  }
});

describe('chunk → scramble + duplicate → reassemble, bit-exact', () => {
  const cases: Array<{ name: string; dtype: DType; elements: number; blockSize?: number; maxPayload?: number }> = [
    { name: '1 B (int8, block 4)', dtype: DType.DTYPE_INT8_BLOCK, elements: 1, blockSize: 4 },
    { name: '3 B (int8, block 2)', dtype: DType.DTYPE_INT8_BLOCK, elements: 3, blockSize: 2 },
    { name: '0 B (empty f32 tensor)', dtype: DType.DTYPE_F32, elements: 0 },
    { name: '4 B (one f32)', dtype: DType.DTYPE_F32, elements: 1 },
    { name: '1 MiB f32', dtype: DType.DTYPE_F32, elements: 1 << 18 },
    { name: '16 MiB f32', dtype: DType.DTYPE_F32, elements: 1 << 22 },
    { name: '1 MiB + 2 B f16 (odd element count)', dtype: DType.DTYPE_F16, elements: (1 << 19) + 1 },
    { name: '3 MiB int8, block 32, with scales', dtype: DType.DTYPE_INT8_BLOCK, elements: 3 << 20, blockSize: 32 },
    { name: '100 kB bf16 in 4 KiB messages', dtype: DType.DTYPE_BF16, elements: 50_000, maxPayload: 4096 },
  ];
  for (const [n, c] of cases.entries()) {
    it(c.name, () => {
      const maxPayload = c.maxPayload ?? DEFAULT_MAX_PAYLOAD;
      const plan = planChunks({ tensorId: 5, round: 9, dtype: c.dtype, elementCount: c.elements, blockSize: c.blockSize }, { ...opts, maxPayload });
      const bytes = c.dtype === DType.DTYPE_F32 ? randomF32Bytes(c.elements, n) : c.dtype === DType.DTYPE_BF16 || c.dtype === DType.DTYPE_F16 ? bytesOf(encodeTensor(new Float32Array(randomF32Bytes(c.elements, n).buffer), c.dtype).bytes) : randomBytes(plan.totalBytes, n);
      const scales = plan.blockSize > 0 ? bytesOf(Float32Array.from({ length: blockCount(c.elements, plan.blockSize) }, (_, i) => i / 7)) : undefined;
      const { messages } = send(plan, bytes, scales, maxPayload);
      const errors = new WireErrorCounter();
      const delivered = scramble(messages, 100 + n);
      const { reassembler, destination, scalesDestination } = receive(plan, delivered, maxPayload, errors);
      expect(reassembler.complete).toBe(true);
      expect(reassembler.missingChunkIndices()).toEqual([]);
      expect(reassembler.receivedBytes).toBe(plan.totalBytes);
      expect(sameBytes(destination, bytes.subarray(0, plan.totalBytes))).toBe(true);
      if (scales) expect(sameBytes(scalesDestination!, scales)).toBe(true);
      // Every duplicate was rejected and counted, nothing else.
      expect(errors.count({ reason: 'DUPLICATE', sender: SENDER })).toBe(delivered.length - messages.length);
      expect(errors.total).toBe(delivered.length - messages.length);
    });
  }

  it('boundaries: tensors of exactly 1, 2 and 3 chunks, and one element more or less', () => {
    const maxPayload = 4096;
    const probe = planChunks({ tensorId: 0, round: 0, dtype: DType.DTYPE_F32, elementCount: 1 }, { ...opts, maxPayload });
    const perChunk = probe.chunkBytes / 4;
    for (const elements of [perChunk - 1, perChunk, perChunk + 1, 2 * perChunk - 1, 2 * perChunk, 2 * perChunk + 1, 3 * perChunk]) {
      const plan = planChunks({ tensorId: 1, round: 1, dtype: DType.DTYPE_F32, elementCount: elements }, { ...opts, maxPayload });
      expect(plan.chunkCount).toBe(Math.max(1, Math.ceil(elements / perChunk)));
      const bytes = randomF32Bytes(elements, elements);
      const { messages } = send(plan, bytes, undefined, maxPayload);
      const { reassembler, destination } = receive(plan, scramble(messages, elements), maxPayload);
      expect(reassembler.complete).toBe(true);
      expect(sameBytes(destination, bytes)).toBe(true);
    }
  });

  it('64 MiB f32 from a GPU-readback-like ArrayBuffer (views only), random order with duplicates', () => {
    const elements = 16 << 20;
    const readback = new ArrayBuffer(elements * 4 + 256); // e.g. a mapped range, padded
    const source = new Uint8Array(readback, 0, elements * 4);
    const f = new Float32Array(readback, 0, elements);
    for (let i = 0; i < elements; i++) f[i] = i * 0.5 - 1000;
    const plan = planChunks({ tensorId: 0, round: 3, dtype: DType.DTYPE_F32, elementCount: elements }, opts);
    const chunks = [...chunkTensor(plan, source)];
    // Chunk payloads are views of the readback buffer: nothing was copied to chunk it.
    expect(chunks.every((c) => c.payload.buffer === readback)).toBe(true);
    const { messages } = send(plan, source, undefined, DEFAULT_MAX_PAYLOAD);
    const { reassembler, destination } = receive(plan, scramble(messages, 64), DEFAULT_MAX_PAYLOAD);
    expect(reassembler.complete).toBe(true);
    expect(sameBytes(destination, source)).toBe(true);
  });
});

describe('losses', () => {
  it('reports exactly the dropped chunks, then completes from their retransmission', () => {
    const plan = planChunks({ tensorId: 2, round: 4, dtype: DType.DTYPE_F32, elementCount: 10_000 }, { ...opts, maxPayload: 2048 });
    const bytes = randomF32Bytes(10_000, 5);
    const { messages } = send(plan, bytes, undefined, 2048);
    const dropped = [0, 3, 4, plan.chunkCount - 1];
    const kept = messages.filter((_, i) => !dropped.includes(i));
    const { reassembler, destination } = receive(plan, shuffle(kept, rng(9)), 2048);
    expect(reassembler.complete).toBe(false);
    expect(reassembler.missingChunkIndices()).toEqual(dropped);
    expect(reassembler.retransmitRequest()).toEqual({
      transfer: { tensorId: 2, round: 4, collectiveId: 0, phase: 0, step: 0 },
      missingChunks: dropped,
      allChunks: false,
    });
    expect(reassembler.chunkAck(1 << 20).ackedBytes).toBe(reassembler.receivedBytes);
    // The sender rebuilds just those chunks (chunkAt) and resends them.
    for (const i of dropped) {
      const result = decoder.decode(encoder.encode(envelopeFor(chunkAt(plan, bytes, i), 100 + i)));
      if (!result.ok || result.envelope.body !== 'tensorChunk') throw new Error('decode failed');
      expect(reassembler.accept(result.envelope.tensorChunk, SENDER).ok).toBe(true);
    }
    expect(reassembler.complete).toBe(true);
    expect(reassembler.retransmitRequest()).toBeUndefined();
    expect(sameBytes(destination, bytes)).toBe(true);
  });

  it('before any chunk arrives the grid is unknown: ask for everything', () => {
    const r = new TensorReassembler({ tensorId: 1, round: 1, dtype: DType.DTYPE_F32, elementCount: 100 }, { destination: new Uint8Array(400) });
    expect(r.missingChunkIndices()).toBeNull();
    expect(r.retransmitRequest()?.allChunks).toBe(true);
    expect(r.complete).toBe(false);
  });

  it('with a grid known beforehand (chunkBytes) every chunk is missing from the start', () => {
    const r = new TensorReassembler({ tensorId: 1, round: 1, dtype: DType.DTYPE_F32, elementCount: 100, chunkBytes: 64 }, { destination: new Uint8Array(400) });
    expect(r.missingChunkIndices()).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
