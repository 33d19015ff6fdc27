// The NATS transport, on the official v3 client (@nats-io/transport-node).
//
// Why one file of ~1,300 lines: the connection, membership, send window, reassembly and repair still
// share one class's private state. The split into modules of one concern each (as nats.js is laid out)
// is issue 19's first item; the view agreement lives apart in views.ts, and who watches whom in
// monitor.ts.
//
// Core NATS is at-most-once: a server restart or a cut slow consumer loses messages silently. This
// file turns it into "complete, checksummed, exactly once, or a typed error" per (peer, key):
// - a tensor travels as TensorChunk envelopes (AllReduceChunk for ring segments) on a fixed chunk grid
//   sized under the server's max_payload; the receiver checks and writes each chunk straight into the
//   destination (the caller's Float32Array when it gave one), rejects duplicates, late and foreign
//   chunks, and acknowledges progress;
// - flow control: the sender keeps at most `windowBytes` unacknowledged bytes per transfer; the
//   receiver acks every windowBytes/4 and at completion, so a receiver that stops reading (busy event
//   loop) holds back its senders instead of being cut off by the server as a slow consumer;
// - repair: a receiver that makes no progress for `retransmitAfterMs` asks for the missing chunks
//   (RetransmitRequest), a sender that hears nothing re-sends its last chunk as a probe (answered by an
//   ack or a retransmit request), so chunks lost in a server restart are recovered;
// - send() resolves when the receiver acknowledges the complete tensor, so a lost chunk can always
//   be re-sent from the caller's buffer (which must not change until then);
// - membership: Join at start (to everyone, each member answering with a heartbeat to the newcomer
//   alone), Leave at close. Heartbeats go every `heartbeatIntervalMs` to the next `heartbeatFanout`
//   members of the view's ring only (monitor.ts), so their traffic is O(fanout) per worker, not
//   O(n); a worker also beats the peers it is receiving from, whose probes wait to hear it. Only a
//   peer's monitors judge its silence: one silent for `peerTimeoutMs` is declared gone (reason
//   'timeout'), which fails every pending operation with it, and the monitor broadcasts a SUSPECT
//   notice (repeated with each beat until a view without it), on which every worker declares it
//   gone too and the coordinator proposes the view without it. While this worker's own connection is
//   down, or just after its event loop stalled, it judges no one.
//
// Subjects (one NATS token per part; ids and run ids are [A-Za-z0-9_-]+), all under the sender's
// own prefix, so NATS permissions can allow worker w to publish only on `gossamer.<run>.w.>`:
//   gossamer.<run>.<sender>.member          join, leave, view change and suspicion (to everyone);
//                                           heartbeat of a worker alone in its view (a joiner)
//   gossamer.<run>.<sender>.data.<to>       tensor_chunk, all_reduce_chunk
//   gossamer.<run>.<sender>.ctrl.<to>       chunk_ack, retransmit_request, error_report, heartbeat,
//                                           view change ack (to its proposer)
// A worker subscribes to `gossamer.<run>.*.member`, `gossamer.<run>.*.data.<self>` and
// `gossamer.<run>.*.ctrl.<self>`, and rejects an envelope whose sender differs from its subject's.
import { connect, type Msg, type NatsConnection, type NodeConnectionOptions, type Subscription } from '@nats-io/transport-node';
import {
  AllReducePhase,
  DType,
  EnvelopeDecoder,
  EnvelopeEncoder,
  ErrorCode,
  LeaveReason,
  ReduceOp,
  TensorReassembler,
  VIEW_SCOPED_KINDS,
  ViewStep,
  WireErrorCounter,
  WorkerState,
  bytesOf,
  chunkAt,
  createEnvelope,
  decodeTensor,
  encodeTensor,
  firstNonFinite,
  planChunks,
  tensorByteLength,
  type Capabilities,
  type ChunkPlan,
  type Envelope,
  type EnvelopeBodies,
  type MessageKind,
  type TensorChunk,
  type TransferKey as WireTransferKey,
  type WireError,
  type WireErrorReason,
} from '@gossamer/wire';
import { DEFAULT_INT8_BLOCK, WIRE_DTYPES, ringAllReduce, ringOptions, type SegmentLink, type SegmentTransfer } from './allreduce.js';
import { TokenBucket, type BandwidthLimit } from './bandwidth.js';
import {
  BadMessageError,
  PeerLeftError,
  TransportClosedError,
  TransportPermissionError,
  TransportError,
  TransportTimeoutError,
  TransportUsageError,
  ViewChangedError,
  type FencedError,
} from './errors.js';
import type {
  AllReduceOptions,
  CloseOptions,
  LeaveKind,
  MembershipEvent,
  ReceiveOptions,
  SendOptions,
  TransferKey,
  Transport,
  TransportStats,
  WireDType,
} from './types.js';
import { BoundedSet, MembershipStream, Pending, checkKey, held, sortedIds, transferName } from './util.js';
import { ViewKeeper, type MembershipView, type ViewHost, type ViewKeeperOptions, type ViewMessage } from './views.js';
import { DEFAULT_HEARTBEAT_FANOUT, HeartbeatMonitor } from './monitor.js';

export interface NatsTransportOptions {
  /** This worker's id: [A-Za-z0-9_-]+, at most 128 bytes. */
  readonly id: string;
  /** The run: [A-Za-z0-9_-]+. Envelopes of other runs are rejected (WRONG_RUN). */
  readonly runId: string;
  /** NATS server URL(s), e.g. a NatsServer's `url`. */
  readonly servers: string | readonly string[];
  /**
   * The workers allowed in the run. If given, anything from another sender is rejected
   * (UNKNOWN_SENDER) and any valid message from a listed worker (re)admits it. If not, a worker
   * becomes a member by Join or Heartbeat, and other messages from non-members are rejected.
   */
  readonly peers?: readonly string[];
  /**
   * Join a run in progress (a restarted worker): the first view is this worker alone, and it asks
   * the members, with every heartbeat until it is in, to add it at their next view (docs/elastic.md).
   */
  readonly join?: boolean;
  /** Capabilities announced in Join. */
  readonly capabilities?: Partial<Capabilities>;
  /** Heartbeat period, ms (default 1000). */
  readonly heartbeatIntervalMs?: number;
  /** A peer silent this long is declared gone, ms (default 3 × heartbeatIntervalMs). */
  readonly peerTimeoutMs?: number;
  /**
   * How many ring neighbours each worker sends its heartbeat to, and so how many watch it
   * (default 4; monitor.ts). With n ≤ fanout + 1 workers, every worker watches every other.
   */
  readonly heartbeatFanout?: number;
  /** The view agreement's quorum and timeouts (the first view is `peers`, or this worker alone). */
  readonly views?: ViewKeeperOptions;
  /** Default receive timeout, ms (default 30 000). */
  readonly receiveTimeoutMs?: number;
  /** Default send timeout (until the receiver acknowledges the whole tensor), ms (default 30 000). */
  readonly sendTimeoutMs?: number;
  /** Silence after which missing chunks are requested again (or a probe is sent), ms (default 250). */
  readonly retransmitAfterMs?: number;
  /** Unacknowledged bytes a sender may have in flight per transfer (default 8 MiB). */
  readonly windowBytes?: number;
  /** Largest tensor accepted from a peer, bytes (default 1 GiB): a bound on what a peer can make this worker allocate. */
  readonly maxTensorBytes?: number;
  /** Limit on this worker's outgoing tensor data (token bucket), to emulate a slow uplink. */
  readonly bandwidth?: BandwidthLimit;
  /** Largest message to send; default (and upper bound) the server's max_payload. */
  readonly maxPayload?: number;
  /** Called with every rejected message (e.g. to log it); the transport itself prints nothing. */
  readonly onWireError?: (error: WireError) => void;
  /** Extra options for the NATS connection (name, auth, TLS, ...). */
  readonly connectionOptions?: Partial<NodeConnectionOptions>;
}

/** The subject scheme (see the file comment). */
export const natsSubjects = {
  member: (run: string, sender: string): string => `gossamer.${run}.${sender}.member`,
  data: (run: string, sender: string, to: string): string => `gossamer.${run}.${sender}.data.${to}`,
  ctrl: (run: string, sender: string, to: string): string => `gossamer.${run}.${sender}.ctrl.${to}`,
  /** What worker `self` subscribes to. */
  subscriptions: (run: string, self: string): string[] => [`gossamer.${run}.*.member`, `gossamer.${run}.*.data.${self}`, `gossamer.${run}.*.ctrl.${self}`],
  /** Publish permission that confines worker `self` to its own subjects. */
  publishPermission: (run: string, self: string): string => `gossamer.${run}.${self}.>`,
};

const TOKEN = /^[A-Za-z0-9_-]{1,128}$/;
const SOFTWARE_VERSION = '0.1.0';
const REMEMBERED_TRANSFERS = 65_536;
const SUBJECT_KINDS: Readonly<Record<string, readonly MessageKind[]>> = {
  member: ['join', 'leave', 'heartbeat', 'viewChange'],
  data: ['tensorChunk', 'allReduceChunk'],
  // heartbeat: to a monitor (or a data peer); viewChange: an ack, to its proposer.
  ctrl: ['chunkAck', 'retransmitRequest', 'errorReport', 'heartbeat', 'viewChange'],
};
const PHASES = { 'reduce-scatter': AllReducePhase.ALL_REDUCE_PHASE_REDUCE_SCATTER, 'all-gather': AllReducePhase.ALL_REDUCE_PHASE_ALL_GATHER } as const;

/** The collective fields of an AllReduceChunk (everything but the chunk). */
type CollectiveHeader = Omit<EnvelopeBodies['allReduceChunk'], 'chunk'>;

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

/** What the receiving side expects of a transfer, once receive()/receiveSegment() was called. */
interface Expectation {
  readonly pending: Pending<Float32Array>;
  readonly into: Float32Array | undefined;
  /** Ring segments: the segment the step must carry. */
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

/** A Transport over NATS. Create it with NatsTransport.connect(). */
export class NatsTransport implements Transport {
  readonly id: string;
  readonly runId: string;
  private readonly nc: NatsConnection;
  private readonly encoder = new EnvelopeEncoder();
  private readonly errors: WireErrorCounter;
  private readonly decoder: EnvelopeDecoder;
  private readonly allowlist: ReadonlySet<string> | undefined;
  /** Asking to join a run in progress, until a view with this worker is installed. */
  private joining: boolean;
  private readonly heartbeatIntervalMs: number;
  private readonly peerTimeoutMs: number;
  private readonly receiveTimeoutMs: number;
  private readonly sendTimeoutMs: number;
  private readonly retransmitAfterMs: number;
  private readonly windowBytes: number;
  private readonly ackEveryBytes: number;
  private readonly maxTensorBytes: number;
  /** Largest message this transport sends (≤ the server's max_payload). */
  readonly maxPayload: number;
  private readonly bucket: TokenBucket | undefined;
  private readonly capabilities: Capabilities;

  private readonly known = new Map<string, number>(); // member → last time heard from (ms)
  private readonly peerIntervals = new Map<string, number>(); // member → its heartbeat period (ms)
  private readonly departed = new Map<string, LeaveKind>();
  readonly views: ViewKeeper;
  /** Who this worker sends heartbeats to and whom it judges (monitor.ts). */
  private readonly monitor: HeartbeatMonitor;
  /** The ring must be placed again (a view installed, a member finished or came back). */
  private ringStale = true;
  /** The current view's members, for lookups. */
  private viewMembers: ReadonlySet<string>;
  /** Removed worker → when it was last told so (tellRemoved()). */
  private readonly toldRemoved = new Map<string, number>();
  /** Tensor traffic of a view this worker has not installed yet (replayed when it does). */
  private readonly future: { msg: Msg; kind: string }[] = [];
  private readonly events = new MembershipStream();
  private readonly outbound = new Map<string, Outbound>();
  private readonly inbound = new Map<string, Inbound>();
  /** Finished incoming transfers: 'done' (delivered or waiting) or 'abandoned' (timed out, failed). */
  private readonly finishedIn = new Map<string, 'done' | 'abandoned'>();
  private readonly finishedInOrder: string[] = [];
  private readonly sentKeys = new BoundedSet<string>(REMEMBERED_TRANSFERS);
  private readonly subscriptions: Subscription[] = [];
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  private seq = 0;
  private round = 0;
  private disconnected = false;
  private closed = false;
  /** Set when the server refuses this worker's publish or subscription (see refused()). */
  private permissionError: TransportPermissionError | undefined;
  private tickMs = 50;
  private lastTick = 0;
  /** When this worker's event loop last came back from a stall (see tick()). */
  private awakeSince = 0;
  /** A round trip to the server is under way before silent peers are judged (see confirmSilence()). */
  private confirmingSilence = false;
  private readonly counters = { bytesSent: 0, bytesReceived: 0, messagesSent: 0, messagesReceived: 0, retransmitRequests: 0, chunksRetransmitted: 0, publishErrors: 0, reconnects: 0 };

  private constructor(nc: NatsConnection, options: NatsTransportOptions) {
    this.nc = nc;
    this.id = options.id;
    this.runId = options.runId;
    this.allowlist = options.peers ? new Set(options.peers) : undefined;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.peerTimeoutMs = options.peerTimeoutMs ?? 3 * this.heartbeatIntervalMs;
    this.receiveTimeoutMs = options.receiveTimeoutMs ?? 30_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    this.retransmitAfterMs = options.retransmitAfterMs ?? 250;
    this.windowBytes = options.windowBytes ?? 8 * 1024 * 1024;
    this.ackEveryBytes = Math.max(1, Math.floor(this.windowBytes / 4));
    this.maxTensorBytes = options.maxTensorBytes ?? 1024 ** 3;
    const serverMax = nc.info?.max_payload ?? 1024 * 1024;
    this.maxPayload = Math.min(options.maxPayload ?? serverMax, serverMax);
    this.bucket = options.bandwidth ? new TokenBucket(options.bandwidth) : undefined;
    this.capabilities = {
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
    this.joining = options.join === true;
    const firstView = this.joining ? [this.id] : sortedIds(new Set([this.id, ...(options.peers ?? [])]));
    this.views = new ViewKeeper(this.id, { epoch: 0, members: firstView, startRound: 0 }, this.viewHost, { ackTimeoutMs: this.peerTimeoutMs, ...options.views });
    this.viewMembers = new Set(firstView);
    this.monitor = new HeartbeatMonitor(this.id, options.heartbeatFanout ?? DEFAULT_HEARTBEAT_FANOUT);
    this.decoder = new EnvelopeDecoder({
      viewEpoch: () => this.views.current().epoch,
      runId: this.runId,
      knownSenders: this.allowlist,
      maxMessageBytes: this.maxPayload,
      errors: this.errors,
    });
  }

  /** Connects, subscribes, announces this worker (Join) and starts heartbeats. */
  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    if (!TOKEN.test(options.id)) throw new TransportUsageError(`worker id ${JSON.stringify(options.id)} must match [A-Za-z0-9_-]{1,128}`);
    if (!TOKEN.test(options.runId)) throw new TransportUsageError(`run id ${JSON.stringify(options.runId)} must match [A-Za-z0-9_-]{1,128}`);
    for (const peer of options.peers ?? []) if (!TOKEN.test(peer)) throw new TransportUsageError(`peer id ${JSON.stringify(peer)} must match [A-Za-z0-9_-]{1,128}`);
    const fanout = options.heartbeatFanout;
    if (fanout !== undefined && (!Number.isInteger(fanout) || fanout < 1)) throw new TransportUsageError(`heartbeatFanout ${fanout}: expected an integer ≥ 1`);
    const nc = await connect({
      name: `gossamer ${options.runId} ${options.id}`,
      noEcho: true, // our own broadcasts (membership) are of no use to us
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 200,
      pingInterval: 20_000,
      ...options.connectionOptions,
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
    });
    const transport = new NatsTransport(nc, options);
    await transport.start();
    return transport;
  }

  private async start(): Promise<void> {
    for (const subject of natsSubjects.subscriptions(this.runId, this.id)) {
      const kind = subject.split('.')[3];
      this.subscriptions.push(this.nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : this.onMessage(msg, kind)) }));
    }
    await this.nc.flush(); // subscriptions are in place before anyone hears of us
    this.announce();
    this.tickMs = Math.max(5, Math.min(50, Math.floor(this.retransmitAfterMs / 4)));
    this.lastTick = this.awakeSince = performance.now();
    this.timers.push(setInterval(() => this.tick(), this.tickMs));
    this.timers.push(setInterval(() => this.heartbeat(), this.heartbeatIntervalMs));
    for (const t of this.timers) t.unref();
    void this.watchStatus();
  }

  private async watchStatus(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') this.disconnected = true;
      else if (status.type === 'error' && status.error.name === 'PermissionViolationError') this.refused(status.error);
      else if (status.type === 'reconnect') {
        this.disconnected = false;
        this.counters.reconnects++;
        // Peers could not be heard while we were cut off: judge them afresh from now.
        const now = performance.now();
        for (const peer of this.known.keys()) this.known.set(peer, now);
        this.heartbeat();
        for (const o of this.outbound.values()) o.lastHeard = 0; // probe at once
      }
    }
  }

  members(): readonly string[] {
    return this.closed ? [] : sortedIds([this.id, ...this.known.keys()]);
  }

  membership(): AsyncIterable<MembershipEvent> {
    return this.events.iterate(sortedIds(this.known.keys()).map((worker) => ({ kind: 'joined', worker })));
  }

  /** Resolves when every worker of `ids` is a member; rejects with TransportTimeoutError after `timeoutMs`. */
  async waitForPeers(ids: readonly string[], timeoutMs = 10_000): Promise<void> {
    const missing = () => ids.filter((id) => id !== this.id && !this.known.has(id));
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
      const transfer = pointToPoint(key);
      this.checkView(options.viewEpoch);
      const started = this.startOutbound(to, transfer, data, options.dtype ?? 'f32', options.blockSize ?? DEFAULT_INT8_BLOCK, undefined, options.timeoutMs ?? this.sendTimeoutMs, options.signal, options.viewEpoch);
      this.sentKeys.add(sentKey);
      return started; // a Pending's promise: already marked as handled
    } catch (err) {
      return held(Promise.reject(err));
    }
  }

  receive(from: string, key: TransferKey, options: ReceiveOptions = {}): Promise<Float32Array> {
    try {
      checkKey(key);
      this.checkView(options.viewEpoch);
      return this.expect(from, pointToPoint(key), options.into, undefined, options.timeoutMs ?? this.receiveTimeoutMs, options.signal, options.viewEpoch); // a Pending's promise
    } catch (err) {
      return held(Promise.reject(err));
    }
  }

  allReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions = {}): Promise<Float32Array> {
    return held(this.doAllReduce(key, data, options));
  }

  private async doAllReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions): Promise<Float32Array> {
    const ring = ringOptions(this.id, this.members(), key, options, this.receiveTimeoutMs);
    this.ensureOpen();
    this.checkView(options.viewEpoch);
    return ringAllReduce(this.segmentLink, data, ring);
  }

  private readonly segmentLink: SegmentLink = {
    sendSegment: (to: string, t: SegmentTransfer, values: Float32Array) => {
      const collective: CollectiveHeader = {
        collectiveId: t.collectiveId,
        phase: PHASES[t.phase],
        step: t.step,
        ringSize: t.ringSize,
        segmentIndex: t.segmentIndex,
        segmentByteOffset: tensorByteLength(WIRE_DTYPES[t.dtype], t.segmentOffset),
        op: t.op === 'mean' ? ReduceOp.REDUCE_OP_MEAN : ReduceOp.REDUCE_OP_SUM,
        contributions: t.contributions,
      };
      this.checkView(t.viewEpoch);
      return this.startOutbound(to, segmentTransfer(t), values, t.dtype, t.blockSize, collective, t.timeoutMs, undefined, t.viewEpoch);
    },
    receiveSegment: async (from: string, t: SegmentTransfer, into: Float32Array) => {
      this.checkView(t.viewEpoch);
      await this.expect(from, segmentTransfer(t), into, t.segmentIndex, t.timeoutMs, undefined, t.viewEpoch);
    },
  };

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    const reason = { done: LeaveReason.LEAVE_REASON_DONE, failed: LeaveReason.LEAVE_REASON_FAILED, shutdown: LeaveReason.LEAVE_REASON_SHUTDOWN }[options.reason ?? 'shutdown'];
    this.publishControl(natsSubjects.member(this.runId, this.id), 'leave', { reason, detail: (options.detail ?? '').slice(0, 1000), lastRound: this.round });
    this.rejectAllPending(() => new TransportClosedError(`transport ${this.id} is closed`));
    this.inbound.clear();
    this.events.end();
    this.views.close();
    // A frozen server never answers the flush: bound the wait, then close regardless.
    await Promise.race([this.nc.flush().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 500).unref())]);
    await this.nc.close().catch(() => undefined);
  }

  // ---- sending ----------------------------------------------------------------------------------

  private startOutbound(
    to: string,
    transfer: WireTransferKey,
    data: Float32Array,
    dtype: WireDType,
    blockSize: number,
    collective: CollectiveHeader | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    viewEpoch: number | undefined,
  ): Promise<void> {
    this.ensureOpen();
    this.ensurePeer(to);
    const bad = firstNonFinite(bytesOf(data), DType.DTYPE_F32);
    if (bad >= 0) throw new BadMessageError(`element ${bad} of the tensor for ${to} is ${data[bad]}: only finite values can be sent`, to);
    const wireDType = WIRE_DTYPES[dtype];
    // f32 goes out straight from the caller's buffer (one copy, into each message); other dtypes are
    // encoded once here.
    const encoded = encodeTensor(data, wireDType, dtype === 'int8' ? blockSize : 0);
    // A finite float32 can still overflow f16 (|x| > 65504); the receiver would refuse it forever.
    const badEncoded = dtype === 'f16' || dtype === 'bf16' ? firstNonFinite(encoded.bytes, wireDType) : -1;
    if (badEncoded >= 0) throw new BadMessageError(`element ${badEncoded} of the tensor for ${to} is not finite on the wire (${dtype}): only finite values can be sent`, to);
    const plan = planChunks(
      { tensorId: transfer.tensorId, round: transfer.round, dtype: wireDType, elementCount: data.length, blockSize: encoded.blockSize },
      { runId: this.runId, sender: this.id, maxPayload: this.maxPayload },
    );
    const name = transferName(to, transfer.tensorId, transfer.round, transfer.collectiveId, transfer.phase, transfer.step);
    if (this.outbound.has(name)) throw new TransportUsageError(`${name} is already being sent`, to);
    this.round = transfer.round;
    const pending = new Pending<void>({
      timeoutMs,
      signal,
      timeoutError: () => new TransportTimeoutError(`${to} did not acknowledge ${describe(transfer)} within ${timeoutMs} ms`, to, timeoutMs),
      onSettle: () => this.outbound.delete(name),
    });
    const now = performance.now();
    const o: Outbound = {
      to,
      transfer,
      plan,
      bytes: encoded.bytes,
      scales: dtype === 'int8' ? encoded.scales : undefined,
      collective,
      pending,
      viewEpoch,
      nextIndex: 0,
      sentBytes: 0,
      ackedBytes: 0,
      creditBytes: this.windowBytes,
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
      while (!o.pending.settled && !this.closed) {
        let index: number;
        if (o.resend.size > 0) {
          index = o.resend.values().next().value as number;
          o.resend.delete(index);
          this.counters.chunksRetransmitted++;
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
      if (o.pending.settled || this.closed) return;
    }
    const subject = natsSubjects.data(this.runId, this.id, o.to);
    if (o.collective === undefined) this.publish(subject, 'tensorChunk', chunk);
    else this.publish(subject, 'allReduceChunk', { ...o.collective, chunk });
    o.lastSent = performance.now();
  }

  private onAck(from: string, ack: EnvelopeBodies['chunkAck']): void {
    const o = this.outbound.get(transferName(from, ack.transfer.tensorId, ack.transfer.round, ack.transfer.collectiveId, ack.transfer.phase, ack.transfer.step));
    if (o === undefined) return; // already complete (a repeated final ack) or never sent
    o.lastHeard = performance.now();
    o.probes = 0;
    o.ackedBytes = Math.max(o.ackedBytes, ack.ackedBytes);
    o.creditBytes = ack.creditBytes;
    if (ack.complete) o.pending.resolve();
    else void this.pump(o);
  }

  private onRetransmitRequest(from: string, request: EnvelopeBodies['retransmitRequest']): void {
    const t = request.transfer;
    const o = this.outbound.get(transferName(from, t.tensorId, t.round, t.collectiveId, t.phase, t.step));
    if (o === undefined) return;
    o.lastHeard = performance.now();
    o.probes = 0;
    if (request.allChunks) for (let i = 0; i < o.nextIndex; i++) o.resend.add(i);
    else for (const i of request.missingChunks) if (i < o.nextIndex) o.resend.add(i);
    void this.pump(o);
  }

  private onErrorReport(from: string, report: EnvelopeBodies['errorReport'], reporterEpoch?: number): void {
    const t = report.transfer;
    if (t == null) return;
    const o = this.outbound.get(transferName(from, t.tensorId, t.round, t.collectiveId, t.phase, t.step));
    if (o === undefined) return;
    // A transfer of a view that is changing (here, or already at the receiver: its report carries a
    // newer epoch) was abandoned by the change, not refused: the operation is redone in the new view.
    const epoch = o.viewEpoch;
    if (epoch !== undefined && (this.views.changing || (reporterEpoch ?? epoch) > epoch)) {
      o.pending.reject(new ViewChangedError(`${from} abandoned ${describe(t)}: the membership view ${epoch} is changing`, epoch));
      return;
    }
    o.pending.reject(new BadMessageError(`${from} rejected ${describe(t)}: ${report.detail}`, from));
  }

  // ---- receiving --------------------------------------------------------------------------------

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
    const name = transferName(from, transfer.tensorId, transfer.round, transfer.collectiveId, transfer.phase, transfer.step);
    const finished = this.finishedIn.get(name);
    if (finished !== undefined) throw new TransportUsageError(`${describe(transfer)} from ${from} was already ${finished === 'done' ? 'received' : 'abandoned'}`, from);
    let i = this.inbound.get(name);
    if (i?.expectation !== undefined) throw new TransportUsageError(`${describe(transfer)} from ${from} is already being received`, from);
    if (i === undefined || !i.complete) this.ensurePeer(from); // a complete tensor is delivered even if its sender left since
    if (i === undefined) {
      i = this.newInbound(from, transfer);
      this.inbound.set(name, i);
    }
    const inbound = i;
    const pending = new Pending<Float32Array>({
      timeoutMs,
      signal,
      timeoutError: () => {
        const got = inbound.reassembler ? `${inbound.reassembler.receivedChunks} of ${inbound.reassembler.chunkCount} chunks` : 'nothing';
        return new TransportTimeoutError(`${describe(transfer)} from ${from}: ${got} within ${timeoutMs} ms`, from, timeoutMs);
      },
      onSettle: () => {
        // Resolved: delivered. Rejected: the transfer is abandoned and its late chunks are refused.
        if (this.inbound.get(name) === inbound) this.finish(name, inbound.complete ? 'done' : 'abandoned');
      },
    });
    inbound.expectation = { pending, into, segmentIndex, viewEpoch };
    this.round = transfer.round;
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

  private onChunk(from: string, chunk: TensorChunk, transfer: WireTransferKey, segmentIndex: number | undefined): void {
    const name = transferName(from, transfer.tensorId, transfer.round, transfer.collectiveId, transfer.phase, transfer.step);
    const finished = this.finishedIn.get(name);
    if (finished !== undefined) {
      if (finished === 'done') {
        this.record({ reason: 'DUPLICATE', sender: from, detail: `chunk ${chunk.chunkIndex} of a transfer already complete`, kind: 'tensorChunk' });
        // The final ack may have been lost: repeat it so the sender stops.
        this.publishControl(natsSubjects.ctrl(this.runId, this.id, from), 'chunkAck', { transfer, ackedBytes: chunk.totalBytes, creditBytes: this.windowBytes, complete: true });
      } else {
        this.record({ reason: 'WRONG_ROUND', sender: from, detail: `late chunk ${chunk.chunkIndex} of an abandoned transfer`, kind: 'tensorChunk' });
        // While a view is being agreed the transfer was abandoned by the seal, and the sender's side
        // fails with the view change too (or it is removed): a report would fail it as a bad message.
        if (!this.views.changing) this.reportError(from, transfer, ErrorCode.ERROR_CODE_WRONG_ROUND, 'the receiver abandoned this transfer (timeout or error)');
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
      if (totalBytes > this.maxTensorBytes) {
        this.record({ reason: 'OVERSIZED', sender: from, detail: `tensor of ${totalBytes} bytes, the limit is ${this.maxTensorBytes}`, kind: 'tensorChunk' });
        this.failInbound(name, i, `tensor of ${totalBytes} bytes exceeds this worker's limit of ${this.maxTensorBytes}`);
        return;
      }
      i.segmentIndex = segmentIndex;
      const problem = this.checkExpectation(i, chunk.elementCount);
      if (problem !== undefined) {
        this.record({ reason: 'LENGTH_MISMATCH', sender: from, detail: problem, kind: 'tensorChunk' });
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
      this.record({ reason: 'MISMATCH', sender: from, detail: `segment ${segmentIndex} in a transfer of segment ${i.segmentIndex}`, kind: 'allReduceChunk' });
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
    if (r.receivedBytes - i.ackedAtBytes >= this.ackEveryBytes) this.sendAck(i, false);
    // One publisher's messages arrive in order, so a gap means loss (e.g. across a reconnect).
    if (gap) this.requestMissing(i, now, false);
  }

  private sendAck(i: Inbound, complete: boolean): void {
    const r = i.reassembler;
    if (r === undefined) return;
    i.ackedAtBytes = r.receivedBytes;
    this.publishControl(natsSubjects.ctrl(this.runId, this.id, i.from), 'chunkAck', {
      transfer: i.transfer,
      ackedBytes: r.receivedBytes,
      creditBytes: this.windowBytes,
      complete,
    });
  }

  /** Asks the sender for what is missing, at most once per retransmitAfterMs/2 (or regardless, on a probe). */
  private requestMissing(i: Inbound, now: number, probe: boolean): void {
    if (i.complete || (!probe && now - i.lastRequest < this.retransmitAfterMs / 2)) return;
    const missing = i.reassembler?.missingChunkIndices() ?? null;
    if (missing !== null && missing.length === 0) return;
    i.lastRequest = now;
    i.requests++;
    this.counters.retransmitRequests++;
    // Only chunks below the highest seen are known to be lost; later ones may still be on their way.
    const lost = missing === null ? [] : missing.filter((index) => index < i.highestIndex || probe);
    this.publishControl(natsSubjects.ctrl(this.runId, this.id, i.from), 'retransmitRequest', {
      transfer: i.transfer,
      missingChunks: lost.length > 0 ? lost : (missing ?? []),
      allChunks: missing === null,
    });
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
    this.publishControl(natsSubjects.ctrl(this.runId, this.id, to), 'errorReport', { code, detail: detail.slice(0, 1000), aboutSeq: 0, transfer, fatal: false });
  }

  // ---- messages in --------------------------------------------------------------------------------

  /** @param replayed a message held for a view not yet installed, handled again now (counted once). */
  private onMessage(msg: Msg, subjectKind: string, replayed = false): void {
    try {
      this.handle(msg, subjectKind, replayed);
    } catch (err) {
      // Never let one message take the worker down; count it under the subject's sender.
      this.record({ reason: 'MALFORMED', sender: msg.subject.split('.')[2] ?? '(unknown)', detail: `handling failed: ${err instanceof Error ? err.message : String(err)}` });
    }
  }

  private handle(msg: Msg, subjectKind: string, replayed: boolean): void {
    if (this.closed) return;
    const data = msg.data;
    if (!replayed) {
      this.counters.messagesReceived++;
      this.counters.bytesReceived += data.length;
    }
    const subjectSender = msg.subject.split('.')[2];
    const decoded = this.decoder.decode(data, subjectSender);
    if (!decoded.ok) return; // counted and reported by the decoder
    const e: Envelope = decoded.envelope;
    if (e.sender !== subjectSender) {
      this.record({ reason: 'MISMATCH', sender: subjectSender, detail: `envelope claims sender ${JSON.stringify(e.sender)} on the subject of ${subjectSender}`, kind: e.body, seq: e.seq });
      return;
    }
    if (!(SUBJECT_KINDS[subjectKind] ?? []).includes(e.body)) {
      this.record({ reason: 'MALFORMED', sender: e.sender, detail: `${e.body} on a ${subjectKind} subject`, kind: e.body, seq: e.seq });
      return;
    }
    const view = this.views.current();
    const inView = this.viewMembers.has(e.sender);
    if (!inView && e.sender !== this.id) {
      // A worker outside the view asking in (a restarted one), or its part in the agreement.
      if (e.body === 'join' && !this.joining) {
        this.views.requestJoin(e.sender);
        return;
      }
      if (e.body === 'viewChange') {
        // Only members' suspicions count: an outsider cannot remove anyone.
        if (e.viewChange.step !== ViewStep.VIEW_STEP_SUSPECT) this.views.onMessage(e.sender, viewMessageOf(e.viewChange));
        return;
      }
    }
    if (e.viewEpoch < view.epoch && !inView) {
      // A worker removed from the run (frozen past the timeout, then woken): fenced, never re-admitted.
      this.record({ reason: 'STALE_EPOCH', sender: e.sender, detail: `${e.body} of view ${e.viewEpoch} from a worker not in view ${view.epoch}`, kind: e.body, seq: e.seq });
      // Sent to this worker alone: a heartbeat to its old ring neighbours (a joiner broadcasts instead).
      if (subjectKind === 'ctrl') this.tellRemoved(e.sender);
      return;
    }
    if (VIEW_SCOPED_KINDS.has(e.body) && e.viewEpoch > view.epoch) {
      // Its view is being committed (the commit and this come from different publishers): hold it.
      if (this.future.length < REMEMBERED_TRANSFERS) this.future.push({ msg, kind: subjectKind });
      return;
    }
    if (!this.known.has(e.sender)) {
      if (e.body === 'leave' || e.body === 'viewChange') return;
      const admissible = this.allowlist !== undefined || e.body === 'join' || e.body === 'heartbeat';
      if (!admissible) {
        this.record({ reason: 'UNKNOWN_SENDER', sender: e.sender, detail: `${e.body} from a worker that has not joined`, kind: e.body, seq: e.seq });
        return;
      }
      this.admit(e.sender);
    }
    const now = performance.now();
    this.known.set(e.sender, now);
    // Outside the view and broadcasting (a joiner, or a worker alone in its view): heard by all, judged by all.
    if (!inView && subjectKind === 'member' && (e.body === 'heartbeat' || e.body === 'join')) this.monitor.heardOutsider(e.sender, now);
    this.views.observeEpoch(e.sender, e.viewEpoch);
    switch (e.body) {
      case 'viewChange':
        if (e.viewChange.step === ViewStep.VIEW_STEP_SUSPECT) this.onSuspicion(e.viewChange.members);
        else this.views.onMessage(e.sender, viewMessageOf(e.viewChange));
        return;
      case 'join':
        // Let the newcomer learn about us now (it may have subscribed after our own Join): to it alone,
        // since every member answers every Join.
        this.beat([e.sender]);
        return;
      case 'heartbeat':
        this.peerIntervals.set(e.sender, e.heartbeat.intervalMs);
        return;
      case 'leave':
        this.peerGone(e.sender, e.leave.reason === LeaveReason.LEAVE_REASON_DONE ? 'done' : e.leave.reason === LeaveReason.LEAVE_REASON_FAILED ? 'error' : 'leave');
        return;
      case 'tensorChunk':
        this.onChunk(e.sender, e.tensorChunk, pointToPoint({ tensor: e.tensorChunk.tensorId, round: e.tensorChunk.round }), undefined);
        return;
      case 'allReduceChunk': {
        const a = e.allReduceChunk;
        const transfer: WireTransferKey = { tensorId: a.chunk.tensorId, round: a.chunk.round, collectiveId: a.collectiveId, phase: a.phase, step: a.step };
        this.onChunk(e.sender, a.chunk, transfer, a.segmentIndex);
        return;
      }
      case 'chunkAck':
        this.onAck(e.sender, e.chunkAck);
        return;
      case 'retransmitRequest':
        this.onRetransmitRequest(e.sender, e.retransmitRequest);
        return;
      case 'errorReport':
        this.onErrorReport(e.sender, e.errorReport, e.viewEpoch);
        return;
      default:
        return;
    }
  }

  private record(error: WireError): void {
    this.errors.record(error);
  }

  private admit(peer: string): void {
    this.known.set(peer, performance.now());
    if (this.departed.get(peer) === 'done') this.ringStale = true;
    this.departed.delete(peer);
    this.events.emit({ kind: 'joined', worker: peer });
  }

  private peerGone(peer: string, reason: LeaveKind): void {
    if (reason !== 'done') this.views.suspect(peer);
    if (!this.known.delete(peer)) return;
    this.departed.set(peer, reason);
    this.monitor.forget(peer);
    // A finished member sends no more heartbeats: the ring closes over it, so that the members it
    // watched get another monitor. A failed one stays on the ring until the view without it.
    if (reason === 'done') this.ringStale = true;
    this.failWith(peer, reason);
    this.events.emit({ kind: 'left', worker: peer, reason });
  }

  /** Fails every pending operation with `peer`, which has left. */
  private failWith(peer: string, reason: LeaveKind): void {
    const error = () => new PeerLeftError(`${peer} left the run (${reason})`, peer, reason);
    for (const o of [...this.outbound.values()]) if (o.to === peer) o.pending.reject(error());
    for (const [name, i] of [...this.inbound]) {
      if (i.from !== peer) continue;
      if (i.expectation !== undefined) i.expectation.pending.reject(error());
      else if (!i.complete) this.inbound.delete(name); // partial data of a dead peer is useless
    }
  }

  // ---- timers -------------------------------------------------------------------------------------

  private announce(): void {
    this.publishControl(natsSubjects.member(this.runId, this.id), 'join', {
      capabilities: this.capabilities,
      softwareVersion: SOFTWARE_VERSION,
      resumeRound: 0,
    });
  }

  private heartbeat(): void {
    if (this.closed) return;
    if (this.joining) this.announce(); // a request the coordinator missed (or suspected) is asked again
    this.placeRing();
    if (this.views.current().members.length <= 1) {
      // Alone in its view (asking to join, or a run of one so far): nobody has it on a ring, so it
      // tells everyone, as every worker did before ring monitoring.
      this.beat(undefined);
    } else {
      // Its monitors, and the peers it is receiving from: a sender probes a receiver only once it
      // has heard from it (tick()), and a receiver off the sender's ring would never be heard.
      const to = new Set(this.monitor.targets);
      for (const i of this.inbound.values()) if (!i.complete && this.known.has(i.from)) to.add(i.from);
      this.beat(to);
    }
    this.repeatSuspicions();
  }

  /** Sends one heartbeat to each of `to`, or to everyone (undefined). */
  private beat(to: Iterable<string> | undefined): void {
    const body: EnvelopeBodies['heartbeat'] = {
      round: this.round,
      state: this.outbound.size + this.inbound.size > 0 ? WorkerState.WORKER_STATE_EXCHANGING : WorkerState.WORKER_STATE_TRAINING,
      intervalMs: this.heartbeatIntervalMs,
    };
    if (to === undefined) this.publishControl(natsSubjects.member(this.runId, this.id), 'heartbeat', body);
    else for (const peer of to) this.publishControl(natsSubjects.ctrl(this.runId, this.id, peer), 'heartbeat', body);
  }

  /** Places this worker on the ring of the view's members, less those that finished (if anything changed). */
  private placeRing(): void {
    if (!this.ringStale) return;
    this.ringStale = false;
    this.monitor.update(
      this.views.current().members.filter((m) => this.departed.get(m) !== 'done'),
      performance.now(),
    );
  }

  // ---- suspicion notices (monitor.ts: only a worker's monitors hear it, so they tell the rest) --------

  /** This worker judged `peers` gone: tells every worker, so the coordinator (views.ts) learns it at once. */
  private accuse(peers: readonly string[]): void {
    const members = peers.filter((p) => this.viewMembers.has(p));
    this.monitor.accuse(members);
    this.notice(members);
  }

  /** Repeats the notice (with each heartbeat) until a view without the accused: one may have been lost. */
  private repeatSuspicions(): void {
    this.notice(this.monitor.accusations((p) => this.viewMembers.has(p)));
  }

  private notice(peers: readonly string[]): void {
    if (peers.length === 0 || this.views.fencedError) return;
    this.publishControl(natsSubjects.member(this.runId, this.id), 'viewChange', {
      step: ViewStep.VIEW_STEP_SUSPECT,
      epoch: this.views.current().epoch + 1,
      proposer: this.id,
      members: sortedIds(peers),
      round: this.round,
    });
  }

  /**
   * `peer`, removed from the view, still sends in an old one: it missed the commit (lost, e.g. in a
   * server restart while it was frozen). Members no longer beat it (it is off their ring), so nothing
   * else would tell it: a heartbeat, whose newer epoch fences it (views.ts), at most once a beat.
   */
  private tellRemoved(peer: string): void {
    const now = performance.now();
    if (now - (this.toldRemoved.get(peer) ?? -Infinity) < this.heartbeatIntervalMs) return;
    if (this.toldRemoved.size >= 1024) this.toldRemoved.clear();
    this.toldRemoved.set(peer, now);
    this.beat([peer]);
  }

  /** A member judged `peers` gone: gone for this worker too (failing what waits on them), and suspected. */
  private onSuspicion(peers: readonly string[]): void {
    for (const peer of peers) {
      // This worker accused (alive, so wrongly): nothing to do, the next view fences it.
      if (peer === this.id || !this.viewMembers.has(peer)) continue;
      if (this.known.has(peer)) this.peerGone(peer, 'timeout');
      else this.views.suspect(peer);
    }
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    // A stall of this worker's own event loop (CPU starvation, a long computation, GC) is not its
    // peers' silence: timers run before pending input is read, and peers in this same process could
    // not send either. After a stall of a quarter of the peer timeout or more, peers are given a
    // heartbeat interval and a half of running time before they are judged again.
    if (now - this.lastTick - this.tickMs > Math.max(this.tickMs, this.peerTimeoutMs / 4)) this.awakeSince = now;
    this.lastTick = now;
    if (!this.disconnected && !this.confirmingSilence) {
      const silent = this.silentPeers(now);
      if (silent.length > 0) void this.confirmSilence(silent);
    }
    // Repair with exponential backoff (×2 per unanswered attempt, at most ×16), so a receiver that
    // is merely slow is not flooded with probes while its server-side backlog is already large.
    const backoff = (attempts: number): number => this.retransmitAfterMs * 2 ** Math.min(attempts, 4);
    for (const i of this.inbound.values()) {
      if (!i.complete && i.reassembler !== undefined && now - i.lastProgress > this.retransmitAfterMs && now - i.lastRequest > backoff(i.requests)) {
        this.requestMissing(i, now, true);
      }
    }
    for (const o of this.outbound.values()) {
      // Probe only a receiver that has shown since our last send that it is reading (a heartbeat
      // heard after it): one whose event loop is blocked sends nothing, and probes (a full chunk
      // each) would only pile up in its server-side backlog until the server cut it as a slow
      // consumer. A running receiver heartbeats, so a lost tail is still probed within a beat.
      const heard = this.known.get(o.to);
      const receiverRunning = heard !== undefined && heard > o.lastSent && now - heard < 1.5 * this.intervalOf(o.to);
      if (receiverRunning && o.nextIndex > 0 && !o.pumping && now - o.lastSent > this.retransmitAfterMs && now - o.lastHeard > backoff(2 * o.probes)) {
        // Silence: re-send the last chunk sent; the receiver answers with an ack or a request.
        o.lastHeard = now;
        o.probes++;
        o.resend.add(o.nextIndex - 1);
        void this.pump(o);
      }
    }
  }

  /**
   * The peers this worker watches (monitor.ts) that have been silent past the peer timeout, unless
   * this worker itself has only just come back from a stall (see tick()).
   */
  private silentPeers(now: number): string[] {
    this.placeRing();
    return this.monitor
      .overdue(now, (peer) => this.known.get(peer), () => this.peerTimeoutMs)
      .filter((peer) => now - this.awakeSince > 1.5 * this.intervalOf(peer));
  }

  /** A peer's heartbeat period: the one it announced, else ours. */
  private intervalOf(peer: string): number {
    return this.peerIntervals.get(peer) ?? this.heartbeatIntervalMs;
  }

  /**
   * Declares the `suspects` gone (reason 'timeout') if they are still silent after a round trip to
   * the server: its PONG comes after every message it sent us before, so heartbeats waiting unread
   * (behind a backlog of chunks, or in the socket while this worker was busy) are counted first. No
   * verdict while the round trip does not complete (a frozen server, a lost connection): as while
   * disconnected, peers are only judged on what this worker could hear.
   */
  private async confirmSilence(suspects: readonly string[]): Promise<void> {
    this.confirmingSilence = true;
    try {
      await this.nc.flush();
    } catch {
      return; // disconnected or closed meanwhile: judged afresh after the reconnect, or never
    } finally {
      this.confirmingSilence = false;
    }
    if (this.closed || this.disconnected) return;
    const still = new Set(this.silentPeers(performance.now()));
    const gone = suspects.filter((peer) => still.has(peer));
    for (const peer of gone) this.peerGone(peer, 'timeout');
    this.accuse(gone);
  }

  // ---- messages out -------------------------------------------------------------------------------

  private publish<K extends MessageKind>(subject: string, kind: K, body: EnvelopeBodies[K]): void {
    this.seq = (this.seq + 1) >>> 0 || 1;
    const envelope = createEnvelope({ runId: this.runId, sender: this.id, seq: this.seq, sendTimeMs: Date.now(), viewEpoch: this.views.current().epoch }, kind, body) as unknown as Envelope;
    // encode() returns a fresh buffer per message: publish() keeps a reference until its next flush.
    const bytes = this.encoder.encode(envelope);
    try {
      this.nc.publish(subject, bytes);
      this.counters.messagesSent++;
      this.counters.bytesSent += bytes.length;
    } catch {
      // Closed connection or the like: the message is lost, and repair (or the timeouts) take over.
      this.counters.publishErrors++;
    }
  }

  private publishControl<K extends MessageKind>(subject: string, kind: K, body: EnvelopeBodies[K]): void {
    this.publish(subject, kind, body);
  }

  private ensureOpen(): void {
    if (this.permissionError) throw this.permissionError;
    const fenced = this.views.fencedError;
    if (fenced) throw fenced;
    if (this.closed) throw new TransportClosedError(`transport ${this.id} is closed`);
  }

  /** The server refused a publish or subscription: fail everything now, with the fix, rather than time out later. */
  private refused(error: Error): void {
    if (this.permissionError) return;
    const { operation, subject } = error as Error & { operation?: string; subject?: string };
    const op = operation === 'subscription' ? 'subscription' : 'publish';
    const own = natsSubjects.publishPermission(this.runId, this.id);
    this.permissionError = new TransportPermissionError(
      `NATS refused worker ${this.id}'s ${op === 'publish' ? 'publish on' : 'subscription to'} ${subject ?? '(unknown subject)'} (${error.message}). ` +
        `Worker ${this.id} of run ${this.runId} needs credentials that may publish on ${own} and subscribe to gossamer.${this.runId}.>: ` +
        `check that this machine uses the credentials issued for ${this.id} (e.g. infra/nats/secure: node gen-nkeys.mjs --run ${this.runId} --workers ...)`,
      op,
      subject ?? '',
    );
    const refusal = this.permissionError;
    this.rejectAllPending(() => refusal);
  }

  private checkView(viewEpoch: number | undefined): void {
    this.views.checkOperation(viewEpoch);
  }

  private readonly viewHost: ViewHost = {
    broadcast: (m: ViewMessage) => {
      this.publishControl(natsSubjects.member(this.runId, this.id), 'viewChange', viewChangeOf(m));
    },
    send: (to: string, m: ViewMessage) => {
      this.publishControl(natsSubjects.ctrl(this.runId, this.id, to), 'viewChange', viewChangeOf(m));
    },
    seal: (epoch: number) => {
      const error = () => new ViewChangedError(`the membership view ${epoch} is changing`, epoch);
      for (const o of [...this.outbound.values()]) if (o.viewEpoch !== undefined) o.pending.reject(error());
      for (const i of [...this.inbound.values()]) if (i.expectation?.viewEpoch !== undefined) i.expectation.pending.reject(error());
    },
    install: (view: MembershipView) => {
      this.joining = false;
      this.viewMembers = new Set(view.members);
      this.ringStale = true; // the ring is the view's: placed again at the next tick
      // A member that finished ('done') stays in views (views.ts) but not among the live peers.
      for (const peer of view.members) if (peer !== this.id && !this.known.has(peer) && this.departed.get(peer) !== 'done') this.admit(peer);
      for (const peer of [...this.known.keys()]) {
        if (this.viewMembers.has(peer)) continue;
        this.known.delete(peer);
        this.monitor.forget(peer);
        if (!this.departed.has(peer)) this.departed.set(peer, 'timeout');
        // Most workers never judged it themselves (only its monitors did): what waits on it fails now.
        this.failWith(peer, 'timeout');
        this.events.emit({ kind: 'left', worker: peer, reason: 'timeout' });
      }
      // A new view is a new space of transfers: a round redone in it reuses its keys.
      for (const [name, i] of [...this.inbound]) if (i.expectation === undefined || i.expectation.viewEpoch !== undefined) this.inbound.delete(name);
      this.finishedIn.clear();
      this.finishedInOrder.length = 0;
      this.sentKeys.clear();
      for (const f of this.future.splice(0)) this.onMessage(f.msg, f.kind, true);
    },
    fence: (error: FencedError) => {
      this.rejectAllPending(() => error);
    },
  };

  /** Fails every pending send and receive (the transport can no longer serve any of them). */
  private rejectAllPending(error: () => TransportError): void {
    for (const o of [...this.outbound.values()]) o.pending.reject(error());
    for (const i of [...this.inbound.values()]) i.expectation?.pending.reject(error());
  }

  private ensurePeer(peer: string): void {
    if (peer === this.id) throw new TransportUsageError(`${this.id} cannot exchange with itself`);
    if (this.known.has(peer)) return;
    const left = this.departed.get(peer);
    if (left !== undefined) throw new PeerLeftError(`${peer} left the run (${left})`, peer, left);
    throw new TransportUsageError(`${peer} is not a member of the run`, peer);
  }
}

function viewChangeOf(m: ViewMessage): EnvelopeBodies['viewChange'] {
  return {
    step: m.step === 'propose' ? ViewStep.VIEW_STEP_PROPOSE : m.step === 'ack' ? ViewStep.VIEW_STEP_ACK : ViewStep.VIEW_STEP_COMMIT,
    epoch: m.epoch,
    proposer: m.proposer,
    members: m.step === 'ack' ? [] : [...m.members],
    round: m.step === 'propose' ? 0 : m.round,
  };
}

/** A view-agreement step as views.ts takes it (never a SUSPECT notice: the transport handles those). */
function viewMessageOf(v: EnvelopeBodies['viewChange']): ViewMessage {
  if (v.step === ViewStep.VIEW_STEP_PROPOSE) return { step: 'propose', epoch: v.epoch, proposer: v.proposer, members: v.members };
  if (v.step === ViewStep.VIEW_STEP_ACK) return { step: 'ack', epoch: v.epoch, proposer: v.proposer, round: v.round };
  return { step: 'commit', epoch: v.epoch, proposer: v.proposer, members: v.members, round: v.round };
}

function pointToPoint(key: TransferKey): WireTransferKey {
  return { tensorId: key.tensor, round: key.round, collectiveId: 0, phase: AllReducePhase.ALL_REDUCE_PHASE_UNSPECIFIED, step: 0 };
}

function segmentTransfer(t: SegmentTransfer): WireTransferKey {
  return { tensorId: t.key.tensor, round: t.key.round, collectiveId: t.collectiveId, phase: PHASES[t.phase], step: t.step };
}

function describe(t: WireTransferKey): string {
  const base = `tensor ${t.tensorId} of round ${t.round}`;
  return t.collectiveId === 0 ? base : `${base} (all-reduce ${t.collectiveId} phase ${t.phase} step ${t.step})`;
}

/** True when `error` is one of the transport's typed errors. */
export function isTransportError(error: unknown): error is TransportError {
  return error instanceof TransportError;
}

export type { WireErrorReason };
