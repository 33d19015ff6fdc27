// Validation of decoded messages against the rules documented field by field in proto/gossamer.proto.
// Every check returns a Rejection (a reason and a detail) instead of throwing; the decoder turns it
// into a counted WireError naming the sender.
import { crc32c } from './crc32c.js';
import { blockCount, bytesPerElement, dtypeName, firstNonFinite, isKnownDType } from './dtype.js';
import type { WireErrorReason } from './errors.js';
import {
  AllReducePhase,
  ViewStep,
  DType,
  ErrorCode,
  LeaveReason,
  ReduceOp,
  WorkerState,
  type AllReduceChunk,
  type Capabilities,
  type ChunkAck,
  type Envelope,
  type ErrorReport,
  type Heartbeat,
  type Join,
  type Leave,
  type RetransmitRequest,
  type TensorChunk,
  type TransferKey,
  type ViewChange,
} from './proto.js';
import { MAX_DETAIL_BYTES, MAX_ID_BYTES, PROTOCOL_VERSION } from './version.js';

/** Why a message is invalid; `tensorId`/`round`/`chunkIndex` locate a bad tensor chunk. */
export interface Rejection {
  reason: WireErrorReason;
  detail: string;
  tensorId?: number;
  round?: number;
  chunkIndex?: number;
}

/** What the receiver knows and wants checked. */
export interface ValidationOptions {
  /** This worker's run: envelopes of another run are rejected as WRONG_RUN. Unchecked if absent. */
  runId?: string;
  /** Members of the run: other senders are rejected as UNKNOWN_SENDER. Unchecked if absent. */
  knownSenders?: ReadonlySet<string> | ((sender: string) => boolean);
  /** Check tensor chunk CRC-32Cs (default true). */
  verifyChecksums?: boolean;
  /**
   * Check tensor chunk payloads for NaN/Inf (default false: the reassembler checks them where it
   * writes them, so each payload is scanned once). Inline vectors and scalars are always checked.
   */
  checkTensorFinite?: boolean;
  /**
   * The receiver's membership view: tensor traffic (chunks, acks, repair, error reports) of an older
   * view is rejected as STALE_EPOCH. Membership messages pass at any epoch (a newer one is how a
   * fenced worker learns it was removed). Unchecked if absent.
   */
  viewEpoch?: () => number;
}

/** The kinds that belong to one membership view: what a worker of an older view may not inject. */
export const VIEW_SCOPED_KINDS: ReadonlySet<string> = new Set(['tensorChunk', 'allReduceChunk', 'chunkAck', 'retransmitRequest', 'errorReport']);

/** Longest Join.software_version and Capabilities.adapter, in UTF-8 bytes. */
const MAX_VERSION_BYTES = 64;
const MAX_ADAPTER_BYTES = 256;

/** UTF-8 length of a string without encoding it. */
export function utf8ByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4; // surrogate pair
      i++;
    } else n += 3;
  }
  return n;
}

const reject = (reason: WireErrorReason, detail: string): Rejection => ({ reason, detail });

function checkText(value: string, field: string, maxBytes: number, required: boolean): Rejection | undefined {
  if (required && value.length === 0) return reject('MALFORMED', `${field} is empty`);
  const n = utf8ByteLength(value);
  if (n > maxBytes) return reject('MALFORMED', `${field} is ${n} bytes, more than ${maxBytes}`);
  return undefined;
}

/** A float that must be finite and ≥ 0 (counts, rates, times). */
function checkNonNegative(value: number, field: string): Rejection | undefined {
  if (!Number.isFinite(value)) return reject('NON_FINITE', `${field} is ${value}`);
  if (value < 0) return reject('OUT_OF_RANGE', `${field} is ${value}, below 0`);
  return undefined;
}

function checkEnum(value: number, known: Record<string, string | number>, field: string): Rejection | undefined {
  if (value === 0) return reject('MALFORMED', `${field} is unspecified`);
  if (typeof known[value] !== 'string') return reject('MALFORMED', `${field} ${value} is not a known value`);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Tensors
// ---------------------------------------------------------------------------------------------

/** The size and chunk grid of a tensor transfer (what a TensorChunk describes). */
export interface TensorGeometry {
  dtype: number;
  elementCount: number;
  totalBytes: number;
  blockSize: number;
  chunkBytes: number;
  chunkCount: number;
}

/** Number of chunks of the grid: max(1, ceil(totalBytes / chunkBytes)). */
export function chunkCountFor(totalBytes: number, chunkBytes: number): number {
  return Math.max(1, Math.ceil(totalBytes / chunkBytes));
}

/** Checks a tensor's dtype, length and chunk grid for self-consistency. */
export function checkTensorGeometry(g: TensorGeometry): Rejection | undefined {
  if (!isKnownDType(g.dtype)) return reject('MALFORMED', `dtype ${g.dtype} is not a known value`);
  const elementBytes = bytesPerElement(g.dtype);
  const expectedTotal = g.elementCount * elementBytes;
  if (g.totalBytes !== expectedTotal) {
    return reject('LENGTH_MISMATCH', `total_bytes ${g.totalBytes} != ${g.elementCount} ${dtypeName(g.dtype)} elements × ${elementBytes} = ${expectedTotal}`);
  }
  if (g.dtype === DType.DTYPE_INT8_BLOCK) {
    if (g.blockSize < 1) return reject('OUT_OF_RANGE', `int8 block_size is ${g.blockSize}, below 1`);
    if (g.chunkBytes % g.blockSize !== 0) return reject('LENGTH_MISMATCH', `chunk_bytes ${g.chunkBytes} is not a multiple of block_size ${g.blockSize}`);
  } else if (g.blockSize !== 0) {
    return reject('MALFORMED', `block_size ${g.blockSize} set for ${dtypeName(g.dtype)}`);
  }
  if (g.chunkBytes < 1) return reject('OUT_OF_RANGE', 'chunk_bytes is 0');
  if (g.chunkBytes % elementBytes !== 0) {
    return reject('LENGTH_MISMATCH', `chunk_bytes ${g.chunkBytes} is not a multiple of the ${elementBytes}-byte element`);
  }
  const expectedCount = chunkCountFor(g.totalBytes, g.chunkBytes);
  if (g.chunkCount !== expectedCount) {
    return reject('LENGTH_MISMATCH', `chunk_count ${g.chunkCount} != ${expectedCount} chunks of ${g.chunkBytes} bytes for ${g.totalBytes} bytes`);
  }
  return undefined;
}

/** Where a chunk's rejection happened, for the error. */
function atChunk(r: Rejection, c: TensorChunk): Rejection {
  return { ...r, tensorId: c.tensorId, round: c.round, chunkIndex: c.chunkIndex };
}

/**
 * Cheap structural checks of one chunk on its own: dtype, length and grid consistency, index range,
 * placement on the grid, payload and scales lengths, scale values. No checksum, no payload scan.
 */
export function checkChunkStructure(c: TensorChunk): Rejection | undefined {
  if (c.chunkCount < 1) return atChunk(reject('OUT_OF_RANGE', 'chunk_count is 0'), c);
  if (c.chunkIndex >= c.chunkCount) return atChunk(reject('OUT_OF_RANGE', `chunk_index ${c.chunkIndex} >= chunk_count ${c.chunkCount}`), c);
  const geometry = checkTensorGeometry(c);
  if (geometry) return atChunk(geometry, c);
  const slotStart = c.chunkIndex * c.chunkBytes;
  if (c.byteOffset !== slotStart) {
    return atChunk(reject('OVERLAP', `byte_offset ${c.byteOffset} is not chunk ${c.chunkIndex}'s slot, which starts at ${slotStart}`), c);
  }
  const slotLength = Math.min(c.chunkBytes, c.totalBytes - slotStart);
  if (c.payload.length < slotLength) {
    return atChunk(reject('TRUNCATED', `payload is ${c.payload.length} bytes, the slot ${slotLength}`), c);
  }
  if (c.payload.length > slotLength) {
    return atChunk(reject('OVERSIZED', `payload is ${c.payload.length} bytes, the slot ${slotLength}`), c);
  }
  if (c.dtype === DType.DTYPE_INT8_BLOCK) {
    const blocks = blockCount(slotLength, c.blockSize);
    if (c.scales.length !== 4 * blocks) {
      return atChunk(reject('LENGTH_MISMATCH', `scales are ${c.scales.length} bytes, ${blocks} blocks need ${4 * blocks}`), c);
    }
    const bad = firstBadScale(c.scales);
    if (bad) return atChunk(bad, c);
  } else if (c.scales.length !== 0) {
    return atChunk(reject('MALFORMED', `scales set for ${dtypeName(c.dtype)}`), c);
  }
  return undefined;
}

function firstBadScale(scales: Uint8Array): Rejection | undefined {
  const view = new DataView(scales.buffer, scales.byteOffset, scales.byteLength);
  for (let i = 0; i < scales.length; i += 4) {
    const s = view.getFloat32(i, true);
    if (!Number.isFinite(s)) return reject('NON_FINITE', `scale ${i / 4} is ${s}`);
    if (s < 0) return reject('OUT_OF_RANGE', `scale ${i / 4} is ${s}, below 0`);
  }
  return undefined;
}

/** Checksum (CRC-32C of payload ‖ scales) and, optionally, NaN/Inf of one chunk. */
export function checkChunkContent(c: TensorChunk, options: { verifyChecksum: boolean; checkFinite: boolean }): Rejection | undefined {
  if (options.verifyChecksum) {
    const crc = crc32c(c.scales, crc32c(c.payload));
    if (crc !== c.crc32c) {
      return atChunk(reject('CHECKSUM', `crc32c 0x${crc.toString(16).padStart(8, '0')} != 0x${c.crc32c.toString(16).padStart(8, '0')} in the message`), c);
    }
  }
  if (options.checkFinite) {
    const i = firstNonFinite(c.payload, c.dtype);
    if (i >= 0) return atChunk(reject('NON_FINITE', `element ${c.byteOffset / bytesPerElement(c.dtype) + i} is NaN or ±Inf`), c);
  }
  return undefined;
}

/** All checks of one tensor chunk on its own (no knowledge of what the receiver expects). */
export function validateTensorChunk(
  c: TensorChunk,
  options: { verifyChecksum?: boolean; checkFinite?: boolean } = {},
): Rejection | undefined {
  return (
    checkChunkStructure(c) ??
    checkChunkContent(c, { verifyChecksum: options.verifyChecksum ?? true, checkFinite: options.checkFinite ?? true })
  );
}

// ---------------------------------------------------------------------------------------------
// Bodies
// ---------------------------------------------------------------------------------------------

function checkCapabilities(c: Capabilities): Rejection | undefined {
  return (
    checkText(c.adapter, 'capabilities.adapter', MAX_ADAPTER_BYTES, false) ??
    checkNonNegative(c.stepsPerSecond, 'capabilities.steps_per_second') ??
    checkNonNegative(c.gflops, 'capabilities.gflops') ??
    checkNonNegative(c.linkMbps, 'capabilities.link_mbps')
  );
}

function checkJoin(m: Join): Rejection | undefined {
  if (m.capabilities == null) return reject('MALFORMED', 'join without capabilities');
  return checkCapabilities(m.capabilities) ?? checkText(m.softwareVersion, 'join.software_version', MAX_VERSION_BYTES, false);
}

function checkLeave(m: Leave): Rejection | undefined {
  return checkEnum(m.reason, LeaveReason, 'leave.reason') ?? checkText(m.detail, 'leave.detail', MAX_DETAIL_BYTES, false);
}

function checkHeartbeat(m: Heartbeat): Rejection | undefined {
  const bad = checkEnum(m.state, WorkerState, 'heartbeat.state');
  if (bad) return bad;
  if (m.intervalMs < 1) return reject('OUT_OF_RANGE', 'heartbeat.interval_ms is 0');
  return m.capabilities == null ? undefined : checkCapabilities(m.capabilities);
}

function checkTransferKey(t: TransferKey | null | undefined, field: string): Rejection | undefined {
  if (t == null) return reject('MALFORMED', `${field} is missing`);
  if (t.collectiveId === 0) {
    if (t.phase !== 0 || t.step !== 0) return reject('MALFORMED', `${field}: phase/step set for a point-to-point transfer`);
    return undefined;
  }
  return checkEnum(t.phase, AllReducePhase, `${field}.phase`);
}

function checkChunkAck(m: ChunkAck): Rejection | undefined {
  return checkTransferKey(m.transfer, 'chunk_ack.transfer');
}

function checkRetransmitRequest(m: RetransmitRequest): Rejection | undefined {
  const bad = checkTransferKey(m.transfer, 'retransmit_request.transfer');
  if (bad) return bad;
  if (m.allChunks && m.missingChunks.length > 0) return reject('MALFORMED', 'retransmit_request lists chunks and asks for all');
  if (!m.allChunks && m.missingChunks.length === 0) return reject('MALFORMED', 'retransmit_request asks for nothing');
  for (let i = 1; i < m.missingChunks.length; i++) {
    if (m.missingChunks[i] <= m.missingChunks[i - 1]) return reject('MALFORMED', 'retransmit_request.missing_chunks is not strictly increasing');
  }
  return undefined;
}

function checkAllReduceChunk(m: AllReduceChunk, options: ValidationOptions): Rejection | undefined {
  if (m.collectiveId === 0) return reject('OUT_OF_RANGE', 'all_reduce_chunk.collective_id is 0');
  const bad = checkEnum(m.phase, AllReducePhase, 'all_reduce_chunk.phase') ?? checkEnum(m.op, ReduceOp, 'all_reduce_chunk.op');
  if (bad) return bad;
  if (m.ringSize < 2) return reject('OUT_OF_RANGE', `all_reduce_chunk.ring_size is ${m.ringSize}, below 2`);
  if (m.step > m.ringSize - 2) return reject('OUT_OF_RANGE', `all_reduce_chunk.step ${m.step} > ring_size - 2 = ${m.ringSize - 2}`);
  if (m.segmentIndex >= m.ringSize) return reject('OUT_OF_RANGE', `all_reduce_chunk.segment_index ${m.segmentIndex} >= ring_size ${m.ringSize}`);
  if (m.contributions < 1 || m.contributions > m.ringSize) {
    return reject('OUT_OF_RANGE', `all_reduce_chunk.contributions ${m.contributions} is outside [1, ${m.ringSize}]`);
  }
  if (m.chunk == null) return reject('MALFORMED', 'all_reduce_chunk without chunk');
  const elementBytes = bytesPerElement(m.chunk.dtype);
  if (elementBytes !== 0 && m.segmentByteOffset % elementBytes !== 0) {
    return reject('LENGTH_MISMATCH', `all_reduce_chunk.segment_byte_offset ${m.segmentByteOffset} is not a multiple of the ${elementBytes}-byte element`);
  }
  return checkTensorChunkBody(m.chunk, options);
}

const MAX_VIEW_MEMBERS = 4096;

function checkViewChange(m: ViewChange): Rejection | undefined {
  const bad = checkEnum(m.step, ViewStep, 'view_change.step');
  if (bad) return bad;
  if (m.epoch === 0) return reject('OUT_OF_RANGE', 'view_change.epoch is 0');
  const proposer = checkText(m.proposer, 'view_change.proposer', MAX_ID_BYTES, true);
  if (proposer) return proposer;
  if (m.members.length > MAX_VIEW_MEMBERS) return reject('OUT_OF_RANGE', `view_change.members has ${m.members.length} ids, more than ${MAX_VIEW_MEMBERS}`);
  if (m.step !== ViewStep.VIEW_STEP_ACK && m.members.length === 0) return reject('MALFORMED', 'view_change.members is empty');
  for (let k = 0; k < m.members.length; k++) {
    const badId = checkText(m.members[k], 'view_change.members', MAX_ID_BYTES, true);
    if (badId) return badId;
    if (k > 0 && !(m.members[k - 1] < m.members[k])) return reject('MALFORMED', 'view_change.members is not sorted and distinct');
  }
  return undefined;
}

function checkErrorReport(m: ErrorReport): Rejection | undefined {
  return (
    checkEnum(m.code, ErrorCode, 'error_report.code') ??
    checkText(m.detail, 'error_report.detail', MAX_DETAIL_BYTES, false) ??
    (m.transfer == null ? undefined : checkTransferKey(m.transfer, 'error_report.transfer'))
  );
}

function checkTensorChunkBody(c: TensorChunk, options: ValidationOptions): Rejection | undefined {
  return validateTensorChunk(c, { verifyChecksum: options.verifyChecksums ?? true, checkFinite: options.checkTensorFinite ?? false });
}

function isKnownSender(sender: string, known: ValidationOptions['knownSenders']): boolean {
  if (known === undefined) return true;
  return typeof known === 'function' ? known(sender) : known.has(sender);
}

/**
 * Checks a decoded envelope: header first (version, ids, run, sender, time), then its one body.
 * Returns undefined when it is valid.
 */
export function validateEnvelope(e: Envelope, options: ValidationOptions = {}): Rejection | undefined {
  if (e.protocolVersion !== PROTOCOL_VERSION) {
    return reject('VERSION', `protocol_version ${e.protocolVersion}, this worker speaks ${PROTOCOL_VERSION}`);
  }
  const header =
    checkText(e.sender, 'sender', MAX_ID_BYTES, true) ??
    checkText(e.runId, 'run_id', MAX_ID_BYTES, true) ??
    (options.runId !== undefined && e.runId !== options.runId
      ? reject('WRONG_RUN', `run_id ${JSON.stringify(e.runId)}, this worker runs ${JSON.stringify(options.runId)}`)
      : undefined) ??
    (isKnownSender(e.sender, options.knownSenders) ? undefined : reject('UNKNOWN_SENDER', `${JSON.stringify(e.sender)} is not a member of the run`)) ??
    checkNonNegative(e.sendTimeMs, 'send_time_ms');
  if (header) return header;
  // Guards hand-built objects; a decoded envelope's `body` names a field that is set.
  if (e.body === undefined || (e as unknown as Record<string, unknown>)[e.body] == null) return reject('MALFORMED', 'envelope has no body');
  if (options.viewEpoch !== undefined && VIEW_SCOPED_KINDS.has(e.body)) {
    const current = options.viewEpoch();
    if ((e.viewEpoch ?? 0) < current) return reject('STALE_EPOCH', `${e.body} of view ${e.viewEpoch ?? 0}, this worker is in view ${current}`);
  }
  switch (e.body) {
    case 'join':
      return checkJoin(e.join);
    case 'leave':
      return checkLeave(e.leave);
    case 'heartbeat':
      return checkHeartbeat(e.heartbeat);
    case 'tensorChunk':
      return checkTensorChunkBody(e.tensorChunk, options);
    case 'chunkAck':
      return checkChunkAck(e.chunkAck);
    case 'retransmitRequest':
      return checkRetransmitRequest(e.retransmitRequest);
    case 'allReduceChunk':
      return checkAllReduceChunk(e.allReduceChunk, options);
    case 'errorReport':
      return checkErrorReport(e.errorReport);
    case 'viewChange':
      return checkViewChange(e.viewChange);
    default:
      return reject('MALFORMED', 'envelope has no body');
  }
}
