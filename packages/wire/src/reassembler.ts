// Reassembly of one tensor transfer (one sender, tensor and round) straight into its destination,
// e.g. the staging buffer that is then uploaded to the GPU. Chunks may arrive in any order, twice, late
// or never; each one is checked completely *before* a byte of it is written, so a bad chunk changes
// nothing (the destination only ever holds bytes that passed their checksum). Timeouts and retransmit
// requests are the transport's job: it asks missingChunkIndices() what to request.
import { blockCount, bytesPerElement, dtypeName, tensorByteLength } from './dtype.js';
import type { WireError, WireErrorCounter, WireErrorReason } from './errors.js';
import { AllReducePhase, DType, type ChunkAck, type RetransmitRequest, type TensorChunk, type TransferKey } from './proto.js';
import { checkChunkContent, checkChunkStructure, chunkCountFor, type Rejection } from './validate.js';

/** The transfer a reassembler expects. */
export interface ExpectedTensor {
  tensorId: number;
  round: number;
  dtype: DType;
  elementCount: number;
  /** INT8_BLOCK only: elements per scale block. */
  blockSize?: number;
  /** Accept chunks only from this sender (unchecked if absent). */
  from?: string;
  /**
   * The chunk grid, if the receiver knows it beforehand; otherwise the first valid
   * chunk fixes it and later chunks must agree.
   */
  chunkBytes?: number;
}

export interface ReassemblerOptions {
  /** Where the tensor's bytes go: bytes [0, totalBytes) are written (a larger buffer is fine). */
  destination: Uint8Array;
  /** INT8_BLOCK: where the float32 scales go, at least 4 × blocks bytes. */
  scalesDestination?: Uint8Array;
  /** Reject float payloads holding NaN/±Inf (default true). */
  checkFinite?: boolean;
  /** Check each chunk's CRC-32C (default true; false when the decoder already did). */
  verifyChecksum?: boolean;
  /** Counts (and, through its listener, logs) every rejected chunk. */
  errors?: WireErrorCounter;
}

/** Outcome of offering one chunk. */
export type AcceptResult = { ok: true; complete: boolean } | { ok: false; error: WireError };

/** Reassembles one tensor transfer. */
export class TensorReassembler {
  readonly totalBytes: number;
  private readonly blockSize: number;
  private readonly destination: Uint8Array;
  private readonly scalesDestination: Uint8Array | undefined;
  private readonly checkFinite: boolean;
  private readonly verifyChecksum: boolean;
  private readonly errors: WireErrorCounter | undefined;
  private grid: { chunkBytes: number; chunkCount: number; arrived: Uint32Array } | undefined;
  private chunksArrived = 0;
  private bytesArrived = 0;

  constructor(
    readonly expected: ExpectedTensor,
    options: ReassemblerOptions,
  ) {
    const elementBytes = bytesPerElement(expected.dtype);
    if (elementBytes === 0) throw new RangeError(`TensorReassembler: unknown dtype ${expected.dtype}`);
    this.totalBytes = tensorByteLength(expected.dtype, expected.elementCount);
    this.blockSize = expected.dtype === DType.DTYPE_INT8_BLOCK ? (expected.blockSize ?? 0) : 0;
    if (expected.dtype === DType.DTYPE_INT8_BLOCK && this.blockSize < 1) throw new RangeError('TensorReassembler: INT8_BLOCK needs blockSize >= 1');
    if (options.destination.length < this.totalBytes) {
      throw new RangeError(`TensorReassembler: destination holds ${options.destination.length} bytes, the tensor ${this.totalBytes}`);
    }
    if (this.blockSize > 0) {
      const scaleBytes = 4 * blockCount(expected.elementCount, this.blockSize);
      if (options.scalesDestination === undefined || options.scalesDestination.length < scaleBytes) {
        throw new RangeError(`TensorReassembler: INT8_BLOCK needs a scales destination of ${scaleBytes} bytes`);
      }
    }
    this.destination = options.destination;
    this.scalesDestination = options.scalesDestination;
    this.checkFinite = options.checkFinite ?? true;
    this.verifyChecksum = options.verifyChecksum ?? true;
    this.errors = options.errors;
    if (expected.chunkBytes !== undefined) this.grid = this.makeGrid(expected.chunkBytes);
  }

  private makeGrid(chunkBytes: number): { chunkBytes: number; chunkCount: number; arrived: Uint32Array } {
    const chunkCount = chunkCountFor(this.totalBytes, chunkBytes);
    return { chunkBytes, chunkCount, arrived: new Uint32Array(Math.ceil(chunkCount / 32)) };
  }

  /** Chunks accepted so far. */
  get receivedChunks(): number {
    return this.chunksArrived;
  }

  /** Payload bytes accepted so far (what a ChunkAck acknowledges). */
  get receivedBytes(): number {
    return this.bytesArrived;
  }

  /** Number of chunks of the transfer, once known (announced, or from the first valid chunk). */
  get chunkCount(): number | undefined {
    return this.grid?.chunkCount;
  }

  /** Every chunk arrived and passed its checks: the destination holds the whole tensor. */
  get complete(): boolean {
    return this.grid !== undefined && this.chunksArrived === this.grid.chunkCount;
  }

  /**
   * Checks one chunk against the expected transfer and on its own; if it passes, writes its payload
   * (and scales) into place. Never throws. `sender` names the chunk's sender in errors.
   */
  accept(chunk: TensorChunk, sender: string): AcceptResult {
    const rejection = this.check(chunk, sender);
    if (rejection) {
      const error: WireError = {
        tensorId: chunk.tensorId,
        round: chunk.round,
        chunkIndex: chunk.chunkIndex,
        ...rejection,
        sender,
        kind: 'tensorChunk',
      };
      this.errors?.record(error);
      return { ok: false, error };
    }
    const grid = this.grid ?? (this.grid = this.makeGrid(chunk.chunkBytes));
    this.destination.set(chunk.payload, chunk.byteOffset);
    if (this.scalesDestination !== undefined && chunk.scales.length > 0) {
      this.scalesDestination.set(chunk.scales, (4 * chunk.byteOffset) / this.blockSize);
    }
    grid.arrived[chunk.chunkIndex >>> 5] |= 1 << (chunk.chunkIndex & 31);
    this.chunksArrived++;
    this.bytesArrived += chunk.payload.length;
    return { ok: true, complete: this.complete };
  }

  private check(c: TensorChunk, sender: string): Rejection | undefined {
    const e = this.expected;
    const mismatch = (reason: WireErrorReason, detail: string): Rejection => ({ reason, detail });
    if (e.from !== undefined && sender !== e.from) return mismatch('MISMATCH', `chunk from ${sender}, expected from ${e.from}`);
    if (c.tensorId !== e.tensorId) return mismatch('MISMATCH', `tensor ${c.tensorId}, expected tensor ${e.tensorId}`);
    if (c.round !== e.round) return mismatch('WRONG_ROUND', `round ${c.round}, expected round ${e.round}`);
    if (c.dtype !== e.dtype) return mismatch('MISMATCH', `dtype ${dtypeName(c.dtype)}, expected ${dtypeName(e.dtype)}`);
    if (c.elementCount !== e.elementCount || c.totalBytes !== this.totalBytes) {
      return mismatch('LENGTH_MISMATCH', `tensor of ${c.elementCount} elements (${c.totalBytes} bytes), expected ${e.elementCount} (${this.totalBytes} bytes)`);
    }
    if (c.blockSize !== this.blockSize) return mismatch('MISMATCH', `block_size ${c.blockSize}, expected ${this.blockSize}`);
    if (this.grid !== undefined && (c.chunkBytes !== this.grid.chunkBytes || c.chunkCount !== this.grid.chunkCount)) {
      return mismatch('MISMATCH', `chunk grid ${c.chunkCount} × ${c.chunkBytes} bytes, expected ${this.grid.chunkCount} × ${this.grid.chunkBytes}`);
    }
    // Structure (index range, placement, lengths) before the duplicate check, which relies on the index.
    const structure = checkChunkStructure(c);
    if (structure) return structure;
    if (this.grid !== undefined && (this.grid.arrived[c.chunkIndex >>> 5] & (1 << (c.chunkIndex & 31))) !== 0) {
      return mismatch('DUPLICATE', `chunk ${c.chunkIndex} already arrived`);
    }
    return checkChunkContent(c, { verifyChecksum: this.verifyChecksum, checkFinite: this.checkFinite });
  }

  /** Indices of the chunks still missing, ascending; null while no chunk arrived and no grid was announced (ask for all). */
  missingChunkIndices(): number[] | null {
    const grid = this.grid;
    if (grid === undefined) return null;
    const missing: number[] = [];
    for (let i = 0; i < grid.chunkCount; i++) if ((grid.arrived[i >>> 5] & (1 << (i & 31))) === 0) missing.push(i);
    return missing;
  }

  /** The transfer key of this tensor, point to point unless `collective` says otherwise. */
  transferKey(collective: Partial<Pick<TransferKey, 'collectiveId' | 'phase' | 'step'>> = {}): TransferKey {
    return {
      tensorId: this.expected.tensorId,
      round: this.expected.round,
      collectiveId: collective.collectiveId ?? 0,
      phase: collective.phase ?? AllReducePhase.ALL_REDUCE_PHASE_UNSPECIFIED,
      step: collective.step ?? 0,
    };
  }

  /** A RetransmitRequest body for what is missing, or undefined when complete. */
  retransmitRequest(transfer: TransferKey = this.transferKey()): RetransmitRequest | undefined {
    if (this.complete) return undefined;
    const missing = this.missingChunkIndices();
    return missing === null ? { transfer, missingChunks: [], allChunks: true } : { transfer, missingChunks: missing, allChunks: false };
  }

  /** A ChunkAck body granting `creditBytes` more bytes in flight. */
  chunkAck(creditBytes: number, transfer: TransferKey = this.transferKey()): ChunkAck {
    return { transfer, ackedBytes: this.bytesArrived, creditBytes, complete: this.complete };
  }
}
