// Cutting a tensor into TensorChunk messages that each fit the transport's largest message.
//
// A tensor's encoded bytes (e.g. a view of a GPU readback buffer) are never copied here: each chunk's
// payload and scales are subarray views, and the encoder copies each once into its message. Encode
// every chunk before the source goes away (a mapped GPU buffer is detached by unmap()).
import { crc32c } from './crc32c.js';
import { blockCount, bytesPerElement, dtypeName, isKnownDType } from './dtype.js';
import { DType, type TensorChunk } from './proto.js';
import { chunkCountFor, utf8ByteLength } from './validate.js';
import { varint32Size } from './codec.js';
import { DEFAULT_MAX_PAYLOAD, PROTOCOL_VERSION } from './version.js';

/** What a tensor transfer is: the fields every chunk of it repeats. */
export interface TensorSpec {
  tensorId: number;
  round: number;
  dtype: DType;
  elementCount: number;
  /** INT8_BLOCK only: elements per scale block (>= 1). */
  blockSize?: number;
}

/** A tensor transfer cut into a chunk grid: chunk i covers bytes [i × chunkBytes, min((i+1) × chunkBytes, totalBytes)). */
export interface ChunkPlan {
  tensorId: number;
  round: number;
  dtype: DType;
  elementCount: number;
  /** 0 unless INT8_BLOCK. */
  blockSize: number;
  totalBytes: number;
  chunkBytes: number;
  chunkCount: number;
}

export interface ChunkingOptions {
  /** Largest encoded envelope the transport accepts; default DEFAULT_MAX_PAYLOAD (1 MiB, NATS's default). */
  maxPayload?: number;
  /** The run id and sender id that every chunk's envelope will carry (their lengths count). */
  runId: string;
  sender: string;
  /** Use chunks no longer than this many payload bytes (rounded down to the element or block size). */
  maxChunkBytes?: number;
}

/** Largest size of a uint32 varint field with a one-byte key. */
const UINT32_FIELD_MAX = 1 + 5;

/**
 * An upper bound on the bytes a TensorChunk envelope (or an AllReduceChunk envelope wrapping one)
 * spends on everything but its payload and scales bytes, for the given run and sender ids, when no
 * message exceeds `maxPayload` bytes. Every numeric field is counted at its largest varint size and
 * every length prefix at the size of `maxPayload` (no length inside a message can exceed it), so the
 * bound holds for any seq, round, index or length; strings are counted exactly.
 */
export function chunkEnvelopeOverhead(runId: string, sender: string, maxPayload = DEFAULT_MAX_PAYLOAD): number {
  const lengthPrefix = varint32Size(maxPayload);
  const string = (text: string): number => 1 + lengthPrefix + utf8ByteLength(text);
  const envelopeHeader =
    1 + varint32Size(PROTOCOL_VERSION) + // protocol_version
    string(runId) +
    string(sender) +
    UINT32_FIELD_MAX + // seq
    1 + 8 + // send_time_ms (double)
    UINT32_FIELD_MAX; // view_epoch
  const bodyFraming = 2 + lengthPrefix; // envelope.tensor_chunk (1-byte key) or .all_reduce_chunk (2-byte key)
  const allReduceWrapper =
    8 * UINT32_FIELD_MAX + // collective_id, phase, step, ring_size, segment_index, segment_byte_offset, op, contributions
    1 + lengthPrefix; // all_reduce_chunk.chunk
  const chunkHeader =
    10 * UINT32_FIELD_MAX + // tensor_id … block_size (fields 1–10)
    1 + 4 + // crc32c (fixed32)
    1 + lengthPrefix + // scales
    1 + lengthPrefix; // payload
  return envelopeHeader + bodyFraming + allReduceWrapper + chunkHeader;
}

/** Largest uint32: offsets and lengths on the wire are uint32. */
const MAX_UINT32 = 0xffffffff;

/**
 * Plans the chunk grid of a tensor so that every chunk's envelope, framing included, is at most
 * `maxPayload` bytes. Throws a RangeError for an invalid spec or a maxPayload too small for one element.
 */
export function planChunks(spec: TensorSpec, options: ChunkingOptions): ChunkPlan {
  const { dtype, elementCount } = spec;
  if (!isKnownDType(dtype)) throw new RangeError(`planChunks: unknown dtype ${dtype}`);
  if (!Number.isInteger(elementCount) || elementCount < 0) throw new RangeError(`planChunks: element count ${elementCount}`);
  const isInt8 = dtype === DType.DTYPE_INT8_BLOCK;
  const blockSize = isInt8 ? (spec.blockSize ?? 0) : 0;
  if (isInt8 && (!Number.isInteger(blockSize) || blockSize < 1)) throw new RangeError(`planChunks: int8 block size ${blockSize}`);
  const elementBytes = bytesPerElement(dtype);
  const totalBytes = elementCount * elementBytes;
  if (totalBytes > MAX_UINT32) throw new RangeError(`planChunks: ${totalBytes} bytes exceed the wire's 4 GiB tensor limit`);

  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const room = maxPayload - chunkEnvelopeOverhead(options.runId, options.sender, maxPayload);
  // Chunks hold whole elements, and INT8 chunks whole blocks (each block costs blockSize + 4 bytes:
  // its int8 values and its float32 scale).
  const unit = isInt8 ? blockSize : elementBytes;
  const unitCost = isInt8 ? blockSize + 4 : elementBytes;
  let units = Math.floor(room / unitCost);
  if (options.maxChunkBytes !== undefined) units = Math.min(units, Math.floor(options.maxChunkBytes / unit));
  if (units < 1) {
    throw new RangeError(`planChunks: a ${maxPayload}-byte message cannot hold one ${isInt8 ? `block of ${blockSize}` : dtypeName(dtype)} element after its framing`);
  }
  const chunkBytes = units * unit;
  return {
    tensorId: spec.tensorId,
    round: spec.round,
    dtype,
    elementCount,
    blockSize,
    totalBytes,
    chunkBytes,
    chunkCount: chunkCountFor(totalBytes, chunkBytes),
  };
}

/**
 * Chunk `index` of a tensor: payload (and INT8 scales) as views of `bytes` (and `scales`), with its
 * CRC-32C. `bytes` must hold at least plan.totalBytes bytes (a GPU readback padded to 4 bytes is fine:
 * only the first totalBytes are sent); `scales` at least 4 × blocks bytes for INT8_BLOCK.
 */
export function chunkAt(plan: ChunkPlan, bytes: Uint8Array, index: number, scales?: Uint8Array): TensorChunk {
  if (!Number.isInteger(index) || index < 0 || index >= plan.chunkCount) throw new RangeError(`chunkAt: index ${index} of ${plan.chunkCount}`);
  if (bytes.length < plan.totalBytes) throw new RangeError(`chunkAt: ${bytes.length} source bytes, the tensor has ${plan.totalBytes}`);
  const byteOffset = index * plan.chunkBytes;
  const length = Math.min(plan.chunkBytes, plan.totalBytes - byteOffset);
  const payload = bytes.subarray(byteOffset, byteOffset + length);
  let chunkScales: Uint8Array = new Uint8Array(0);
  if (plan.dtype === DType.DTYPE_INT8_BLOCK) {
    const blocks = blockCount(plan.elementCount, plan.blockSize);
    if (scales === undefined || scales.length < 4 * blocks) {
      throw new RangeError(`chunkAt: int8 tensor needs ${4 * blocks} bytes of scales, got ${scales?.length ?? 0}`);
    }
    const firstBlock = byteOffset / plan.blockSize; // whole: chunkBytes is a multiple of blockSize
    chunkScales = scales.subarray(4 * firstBlock, 4 * (firstBlock + blockCount(length, plan.blockSize)));
  }
  return {
    tensorId: plan.tensorId,
    round: plan.round,
    chunkIndex: index,
    chunkCount: plan.chunkCount,
    chunkBytes: plan.chunkBytes,
    byteOffset,
    totalBytes: plan.totalBytes,
    dtype: plan.dtype,
    elementCount: plan.elementCount,
    blockSize: plan.blockSize,
    crc32c: crc32c(chunkScales, crc32c(payload)),
    scales: chunkScales,
    payload,
  };
}

/** Every chunk of a tensor, in order (lazily: each CRC is computed when its chunk is reached). */
export function* chunkTensor(plan: ChunkPlan, bytes: Uint8Array, scales?: Uint8Array): Generator<TensorChunk, void, undefined> {
  for (let i = 0; i < plan.chunkCount; i++) yield chunkAt(plan, bytes, i, scales);
}
