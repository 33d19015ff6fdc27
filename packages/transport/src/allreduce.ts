// Ring all-reduce (reduce-scatter then all-gather), written once and run by both transports over
// their own segment links, so the NATS and in-process results are bit-identical by construction.
//
// Canonical arithmetic (what "the" result of an all-reduce is, on every member and implementation):
// - the group (in the order given, which every member must pass identically) is a ring; rank r sends
//   to rank r+1 (mod n);
// - the tensor of N elements is cut into n segments, segment j = [floor(j·N/n), floor((j+1)·N/n));
// - segment j is summed in float32 in ring order starting at rank j:
//   ((x_j + x_{j+1}) + x_{j+2}) + … + x_{j-1}, each addition rounded to float32 (JavaScript adds in
//   float64 and the Float32Array store rounds once, which for a sum of two float32 values is exactly
//   IEEE float32 addition);
// - 'mean' then divides the sum by n, once, rounded to float32;
// - with a lossy wire dtype, every value that crosses the wire is encoded and decoded with
//   @gossamer/wire's codecs (partial sums in reduce-scatter, the final segment in all-gather), and
//   the owner of a reduced segment applies the same round trip to its own copy, so every member ends
//   with the same bits.
import { DType, decodeTensor, encodeTensor } from '@gossamer/wire';
import { TransportUsageError } from './errors.js';
import type { AllReduceOptions, TransferKey, WireDType } from './types.js';
import { checkCollectiveId, checkKey } from './util.js';

export type RingPhase = 'reduce-scatter' | 'all-gather';

/** One segment transfer of a ring all-reduce. */
export interface SegmentTransfer {
  readonly key: TransferKey;
  readonly collectiveId: number;
  readonly phase: RingPhase;
  /** Step within the phase, 0 … n−2. */
  readonly step: number;
  readonly ringSize: number;
  readonly segmentIndex: number;
  /** First element of the segment in the whole tensor. */
  readonly segmentOffset: number;
  readonly op: 'mean' | 'sum';
  /** How many members' values the segment holds (reduce-scatter step s: s + 1 before the receiver adds its own; all-gather: n). */
  readonly contributions: number;
  readonly dtype: WireDType;
  readonly blockSize: number;
  /** Milliseconds left before the whole all-reduce times out. */
  readonly timeoutMs: number;
  /** The membership view the all-reduce was planned in (see AllReduceOptions.viewEpoch). */
  readonly viewEpoch?: number;
}

/** What a transport provides to run the ring: send one segment to a peer, receive one from a peer. */
export interface SegmentLink {
  /** Sends `values` (a view of the segment), encoded in transfer.dtype; resolves when the peer has it. */
  sendSegment(to: string, transfer: SegmentTransfer, values: Float32Array): Promise<void>;
  /** Receives the segment `from` sent for `transfer`, decoded to float32, into `into` (the segment's length). */
  receiveSegment(from: string, transfer: SegmentTransfer, into: Float32Array): Promise<void>;
}

export interface RingAllReduceOptions {
  readonly self: string;
  readonly group: readonly string[];
  readonly key: TransferKey;
  readonly op: 'mean' | 'sum';
  readonly dtype: WireDType;
  readonly blockSize: number;
  readonly collectiveId: number;
  readonly timeoutMs: number;
  readonly viewEpoch?: number;
}

/**
 * A transport's all-reduce options resolved to the ring's: the key and collective id checked, and
 * the defaults both transports share filled in (mean, f32, the default int8 block, all members).
 */
export function ringOptions(
  self: string,
  members: readonly string[],
  key: TransferKey,
  options: AllReduceOptions,
  defaultTimeoutMs: number,
): RingAllReduceOptions {
  checkKey(key);
  const collectiveId = options.collectiveId ?? 1;
  checkCollectiveId(collectiveId);
  return {
    self,
    group: options.group ?? members,
    key,
    op: options.op ?? 'mean',
    dtype: options.dtype ?? 'f32',
    blockSize: options.blockSize ?? DEFAULT_INT8_BLOCK,
    collectiveId,
    timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
    viewEpoch: options.viewEpoch,
  };
}

export const WIRE_DTYPES: Readonly<Record<WireDType, DType>> = {
  f32: DType.DTYPE_F32,
  f16: DType.DTYPE_F16,
  bf16: DType.DTYPE_BF16,
  int8: DType.DTYPE_INT8_BLOCK,
};

/** Default int8 scale block (elements). */
export const DEFAULT_INT8_BLOCK = 256;

/** Element range [start, end) of segment j of an N-element tensor cut into n segments. */
export function segmentBounds(elementCount: number, ringSize: number, segment: number): [number, number] {
  return [Math.floor((segment * elementCount) / ringSize), Math.floor(((segment + 1) * elementCount) / ringSize)];
}

/** `values` after an encode/decode round trip through the wire dtype (identity for f32), in place. */
export function wireRoundTrip(values: Float32Array, dtype: WireDType, blockSize: number): void {
  if (dtype === 'f32' || values.length === 0) return;
  decodeTensor(encodeTensor(values, WIRE_DTYPES[dtype], dtype === 'int8' ? blockSize : 0), values);
}

/** Checks an all-reduce group: no duplicates, contains `self`. Returns self's rank. */
export function rankInGroup(self: string, group: readonly string[]): number {
  if (new Set(group).size !== group.length) throw new TransportUsageError(`all-reduce group has duplicates: ${group.join(',')}`);
  const rank = group.indexOf(self);
  if (rank < 0) throw new TransportUsageError(`all-reduce group ${group.join(',')} does not contain ${self}`);
  return rank;
}

const mod = (a: number, n: number): number => ((a % n) + n) % n;

/** Runs the ring all-reduce of `data` in place over `link` (see the file comment for the arithmetic). */
export async function ringAllReduce(link: SegmentLink, data: Float32Array, options: RingAllReduceOptions): Promise<Float32Array> {
  const { group, op, dtype } = options;
  const n = group.length;
  const rank = rankInGroup(options.self, group);
  if (n === 1) return data; // the sum and the mean of one member are its values, exactly
  const next = group[mod(rank + 1, n)];
  const prev = group[mod(rank - 1, n)];
  const deadline = performance.now() + options.timeoutMs;
  const N = data.length;
  const segment = (j: number): Float32Array => {
    const [start, end] = segmentBounds(N, n, j);
    return data.subarray(start, end);
  };
  const transfer = (phase: RingPhase, step: number, segmentIndex: number, contributions: number): SegmentTransfer => ({
    key: options.key,
    collectiveId: options.collectiveId,
    phase,
    step,
    ringSize: n,
    segmentIndex,
    segmentOffset: segmentBounds(N, n, segmentIndex)[0],
    op,
    contributions,
    dtype,
    blockSize: options.blockSize,
    timeoutMs: Math.max(1, deadline - performance.now()),
    viewEpoch: options.viewEpoch,
  });
  // Reduce-scatter: at step s rank r sends its partial sum of segment r−s and adds its own values to
  // the partial sum of segment r−s−1 received from rank r−1. Empty segments (N < n) are skipped by
  // both ends, which compute the same bounds.
  const scratch = new Float32Array(Math.ceil(N / n) + 1);
  for (let s = 0; s < n - 1; s++) {
    const sendIndex = mod(rank - s, n);
    const recvIndex = mod(rank - s - 1, n);
    const outgoing = segment(sendIndex);
    const own = segment(recvIndex);
    const incoming = scratch.subarray(0, own.length);
    await Promise.all([
      outgoing.length > 0 ? link.sendSegment(next, transfer('reduce-scatter', s, sendIndex, s + 1), outgoing) : undefined,
      own.length > 0 ? link.receiveSegment(prev, transfer('reduce-scatter', s, recvIndex, s + 1), incoming) : undefined,
    ]);
    for (let i = 0; i < own.length; i++) own[i] = incoming[i] + own[i];
  }
  // Rank r now holds the full sum of segment r+1.
  const owned = segment(mod(rank + 1, n));
  if (op === 'mean') for (let i = 0; i < owned.length; i++) owned[i] = owned[i] / n;
  wireRoundTrip(owned, dtype, options.blockSize);
  // All-gather: at step s rank r forwards segment r+1−s and receives segment r−s, in place.
  for (let s = 0; s < n - 1; s++) {
    const sendIndex = mod(rank + 1 - s, n);
    const recvIndex = mod(rank - s, n);
    const outgoing = segment(sendIndex);
    const incoming = segment(recvIndex);
    await Promise.all([
      outgoing.length > 0 ? link.sendSegment(next, transfer('all-gather', s, sendIndex, n), outgoing) : undefined,
      incoming.length > 0 ? link.receiveSegment(prev, transfer('all-gather', s, recvIndex, n), incoming) : undefined,
    ]);
  }
  return data;
}
