// The receiving side of tensor transfers: each chunk is checked and written straight into the
// destination (the caller's Float32Array when it gave one); duplicates, late and foreign chunks are
// rejected; progress is acknowledged (flow control, sender.ts); a transfer that makes no progress
// for `retransmitAfterMs` asks for its missing chunks (RetransmitRequest), so chunks lost in a server
// restart are recovered. A tensor may arrive before receive() asks for it: it waits, complete or
// not, until asked.
import {
  DType,
  ErrorCode,
  TensorReassembler,
  bytesOf,
  decodeTensor,
  type TensorChunk,
  type TransferKey as WireTransferKey,
  type WireErrorCounter,
} from '@gossamer/wire';
import { BadMessageError, TransportTimeoutError, TransportUsageError, type TransportError } from '../errors.js';
import { Pending, transferName } from '../util.js';
import { describe } from './keys.js';
import { repairBackoffMs, type NatsSettings } from './options.js';
import type { Publisher } from './publisher.js';

/** Finished incoming transfers remembered (to refuse their late chunks), at most. */
export const REMEMBERED_TRANSFERS = 65_536;

/** What the receiving side needs to know of the rest of the transport. */
export interface ReceiverHost {
  /** A membership view is being agreed (views.ts). */
  viewChanging(): boolean;
  /** Throws unless `peer` is a member this worker can exchange with. */
  ensurePeer(peer: string): void;
}

/** One tensor to receive. */
export interface InboundRequest {
  readonly from: string;
  readonly transfer: WireTransferKey;
  readonly into: Float32Array | undefined;
  /** Ring segments: the segment the step must carry. */
  readonly segmentIndex: number | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly viewEpoch: number | undefined;
}

/** What the receiving side expects of a transfer, once receive()/receiveSegment() was called. */
interface Expectation {
  readonly pending: Pending<Float32Array>;
  readonly into: Float32Array | undefined;
  readonly segmentIndex?: number;
  readonly viewEpoch: number | undefined;
}

/** A tensor arriving from one peer. */
interface Inbound {
  readonly from: string;
  readonly transfer: WireTransferKey;
  expectation: Expectation | undefined;
  reassembler: TensorReassembler | undefined;
  /** The float32 result when the bytes are reassembled into it directly (f32), or after decoding. */
  values: Float32Array | undefined;
  /** Staging bytes for lossy dtypes. */
  staging: { bytes: Uint8Array; scales: Uint8Array | undefined } | undefined;
  segmentIndex: number | undefined;
  complete: boolean;
  highestIndex: number;
  lastProgress: number;
  lastRequest: number;
  /** Requests sent without progress since (each doubles the wait before the next). */
  requests: number;
  ackedAtBytes: number;
}

function nameOf(from: string, t: WireTransferKey): string {
  return transferName(from, t.tensorId, t.round, t.collectiveId, t.phase, t.step);
}

export class InboundTransfers {
  private readonly inbound = new Map<string, Inbound>();
  /** Finished incoming transfers: 'done' (delivered or waiting) or 'abandoned' (timed out, failed). */
  private readonly finishedIn = new Map<string, 'done' | 'abandoned'>();
  private readonly finishedInOrder: string[] = [];

  constructor(
    private readonly link: Publisher,
    private readonly settings: NatsSettings,
    private readonly errors: WireErrorCounter,
    private readonly host: ReceiverHost,
  ) {}

  /** Transfers under way or waiting to be asked for. */
  get size(): number {
    return this.inbound.size;
  }

  /** The peers this worker is receiving a tensor from (incomplete transfers). */
  *sendersInProgress(): Iterable<string> {
    for (const i of this.inbound.values()) if (!i.complete) yield i.from;
  }

  /** Resolves with the tensor once it is complete (in `into` when given). */
  expect(r: InboundRequest): Promise<Float32Array> {
    const { from, transfer } = r;
    const name = nameOf(from, transfer);
    const finished = this.finishedIn.get(name);
    if (finished !== undefined) throw new TransportUsageError(`${describe(transfer)} from ${from} was already ${finished === 'done' ? 'received' : 'abandoned'}`, from);
    let i = this.inbound.get(name);
    if (i?.expectation !== undefined) throw new TransportUsageError(`${describe(transfer)} from ${from} is already being received`, from);
    if (i === undefined || !i.complete) this.host.ensurePeer(from); // a complete tensor is delivered even if its sender left since
    if (i === undefined) {
      i = this.newInbound(from, transfer);
      this.inbound.set(name, i);
    }
    const inbound = i;
    const pending = new Pending<Float32Array>({
      timeoutMs: r.timeoutMs,
      signal: r.signal,
      timeoutError: () => {
        const got = inbound.reassembler ? `${inbound.reassembler.receivedChunks} of ${inbound.reassembler.chunkCount} chunks` : 'nothing';
        return new TransportTimeoutError(`${describe(transfer)} from ${from}: ${got} within ${r.timeoutMs} ms`, from, r.timeoutMs);
      },
      onSettle: () => {
        // Resolved: delivered. Rejected: the transfer is abandoned and its late chunks are refused.
        if (this.inbound.get(name) === inbound) this.finish(name, inbound.complete ? 'done' : 'abandoned');
      },
    });
    inbound.expectation = { pending, into: r.into, segmentIndex: r.segmentIndex, viewEpoch: r.viewEpoch };
    if (inbound.reassembler !== undefined) {
      const problem = this.checkExpectation(inbound, inbound.reassembler.expected.elementCount);
      if (problem !== undefined) this.failInbound(name, inbound, problem);
      else if (inbound.complete) this.deliver(inbound);
    }
    return pending.promise;
  }

  private newInbound(from: string, transfer: WireTransferKey): Inbound {
    const now = performance.now();
    return {
      from,
      transfer,
      expectation: undefined,
      reassembler: undefined,
      values: undefined,
      staging: undefined,
      segmentIndex: undefined,
      complete: false,
      highestIndex: -1,
      lastProgress: now,
      lastRequest: now,
      requests: 0,
      ackedAtBytes: 0,
    };
  }

  /** Why the arriving tensor cannot satisfy the expectation, if it cannot. */
  private checkExpectation(i: Inbound, elementCount: number): string | undefined {
    const e = i.expectation;
    if (e === undefined) return undefined;
    if (e.into !== undefined && e.into.length !== elementCount) return `tensor of ${elementCount} elements, the destination holds ${e.into.length}`;
    if (e.segmentIndex !== undefined && i.segmentIndex !== undefined && i.segmentIndex !== e.segmentIndex) {
      return `segment ${i.segmentIndex}, expected segment ${e.segmentIndex}`;
    }
    return undefined;
  }

  onChunk(from: string, chunk: TensorChunk, transfer: WireTransferKey, segmentIndex: number | undefined): void {
    const name = nameOf(from, transfer);
    const finished = this.finishedIn.get(name);
    if (finished !== undefined) {
      if (finished === 'done') {
        this.errors.record({ reason: 'DUPLICATE', sender: from, detail: `chunk ${chunk.chunkIndex} of a transfer already complete`, kind: 'tensorChunk' });
        // The final ack may have been lost: repeat it so the sender stops.
        this.link.toPeer(from, 'chunkAck', { transfer, ackedBytes: chunk.totalBytes, creditBytes: this.settings.windowBytes, complete: true });
      } else {
        this.errors.record({ reason: 'WRONG_ROUND', sender: from, detail: `late chunk ${chunk.chunkIndex} of an abandoned transfer`, kind: 'tensorChunk' });
        // While a view is being agreed the transfer was abandoned by the seal, and the sender's side
        // fails with the view change too (or it is removed): a report would fail it as a bad message.
        if (!this.host.viewChanging()) this.reportError(from, transfer, ErrorCode.ERROR_CODE_WRONG_ROUND, 'the receiver abandoned this transfer (timeout or error)');
      }
      return;
    }
    let i = this.inbound.get(name);
    if (i === undefined) {
      i = this.newInbound(from, transfer);
      this.inbound.set(name, i);
    }
    if (i.reassembler === undefined) {
      // The first chunk fixes the tensor's geometry; everything later must agree with it.
      const totalBytes = chunk.totalBytes;
      if (totalBytes > this.settings.maxTensorBytes) {
        this.errors.record({ reason: 'OVERSIZED', sender: from, detail: `tensor of ${totalBytes} bytes, the limit is ${this.settings.maxTensorBytes}`, kind: 'tensorChunk' });
        this.failInbound(name, i, `tensor of ${totalBytes} bytes exceeds this worker's limit of ${this.settings.maxTensorBytes}`);
        return;
      }
      i.segmentIndex = segmentIndex;
      const problem = this.checkExpectation(i, chunk.elementCount);
      if (problem !== undefined) {
        this.errors.record({ reason: 'LENGTH_MISMATCH', sender: from, detail: problem, kind: 'tensorChunk' });
        this.failInbound(name, i, problem);
        return;
      }
      const into = i.expectation?.into;
      let destination: Uint8Array;
      let scalesDestination: Uint8Array | undefined;
      if (chunk.dtype === DType.DTYPE_F32) {
        i.values = into ?? new Float32Array(chunk.elementCount);
        destination = bytesOf(i.values); // reassembly straight into the result
      } else {
        destination = new Uint8Array(totalBytes);
        scalesDestination = chunk.blockSize > 0 ? new Uint8Array(4 * Math.ceil(chunk.elementCount / chunk.blockSize)) : undefined;
        i.staging = { bytes: destination, scales: scalesDestination };
      }
      i.reassembler = new TensorReassembler(
        { tensorId: transfer.tensorId, round: transfer.round, dtype: chunk.dtype, elementCount: chunk.elementCount, blockSize: chunk.blockSize, from },
        { destination, scalesDestination, verifyChecksum: false, errors: this.errors },
      );
    } else if (segmentIndex !== i.segmentIndex) {
      this.errors.record({ reason: 'MISMATCH', sender: from, detail: `segment ${segmentIndex} in a transfer of segment ${i.segmentIndex}`, kind: 'allReduceChunk' });
      return;
    }
    const r = i.reassembler;
    const result = r.accept(chunk, from);
    const now = performance.now();
    if (!result.ok) {
      if (result.error.reason === 'DUPLICATE') {
        // A probe or a repeat: tell the sender where we stand and what is still missing.
        this.sendAck(i, false);
        this.requestMissing(i, now, true);
      }
      return;
    }
    i.lastProgress = now;
    i.requests = 0;
    const gap = chunk.chunkIndex > i.highestIndex + 1;
    i.highestIndex = Math.max(i.highestIndex, chunk.chunkIndex);
    if (result.complete) {
      i.complete = true;
      if (i.staging !== undefined) {
        const target = i.expectation?.into ?? new Float32Array(chunk.elementCount);
        i.values = decodeTensor({ dtype: chunk.dtype, elementCount: chunk.elementCount, blockSize: chunk.blockSize, bytes: i.staging.bytes, scales: i.staging.scales ?? new Uint8Array(0) }, target);
        i.staging = undefined;
      }
      this.sendAck(i, true);
      if (i.expectation !== undefined) this.deliver(i);
      return;
    }
    if (r.receivedBytes - i.ackedAtBytes >= this.settings.ackEveryBytes) this.sendAck(i, false);
    // One publisher's messages arrive in order, so a gap means loss (e.g. across a reconnect).
    if (gap) this.requestMissing(i, now, false);
  }

  /** Asks again for what stalled transfers miss (called every tick). */
  repair(now: number): void {
    for (const i of this.inbound.values()) {
      if (
        !i.complete &&
        i.reassembler !== undefined &&
        now - i.lastProgress > this.settings.retransmitAfterMs &&
        now - i.lastRequest > repairBackoffMs(this.settings, i.requests)
      ) {
        this.requestMissing(i, now, true);
      }
    }
  }

  private sendAck(i: Inbound, complete: boolean): void {
    const r = i.reassembler;
    if (r === undefined) return;
    i.ackedAtBytes = r.receivedBytes;
    this.link.toPeer(i.from, 'chunkAck', { transfer: i.transfer, ackedBytes: r.receivedBytes, creditBytes: this.settings.windowBytes, complete });
  }

  /** Asks the sender for what is missing, at most once per retransmitAfterMs/2 (or regardless, on a probe). */
  private requestMissing(i: Inbound, now: number, probe: boolean): void {
    if (i.complete || (!probe && now - i.lastRequest < this.settings.retransmitAfterMs / 2)) return;
    const missing = i.reassembler?.missingChunkIndices() ?? null;
    if (missing !== null && missing.length === 0) return;
    i.lastRequest = now;
    i.requests++;
    this.link.counters.retransmitRequests++;
    // Only chunks below the highest seen are known to be lost; later ones may still be on their way.
    const lost = missing === null ? [] : missing.filter((index) => index < i.highestIndex || probe);
    this.link.toPeer(i.from, 'retransmitRequest', { transfer: i.transfer, missingChunks: lost.length > 0 ? lost : (missing ?? []), allChunks: missing === null });
  }

  private deliver(i: Inbound): void {
    const e = i.expectation;
    if (e === undefined || i.values === undefined) return;
    if (e.into !== undefined && e.into !== i.values) e.into.set(i.values);
    e.pending.resolve(e.into ?? i.values);
  }

  private failInbound(name: string, i: Inbound, problem: string): void {
    this.finish(name, 'abandoned');
    this.reportError(i.from, i.transfer, ErrorCode.ERROR_CODE_LENGTH_MISMATCH, problem);
    i.expectation?.pending.reject(new BadMessageError(`${describe(i.transfer)} from ${i.from}: ${problem}`, i.from));
  }

  private finish(name: string, state: 'done' | 'abandoned'): void {
    this.inbound.delete(name);
    if (!this.finishedIn.has(name)) this.finishedInOrder.push(name);
    this.finishedIn.set(name, state);
    // Bounded memory: forget the oldest finished transfers.
    while (this.finishedInOrder.length > REMEMBERED_TRANSFERS) this.finishedIn.delete(this.finishedInOrder.shift() as string);
  }

  private reportError(to: string, transfer: WireTransferKey, code: ErrorCode, detail: string): void {
    this.link.toPeer(to, 'errorReport', { code, detail: detail.slice(0, 1000), aboutSeq: 0, transfer, fatal: false });
  }

  /** Fails what waits on `peer`, which left; its partial data is dropped (useless now). */
  failPeer(peer: string, error: () => TransportError): void {
    for (const [name, i] of [...this.inbound]) {
      if (i.from !== peer) continue;
      if (i.expectation !== undefined) i.expectation.pending.reject(error());
      else if (!i.complete) this.inbound.delete(name);
    }
  }

  /** Fails the receives of a membership view (a view change seals them). */
  failViewScoped(error: () => TransportError): void {
    for (const i of [...this.inbound.values()]) if (i.expectation?.viewEpoch !== undefined) i.expectation.pending.reject(error());
  }

  failAll(error: () => TransportError): void {
    for (const i of [...this.inbound.values()]) i.expectation?.pending.reject(error());
  }

  /** Drops every transfer (the transport is closed). */
  clear(): void {
    this.inbound.clear();
  }

  /**
   * A new view is a new space of transfers (a round redone in it reuses its keys): drops the view's
   * transfers, those no receive has asked for yet, and the memory of finished ones.
   */
  startView(): void {
    for (const [name, i] of [...this.inbound]) if (i.expectation === undefined || i.expectation.viewEpoch !== undefined) this.inbound.delete(name);
    this.finishedIn.clear();
    this.finishedInOrder.length = 0;
  }
}
