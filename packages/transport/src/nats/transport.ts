// The NATS transport, on the official v3 client: over TCP in Node (@nats-io/transport-node) or over
// a websocket in a browser (@nats-io/nats-core's wsconnect), the same subjects and wire format either
// way. This module reaches no Node API: the package's entries choose how to connect (index.ts, browser.ts).
//
// Core NATS is at-most-once: a server restart or a cut slow consumer loses messages silently. This
// transport turns it into "complete, checksummed, exactly once, or a typed error" per (peer, key).
// Its parts, one concern each (laid out as the nats.js client is):
//   subjects.ts     the subject scheme and what each subject may carry
//   options.ts      options, their defaults and validation; opening the connection
//   publisher.ts    envelopes out, stamped with this worker's run, id, sequence and view epoch
//   sender.ts       a tensor out: chunk grid, send window, probes and retransmission
//   receiver.ts     a tensor in: reassembly, acks, requests for missing chunks
//   liveness.ts     membership and failure detection (ring heartbeats, monitor.ts; suspicion notices)
//   keys.ts         the transport's keys and view steps as wire messages
//   permissions.ts  a server's refusal of a publish or subscription, with the fix
// This file holds the connection and the Transport interface over them, and dispatches what
// arrives; the view agreement lives in views.ts.
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import {
  EnvelopeDecoder,
  LeaveReason,
  VIEW_SCOPED_KINDS,
  ViewStep,
  WireErrorCounter,
  type Capabilities,
  type Envelope,
  type TransferKey as WireTransferKey,
  type WireErrorReason,
} from '@gossamer/wire';
import { DEFAULT_INT8_BLOCK, ringAllReduce, ringOptions, type SegmentLink, type SegmentTransfer } from '../allreduce.js';
import { TokenBucket } from '../bandwidth.js';
import { PeerLeftError, TransportClosedError, TransportError, TransportTimeoutError, TransportUsageError, ViewChangedError, type FencedError, type TransportPermissionError } from '../errors.js';
import type { AllReduceOptions, CloseOptions, LeaveKind, MembershipEvent, ReceiveOptions, SendOptions, TransferKey, Transport, TransportStats } from '../types.js';
import { BoundedSet, checkKey, held, sortedIds } from '../util.js';
import { ViewKeeper, type MembershipView, type ViewHost, type ViewMessage } from '../views.js';
import { collectiveHeader, pointToPoint, segmentTransfer, viewChangeOf, viewMessageOf } from './keys.js';
import { Liveness } from './liveness.js';
import { checkOptions, openConnection, resolveSettings, type NatsSettings, type NatsTransportOptions } from './options.js';
import { permissionRefusal } from './permissions.js';
import { Publisher, newCounters } from './publisher.js';
import { InboundTransfers, REMEMBERED_TRANSFERS } from './receiver.js';
import { OutboundTransfers, type OutboundRequest } from './sender.js';
import { SUBJECT_KINDS, natsSubjects, subjectKindOf, subjectSenderOf } from './subjects.js';

/** A Transport over NATS. Create it with NatsTransport.connect(). */
export class NatsTransport implements Transport {
  readonly id: string;
  readonly runId: string;
  /** Largest message this transport sends (≤ the server's max_payload). */
  readonly maxPayload: number;
  readonly views: ViewKeeper;
  private readonly nc: NatsConnection;
  private readonly settings: NatsSettings;
  private readonly counters = newCounters();
  private readonly link: Publisher;
  private readonly errors: WireErrorCounter;
  private readonly decoder: EnvelopeDecoder;
  private readonly allowlist: ReadonlySet<string> | undefined;
  private readonly liveness: Liveness;
  private readonly sender: OutboundTransfers;
  private readonly receiver: InboundTransfers;
  /** Tensor traffic of a view this worker has not installed yet (replayed when it does). */
  private readonly future: { msg: Msg; kind: string }[] = [];
  private readonly sentKeys = new BoundedSet<string>(REMEMBERED_TRANSFERS);
  private readonly subscriptions: Subscription[] = [];
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private round = 0;
  private disconnected = false;
  private closed = false;
  /** Set when the server refuses this worker's publish or subscription (see refused()). */
  private permissionError: TransportPermissionError | undefined;
  private tickMs = 50;

  private constructor(nc: NatsConnection, options: NatsTransportOptions) {
    this.nc = nc;
    this.id = options.id;
    this.runId = options.runId;
    this.allowlist = options.peers ? new Set(options.peers) : undefined;
    this.settings = resolveSettings(options, nc.info?.max_payload ?? 1024 * 1024);
    this.maxPayload = this.settings.maxPayload;
    const capabilities: Capabilities = {
      adapter: '',
      softwareAdapter: false,
      maxBufferMib: 0,
      memoryMib: 0,
      stepsPerSecond: 0,
      gflops: 0,
      linkMbps: 0,
      ...options.capabilities,
    };
    this.errors = new WireErrorCounter({ onError: options.onWireError });
    const joining = options.join === true;
    const firstView = joining ? [this.id] : sortedIds(new Set([this.id, ...(options.peers ?? [])]));
    this.views = new ViewKeeper(this.id, { epoch: 0, members: firstView, startRound: 0 }, this.viewHost, { ackTimeoutMs: this.settings.peerTimeoutMs, ...options.views });
    this.link = new Publisher(nc, this.runId, this.id, () => this.views.current().epoch, this.counters);
    this.liveness = new Liveness(this.id, this.link, this.views, this.settings, capabilities, joining, {
      isClosed: () => this.closed,
      isDisconnected: () => this.disconnected,
      flush: () => this.nc.flush(),
      round: () => this.round,
      exchanging: () => this.sender.size + this.receiver.size > 0,
      receivingFrom: () => this.receiver.sendersInProgress(),
      failWith: (peer, reason) => this.failWith(peer, reason),
    });
    const bucket = options.bandwidth ? new TokenBucket(options.bandwidth) : undefined;
    this.sender = new OutboundTransfers(this.link, this.settings, bucket, {
      isClosed: () => this.closed,
      viewChanging: () => this.views.changing,
      lastHeard: (peer) => this.liveness.lastHeard(peer),
      intervalOf: (peer) => this.liveness.intervalOf(peer),
    });
    this.receiver = new InboundTransfers(this.link, this.settings, this.errors, {
      viewChanging: () => this.views.changing,
      ensurePeer: (peer) => this.liveness.ensurePeer(peer),
    });
    this.decoder = new EnvelopeDecoder({
      viewEpoch: () => this.views.current().epoch,
      runId: this.runId,
      // With open membership a stranger may ask to join: it is judged by the membership rules (admitted()).
      knownSenders: options.openMembership === true ? undefined : this.allowlist,
      maxMessageBytes: this.maxPayload,
      errors: this.errors,
    });
  }

  /**
   * Connects, subscribes, announces this worker (Join) and starts heartbeats. The connection is opened
   * with `options.connect`, or else the entry's default (TCP in Node, websocket in a browser).
   */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    checkOptions(options);
    const nc = await openConnection(options);
    try {
      return await NatsTransport.startOn(nc, options);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * A transport over a connection the caller opened (over TCP or a websocket), which it then owns and
   * closes. Open it with `noEcho: true` (as connect() does): the transport needs none of its own messages.
   */
  static async open(nc: NatsConnection, options: NatsTransportOptions): Promise<NatsTransport> {
    checkOptions(options);
    return NatsTransport.startOn(nc, options);
  }

  /** connect() and open() after checking the options. */
  private static async startOn(nc: NatsConnection, options: NatsTransportOptions): Promise<NatsTransport> {
    const transport = new NatsTransport(nc, options);
    await transport.start();
    return transport;
  }

  private async start(): Promise<void> {
    for (const subject of natsSubjects.subscriptions(this.runId, this.id)) {
      const kind = subjectKindOf(subject);
      this.subscriptions.push(this.nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : this.onMessage(msg, kind)) }));
    }
    await this.nc.flush(); // subscriptions are in place before anyone hears of us
    this.liveness.announce();
    this.tickMs = Math.max(5, Math.min(50, Math.floor(this.settings.retransmitAfterMs / 4)));
    this.liveness.startClock(performance.now());
    this.timers.push(setInterval(() => this.tick(), this.tickMs));
    this.timers.push(setInterval(() => this.liveness.heartbeat(), this.settings.heartbeatIntervalMs));
    for (const t of this.timers) t.unref?.(); // Node only: a browser's timers are plain numbers
    void this.watchStatus();
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') this.disconnected = true;
      else if (status.type === 'error' && status.error.name === 'PermissionViolationError') this.refused(status.error);
      else if (status.type === 'reconnect') {
        this.disconnected = false;
        this.counters.reconnects++;
        this.liveness.reconnected(performance.now());
        this.sender.probeAllSoon();
      }
    }
  }

  members(): readonly string[] {
    return this.closed ? [] : this.liveness.members();
  }

  membership(): AsyncIterable<MembershipEvent> {
    return this.liveness.membership();
  }

  /** Resolves when every worker of `ids` is a member; rejects with TransportTimeoutError after `timeoutMs`. */
  async waitForPeers(ids: readonly string[], timeoutMs = 10_000): Promise<void> {
    const missing = () => ids.filter((id) => id !== this.id && !this.liveness.isKnown(id));
    if (missing().length === 0) return;
    const deadline = performance.now() + timeoutMs;
    while (missing().length > 0) {
      this.ensureOpen();
      if (performance.now() > deadline) throw new TransportTimeoutError(`peers ${missing().join(', ')} did not join within ${timeoutMs} ms`, undefined, timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  stats(): TransportStats {
    const byReason: Record<string, number> = {};
    for (const [reason, n] of Object.entries(this.errors.byReason())) if (n > 0) byReason[reason] = n;
    return {
      bytesSent: this.counters.bytesSent,
      bytesReceived: this.counters.bytesReceived,
      messagesSent: this.counters.messagesSent,
      messagesReceived: this.counters.messagesReceived,
      messagesRejected: this.errors.total,
      retransmitRequests: this.counters.retransmitRequests,
      chunksRetransmitted: this.counters.chunksRetransmitted,
      reconnects: this.counters.reconnects,
      rejectedByReason: byReason,
    };
  }

  /** The rejection counter (by reason and sender), for metrics. */
  get wireErrors(): WireErrorCounter {
    return this.errors;
  }

  // ---- public operations -----------------------------------------------------------------------

  send(to: string, key: TransferKey, data: Float32Array, options: SendOptions = {}): Promise<void> {
    try {
      checkKey(key);
      const sentKey = `${to}|${key.tensor}|${key.round}`;
      if (this.sentKeys.has(sentKey)) throw new TransportUsageError(`${this.id} already sent tensor ${key.tensor} of round ${key.round} to ${to}`);
      this.views.checkOperation(options.viewEpoch);
      const started = this.startOutbound({
        to,
        transfer: pointToPoint(key),
        data,
        dtype: options.dtype ?? 'f32',
        blockSize: options.blockSize ?? DEFAULT_INT8_BLOCK,
        collective: undefined,
        timeoutMs: options.timeoutMs ?? this.settings.sendTimeoutMs,
        signal: options.signal,
        viewEpoch: options.viewEpoch,
      });
      this.sentKeys.add(sentKey);
      return started; // a Pending's promise: already marked as handled
    } catch (err) {
      return held(Promise.reject(err));
    }
  }

  receive(from: string, key: TransferKey, options: ReceiveOptions = {}): Promise<Float32Array> {
    try {
      checkKey(key);
      this.views.checkOperation(options.viewEpoch);
      // a Pending's promise
      return this.expect(from, pointToPoint(key), options.into, undefined, options.timeoutMs ?? this.settings.receiveTimeoutMs, options.signal, options.viewEpoch);
    } catch (err) {
      return held(Promise.reject(err));
    }
  }

  allReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions = {}): Promise<Float32Array> {
    return held(this.doAllReduce(key, data, options));
  }

  private async doAllReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions): Promise<Float32Array> {
    const ring = ringOptions(this.id, this.members(), key, options, this.settings.receiveTimeoutMs);
    this.ensureOpen();
    this.views.checkOperation(options.viewEpoch);
    return ringAllReduce(this.segmentLink, data, ring);
  }

  private readonly segmentLink: SegmentLink = {
    sendSegment: (to: string, t: SegmentTransfer, values: Float32Array) => {
      const collective = collectiveHeader(t);
      this.views.checkOperation(t.viewEpoch);
      return this.startOutbound({ to, transfer: segmentTransfer(t), data: values, dtype: t.dtype, blockSize: t.blockSize, collective, timeoutMs: t.timeoutMs, signal: undefined, viewEpoch: t.viewEpoch });
    },
    receiveSegment: async (from: string, t: SegmentTransfer, into: Float32Array) => {
      this.views.checkOperation(t.viewEpoch);
      await this.expect(from, segmentTransfer(t), into, t.segmentIndex, t.timeoutMs, undefined, t.viewEpoch);
    },
  };

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const reason = { done: LeaveReason.LEAVE_REASON_DONE, failed: LeaveReason.LEAVE_REASON_FAILED, shutdown: LeaveReason.LEAVE_REASON_SHUTDOWN }[options.reason ?? 'shutdown'];
    this.link.toAll('leave', { reason, detail: (options.detail ?? '').slice(0, 1000), lastRound: this.round });
    this.rejectAllPending(() => new TransportClosedError(`transport ${this.id} is closed`));
    this.receiver.clear();
    this.liveness.end();
    this.views.close();
    // A frozen server never answers the flush: bound the wait, then close regardless.
    await Promise.race([this.nc.flush().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 500).unref?.())]);
    await this.nc.close().catch(() => undefined);
  }

  private startOutbound(request: OutboundRequest): Promise<void> {
    this.ensureOpen();
    this.liveness.ensurePeer(request.to);
    const sent = this.sender.start(request);
    this.round = request.transfer.round;
    return sent;
  }

  private expect(
    from: string,
    transfer: WireTransferKey,
    into: Float32Array | undefined,
    segmentIndex: number | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    viewEpoch: number | undefined,
  ): Promise<Float32Array> {
    this.ensureOpen();
    const received = this.receiver.expect({ from, transfer, into, segmentIndex, timeoutMs, signal, viewEpoch });
    this.round = transfer.round;
    return received;
  }

  // ---- messages in --------------------------------------------------------------------------------

  /** @param replayed a message held for a view not yet installed, handled again now (counted once). */
  private onMessage(msg: Msg, subjectKind: string, replayed = false): void {
    try {
      this.handle(msg, subjectKind, replayed);
    } catch (err) {
      // Never let one message take the worker down; count it under the subject's sender.
      this.errors.record({ reason: 'MALFORMED', sender: subjectSenderOf(msg.subject) ?? '(unknown)', detail: `handling failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private handle(msg: Msg, subjectKind: string, replayed: boolean): void {
    if (this.closed) return;
    const subjectSender = subjectSenderOf(msg.subject);
    if (subjectSender === this.id) return; // an echo, on a connection opened without noEcho
    const data = msg.data;
    if (!replayed) {
      this.counters.messagesReceived++;
      this.counters.bytesReceived += data.length;
    }
    const decoded = this.decoder.decode(data, subjectSender);
    if (!decoded.ok) return; // counted and reported by the decoder
    const e: Envelope = decoded.envelope;
    if (e.sender !== subjectSender) {
      this.errors.record({ reason: 'MISMATCH', sender: subjectSender ?? '(unknown)', detail: `envelope claims sender ${JSON.stringify(e.sender)} on the subject of ${subjectSender}`, kind: e.body, seq: e.seq });
      return;
    }
    if (!(SUBJECT_KINDS[subjectKind] ?? []).includes(e.body)) {
      this.errors.record({ reason: 'MALFORMED', sender: e.sender, detail: `${e.body} on a ${subjectKind} subject`, kind: e.body, seq: e.seq });
      return;
    }
    if (!this.admitted(e, msg, subjectKind)) return;
    switch (e.body) {
      case 'viewChange':
        if (e.viewChange.step === ViewStep.VIEW_STEP_SUSPECT) this.liveness.onSuspicion(e.viewChange.members, e.viewChange.epoch);
        else this.views.onMessage(e.sender, viewMessageOf(e.viewChange));
        return;
      case 'join':
        this.liveness.onJoin(e.sender, e.join.incarnation);
        return;
      case 'heartbeat':
        this.liveness.onHeartbeat(e.sender, e.heartbeat.intervalMs);
        return;
      case 'leave':
        this.liveness.peerGone(e.sender, e.leave.reason === LeaveReason.LEAVE_REASON_DONE ? 'done' : e.leave.reason === LeaveReason.LEAVE_REASON_FAILED ? 'error' : 'leave');
        return;
      case 'tensorChunk':
        this.receiver.onChunk(e.sender, e.tensorChunk, pointToPoint({ tensor: e.tensorChunk.tensorId, round: e.tensorChunk.round }), undefined);
        return;
      case 'allReduceChunk': {
        const a = e.allReduceChunk;
        const transfer: WireTransferKey = { tensorId: a.chunk.tensorId, round: a.chunk.round, collectiveId: a.collectiveId, phase: a.phase, step: a.step };
        this.receiver.onChunk(e.sender, a.chunk, transfer, a.segmentIndex);
        return;
      }
      case 'chunkAck':
        this.sender.onAck(e.sender, e.chunkAck);
        return;
      case 'retransmitRequest':
        this.sender.onRetransmitRequest(e.sender, e.retransmitRequest);
        return;
      case 'errorReport':
        this.sender.onErrorReport(e.sender, e.errorReport, e.viewEpoch);
        return;
      default:
        return;
    }
  }

  /**
   * Whether a decoded envelope from a valid sender is handled now, by the membership rules: an
   * outsider may only ask to join and take part in the agreement; a removed worker is fenced; traffic
   * of a view not installed yet is held; a new sender is admitted by Join or Heartbeat (or the
   * allowlist). Admitted ones count as heard.
   */
  private admitted(e: Envelope, msg: Msg, subjectKind: string): boolean {
    const view = this.views.current();
    const inView = this.liveness.inView(e.sender);
    if (!inView && e.sender !== this.id) {
      // A worker outside the view asking in (a restarted one), or its part in the agreement.
      if (e.body === 'join' && !this.liveness.joining) {
        this.views.requestJoin(e.sender);
        return false;
      }
      if (e.body === 'viewChange') {
        // Only members' suspicions count: an outsider cannot remove anyone.
        if (e.viewChange.step !== ViewStep.VIEW_STEP_SUSPECT) this.views.onMessage(e.sender, viewMessageOf(e.viewChange));
        return false;
      }
    }
    if (e.body === 'join' && inView && this.liveness.restarted(e.sender, e.seq, e.join.incarnation)) {
      // The old process is gone; the new one asks again with each heartbeat and is added once the
      // view drops it.
      this.liveness.retire(e.sender);
      return false;
    }
    if (e.viewEpoch < view.epoch && !inView) {
      // A worker removed from the run (frozen past the timeout, then woken): fenced, never re-admitted.
      this.errors.record({ reason: 'STALE_EPOCH', sender: e.sender, detail: `${e.body} of view ${e.viewEpoch} from a worker not in view ${view.epoch}`, kind: e.body, seq: e.seq });
      // Sent to this worker alone: a heartbeat to its old ring neighbours (a joiner broadcasts instead).
      if (subjectKind === 'ctrl') this.liveness.tellRemoved(e.sender);
      return false;
    }
    if (VIEW_SCOPED_KINDS.has(e.body) && e.viewEpoch > view.epoch) {
      // Its view is being committed (the commit and this come from different publishers): hold it.
      if (this.future.length < REMEMBERED_TRANSFERS) this.future.push({ msg, kind: subjectKind });
      return false;
    }
    if (!this.liveness.isKnown(e.sender)) {
      if (e.body === 'leave' || e.body === 'viewChange') return false;
      const admissible = this.allowlist?.has(e.sender) === true || e.body === 'join' || e.body === 'heartbeat';
      if (!admissible) {
        this.errors.record({ reason: 'UNKNOWN_SENDER', sender: e.sender, detail: `${e.body} from a worker that has not joined`, kind: e.body, seq: e.seq });
        return false;
      }
      this.liveness.admit(e.sender);
    }
    this.liveness.heard(e.sender, e.seq, performance.now(), !inView && subjectKind === 'member' && (e.body === 'heartbeat' || e.body === 'join'));
    this.views.observeEpoch(e.sender, e.viewEpoch);
    return true;
  }

  /** Fails every pending operation with `peer`, which has left. */
  private failWith(peer: string, reason: LeaveKind): void {
    const error = () => new PeerLeftError(`${peer} left the run (${reason})`, peer, reason);
    this.sender.failPeer(peer, error);
    this.receiver.failPeer(peer, error);
  }

  // ---- timers -------------------------------------------------------------------------------------

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    this.liveness.tick(now, this.tickMs);
    this.receiver.repair(now);
    this.sender.probe(now);
  }

  // ---- state ------------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.permissionError) throw this.permissionError;
    const fenced = this.views.fencedError;
    if (fenced) throw fenced;
    if (this.closed) throw new TransportClosedError(`transport ${this.id} is closed`);
  }

  /** The server refused a publish or subscription: fail everything now, with the fix, rather than time out later. */
  private refused(error: Error): void {
    if (this.permissionError) return;
    const refusal = permissionRefusal(error, this.runId, this.id);
    this.permissionError = refusal;
    this.rejectAllPending(() => refusal);
  }

  private readonly viewHost: ViewHost = {
    broadcast: (m: ViewMessage) => this.link.toAll('viewChange', viewChangeOf(m)),
    send: (to: string, m: ViewMessage) => this.link.toPeer(to, 'viewChange', viewChangeOf(m)),
    seal: (epoch: number) => {
      const error = () => new ViewChangedError(`the membership view ${epoch} is changing`, epoch);
      this.sender.failViewScoped(error);
      this.receiver.failViewScoped(error);
    },
    install: (view: MembershipView) => {
      this.liveness.install(view);
      // A new view is a new space of transfers: a round redone in it reuses its keys.
      this.receiver.startView();
      this.sentKeys.clear();
      for (const f of this.future.splice(0)) this.onMessage(f.msg, f.kind, true);
    },
    fence: (error: FencedError) => this.rejectAllPending(() => error),
  };

  /** Fails every pending send and receive (the transport can no longer serve any of them). */
  private rejectAllPending(error: () => TransportError): void {
    this.sender.failAll(error);
    this.receiver.failAll(error);
  }
}

export type { NatsTransportOptions, WireErrorReason };
