// The sending side of tensor transfers. A tensor travels as TensorChunk envelopes (AllReduceChunk
// for ring segments) on a fixed chunk grid sized under the server's max_payload.
// - Flow control: at most `windowBytes` unacknowledged bytes per transfer; the receiver acks every
//   windowBytes/4 and at completion, so a receiver that stops reading (busy event loop) holds back
//   its senders instead of being cut off by the server as a slow consumer.
// - Repair: a sender that hears nothing re-sends its last chunk as a probe (answered by an ack or a
//   retransmit request), and re-sends what a retransmit request asks for.
// - A send resolves when the receiver acknowledges the complete tensor, so a lost chunk can always
//   be re-sent from the caller's buffer (which must not change until then).
import { DType, bytesOf, chunkAt, encodeTensor, firstNonFinite, planChunks, type ChunkPlan, type EnvelopeBodies, type TransferKey as WireTransferKey } from '@gossamer/wire';
import { WIRE_DTYPES } from '../allreduce.js';
import type { TokenBucket } from '../bandwidth.js';
import { BadMessageError, TransportTimeoutError, TransportUsageError, ViewChangedError, type TransportError } from '../errors.js';
import type { WireDType } from '../types.js';
import { Pending, transferName } from '../util.js';
import { describe, type CollectiveHeader } from './keys.js';
import { repairBackoffMs, type NatsSettings } from './options.js';
import type { Publisher } from './publisher.js';

/** One tensor to send. */
export interface OutboundRequest {
  readonly to: string;
  readonly transfer: WireTransferKey;
  readonly data: Float32Array;
  readonly dtype: WireDType;
  readonly blockSize: number;
  /** Ring segments: the collective fields every chunk carries. */
  readonly collective: CollectiveHeader | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  readonly viewEpoch: number | undefined;
}

/** What the sending side needs to know of the rest of the transport. */
export interface SenderHost {
  isClosed(): boolean;
  /** A membership view is being agreed (views.ts). */
  viewChanging(): boolean;
  /** When `peer` was last heard from (ms), if it is a member. */
  lastHeard(peer: string): number | undefined;
  /** `peer`'s heartbeat period, ms. */
  intervalOf(peer: string): number;
}

/** A tensor being sent to one peer. */
interface Outbound {
  readonly to: string;
  readonly transfer: WireTransferKey;
  readonly plan: ChunkPlan;
  readonly bytes: Uint8Array;
  readonly scales: Uint8Array | undefined;
  readonly collective: CollectiveHeader | undefined;
  readonly pending: Pending<void>;
  readonly viewEpoch: number | undefined;
  /** Next chunk never sent yet. */
  nextIndex: number;
  /** Bytes of chunks sent at least once. */
  sentBytes: number;
  ackedBytes: number;
  creditBytes: number;
  resend: Set<number>;
  lastHeard: number;
  lastSent: number;
  /** Probes sent since the receiver was last heard (each doubles the wait before the next). */
  probes: number;
  pumping: boolean;
}

export class OutboundTransfers {
  private readonly outbound = new Map<string, Outbound>();

  constructor(
    private readonly link: Publisher,
    private readonly settings: NatsSettings,
    private readonly bucket: TokenBucket | undefined,
    private readonly host: SenderHost,
  ) {}

  /** Transfers under way. */
  get size(): number {
    return this.outbound.size;
  }

  /** Starts sending; resolves when the receiver acknowledges the whole tensor. */
  start(r: OutboundRequest): Promise<void> {
    const { to, transfer, data, dtype } = r;
    const bad = firstNonFinite(bytesOf(data), DType.DTYPE_F32);
    if (bad >= 0) throw new BadMessageError(`element ${bad} of the tensor for ${to} is ${data[bad]}: only finite values can be sent`, to);
    const wireDType = WIRE_DTYPES[dtype];
    // f32 goes out straight from the caller's buffer (one copy, into each message); other dtypes are
    // encoded once here.
    const encoded = encodeTensor(data, wireDType, dtype === 'int8' ? r.blockSize : 0);
    // A finite float32 can still overflow f16 (|x| > 65504); the receiver would refuse it forever.
    const badEncoded = dtype === 'f16' || dtype === 'bf16' ? firstNonFinite(encoded.bytes, wireDType) : -1;
    if (badEncoded >= 0) throw new BadMessageError(`element ${badEncoded} of the tensor for ${to} is not finite on the wire (${dtype}): only finite values can be sent`, to);
    const plan = planChunks(
      { tensorId: transfer.tensorId, round: transfer.round, dtype: wireDType, elementCount: data.length, blockSize: encoded.blockSize },
      { runId: this.link.runId, sender: this.link.id, maxPayload: this.settings.maxPayload },
    );
    const name = transferName(to, transfer.tensorId, transfer.round, transfer.collectiveId, transfer.phase, transfer.step);
    if (this.outbound.has(name)) throw new TransportUsageError(`${name} is already being sent`, to);
    const pending = new Pending<void>({
      timeoutMs: r.timeoutMs,
      signal: r.signal,
      timeoutError: () => new TransportTimeoutError(`${to} did not acknowledge ${describe(transfer)} within ${r.timeoutMs} ms`, to, r.timeoutMs),
      onSettle: () => this.outbound.delete(name),
    });
    const now = performance.now();
    const o: Outbound = {
      to,
      transfer,
      plan,
      bytes: encoded.bytes,
      scales: dtype === 'int8' ? encoded.scales : undefined,
      collective: r.collective,
      pending,
      viewEpoch: r.viewEpoch,
      nextIndex: 0,
      sentBytes: 0,
      ackedBytes: 0,
      creditBytes: this.settings.windowBytes,
      resend: new Set(),
      lastHeard: now,
      lastSent: now,
      probes: 0,
      pumping: false,
    };
    this.outbound.set(name, o);
    void this.pump(o);
    return pending.promise;
  }

  /** Sends what the window and the repair queue allow; re-entered on every ack and request. */
  private async pump(o: Outbound): Promise<void> {
    if (o.pumping) return;
    o.pumping = true;
    try {
      while (!o.pending.settled && !this.host.isClosed()) {
        let index: number;
        if (o.resend.size > 0) {
          index = o.resend.values().next().value as number;
          o.resend.delete(index);
          this.link.counters.chunksRetransmitted++;
        } else if (o.nextIndex < o.plan.chunkCount && o.sentBytes - o.ackedBytes < o.creditBytes) {
          index = o.nextIndex++;
          o.sentBytes += Math.min(o.plan.chunkBytes, o.plan.totalBytes - index * o.plan.chunkBytes);
        } else break;
        await this.sendChunk(o, index);
      }
    } finally {
      o.pumping = false;
    }
  }

  private async sendChunk(o: Outbound, index: number): Promise<void> {
    const chunk = chunkAt(o.plan, o.bytes, index, o.scales);
    if (this.bucket !== undefined) {
      await this.bucket.take(chunk.payload.length + 200);
      if (o.pending.settled || this.host.isClosed()) return;
    }
    if (o.collective === undefined) this.link.data(o.to, 'tensorChunk', chunk);
    else this.link.data(o.to, 'allReduceChunk', { ...o.collective, chunk });
    o.lastSent = performance.now();
  }

  private find(from: string, t: WireTransferKey): Outbound | undefined {
    return this.outbound.get(transferName(from, t.tensorId, t.round, t.collectiveId, t.phase, t.step));
  }

  onAck(from: string, ack: EnvelopeBodies['chunkAck']): void {
    const o = this.find(from, ack.transfer);
    if (o === undefined) return; // already complete (a repeated final ack) or never sent
    o.lastHeard = performance.now();
    o.probes = 0;
    o.ackedBytes = Math.max(o.ackedBytes, ack.ackedBytes);
    o.creditBytes = ack.creditBytes;
    if (ack.complete) o.pending.resolve();
    else void this.pump(o);
  }

  onRetransmitRequest(from: string, request: EnvelopeBodies['retransmitRequest']): void {
    const o = this.find(from, request.transfer);
    if (o === undefined) return;
    o.lastHeard = performance.now();
    o.probes = 0;
    if (request.allChunks) for (let i = 0; i < o.nextIndex; i++) o.resend.add(i);
    else for (const i of request.missingChunks) if (i < o.nextIndex) o.resend.add(i);
    void this.pump(o);
  }

  /** @param reporterEpoch the view epoch of the report's envelope. */
  onErrorReport(from: string, report: EnvelopeBodies['errorReport'], reporterEpoch?: number): void {
    const t = report.transfer;
    if (t == null) return;
    const o = this.find(from, t);
    if (o === undefined) return;
    // A transfer of a view that is changing (here, or already at the receiver: its report carries a
    // newer epoch) was abandoned by the change, not refused: the operation is redone in the new view.
    const epoch = o.viewEpoch;
    if (epoch !== undefined && (this.host.viewChanging() || (reporterEpoch ?? epoch) > epoch)) {
      o.pending.reject(new ViewChangedError(`${from} abandoned ${describe(t)}: the membership view ${epoch} is changing`, epoch));
      return;
    }
    o.pending.reject(new BadMessageError(`${from} rejected ${describe(t)}: ${report.detail}`, from));
  }

  /** Probes receivers gone silent (called every tick). */
  probe(now: number): void {
    for (const o of this.outbound.values()) {
      // Probe only a receiver that has shown since our last send that it is reading (a heartbeat
      // heard after it): one whose event loop is blocked sends nothing, and probes (a full chunk
      // each) would only pile up in its server-side backlog until the server cut it as a slow
      // consumer. A running receiver heartbeats, so a lost tail is still probed within a beat.
      const heard = this.host.lastHeard(o.to);
      const receiverRunning = heard !== undefined && heard > o.lastSent && now - heard < 1.5 * this.host.intervalOf(o.to);
      if (receiverRunning && o.nextIndex > 0 && !o.pumping && now - o.lastSent > this.settings.retransmitAfterMs && now - o.lastHeard > repairBackoffMs(this.settings, 2 * o.probes)) {
        // Silence: re-send the last chunk sent; the receiver answers with an ack or a request.
        o.lastHeard = now;
        o.probes++;
        o.resend.add(o.nextIndex - 1);
        void this.pump(o);
      }
    }
  }

  /** Back from a reconnect: every transfer may probe at once. */
  probeAllSoon(): void {
    for (const o of this.outbound.values()) o.lastHeard = 0;
  }

  /** Fails the transfers to `peer`. */
  failPeer(peer: string, error: () => TransportError): void {
    for (const o of [...this.outbound.values()]) if (o.to === peer) o.pending.reject(error());
  }

  /** Fails the transfers of a membership view (a view change seals them). */
  failViewScoped(error: () => TransportError): void {
    for (const o of [...this.outbound.values()]) if (o.viewEpoch !== undefined) o.pending.reject(error());
  }

  failAll(error: () => TransportError): void {
    for (const o of [...this.outbound.values()]) o.pending.reject(error());
  }
}
