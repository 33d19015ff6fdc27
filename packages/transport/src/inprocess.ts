// In-process transport: many workers in one process, for deterministic simulation and unit tests.
// Same interface and same guarantees as the NATS transport (exactly once per (peer, key), typed
// errors, membership events), same values (lossy dtypes go through the same wire codecs, all-reduce
// runs the same ring code), with optional per-link latency and bandwidth, and fault injection (crash a
// worker, lose transfers on a link).
import { DType, bytesOf, decodeTensor, encodeTensor, firstNonFinite, tensorByteLength, type WireErrorReason } from '@gossamer/wire';
import { DEFAULT_INT8_BLOCK, WIRE_DTYPES, ringAllReduce, ringOptions, wireRoundTrip, type SegmentLink, type SegmentTransfer } from './allreduce.js';
import { TokenBucket, type BandwidthLimit } from './bandwidth.js';
import { BadMessageError, PeerLeftError, TransportClosedError, TransportTimeoutError, TransportUsageError, ViewChangedError } from './errors.js';
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
import { ViewKeeper, type MembershipView, type ViewHost, type ViewKeeperOptions } from './views.js';

/** A simulated link's behaviour. */
export interface LinkProfile {
  /** One-way delay added to every transfer, ms (default 0). */
  readonly latencyMs?: number;
  /** Throughput limit of the link (default unlimited). */
  readonly bandwidth?: BandwidthLimit;
}

export interface InProcessNetworkOptions {
  /** Default profile of every directed link (default: no latency, unlimited bandwidth). */
  readonly link?: LinkProfile;
  /** Default receive timeout, ms (default 30 000). */
  readonly receiveTimeoutMs?: number;
  /** Default send timeout (until delivery), ms (default 30 000). */
  readonly sendTimeoutMs?: number;
  /** The view agreement's quorum and timeouts. */
  readonly views?: ViewKeeperOptions;
}

/** Finished transfers remembered per worker to reject late duplicates. */
const REMEMBERED_TRANSFERS = 65_536;
const PHASE_NUMBER = { 'reduce-scatter': 1, 'all-gather': 2 } as const;

interface Delivery {
  values: Float32Array;
  wireBytes: number;
  /** The sender's view when it sent. */
  epoch: number;
}

interface LinkState {
  latencyMs: number;
  bucket: TokenBucket | undefined;
  /** Transfers still to be lost on this link (fault injection). */
  drops: number;
}

/** A set of in-process workers and the simulated links between them. */
export class InProcessNetwork {
  private readonly workers = new Map<string, InProcessTransport>();
  private readonly links = new Map<string, LinkState>();
  private readonly defaultLink: LinkProfile;
  readonly receiveTimeoutMs: number;
  readonly sendTimeoutMs: number;
  readonly viewOptions: ViewKeeperOptions;
  /** The first view's members (createInProcessNetwork sets the whole list before anyone joins). */
  initialMembers: readonly string[] | undefined;

  constructor(options: InProcessNetworkOptions = {}) {
    this.viewOptions = options.views ?? {};
    this.defaultLink = options.link ?? {};
    this.receiveTimeoutMs = options.receiveTimeoutMs ?? 30_000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
  }

  /** Adds a worker; every current member sees it join. */
  join(id: string): InProcessTransport {
    if (id.length === 0) throw new TransportUsageError('worker id is empty');
    if (this.workers.has(id)) throw new TransportUsageError(`worker ${id} is already in the network`);
    const transport = new InProcessTransport(id, this);
    this.workers.set(id, transport);
    for (const other of this.workers.values()) if (other !== transport) other.peerJoined(id);
    return transport;
  }

  /** The transports of the current members, in join order. */
  get transports(): InProcessTransport[] {
    return [...this.workers.values()];
  }

  /** The transport of worker `id` (throws if it is not a member). */
  transport(id: string): InProcessTransport {
    const t = this.workers.get(id);
    if (t === undefined) throw new TransportUsageError(`no worker ${id}`);
    return t;
  }

  /** Current members, sorted. */
  memberIds(): string[] {
    return sortedIds(this.workers.keys());
  }

  /** Sets the profile of the directed link from → to (e.g. a slow uplink between two workers). */
  setLink(from: string, to: string, profile: LinkProfile): void {
    this.links.set(`${from}>${to}`, {
      latencyMs: profile.latencyMs ?? 0,
      bucket: profile.bandwidth ? new TokenBucket(profile.bandwidth) : undefined,
      drops: this.links.get(`${from}>${to}`)?.drops ?? 0,
    });
  }

  /** Fault injection: the next `count` transfers from → to are lost (the sender and receiver then time out). */
  dropTransfers(from: string, to: string, count: number): void {
    this.link(from, to).drops += count;
  }

  /**
   * Fault injection: worker `id` dies without a word. Its peers see it leave with reason 'timeout'
   * (their pending sends to and receives from it reject with PeerLeftError); its own pending
   * operations reject with TransportClosedError.
   */
  crash(id: string): void {
    const t = this.workers.get(id);
    if (t === undefined) return;
    this.remove(id, 'timeout');
    t.shutDown('crashed');
  }

  /** @internal Removes a member and tells the others. */
  remove(id: string, reason: LeaveKind): void {
    if (!this.workers.delete(id)) return;
    for (const other of this.workers.values()) other.peerLeft(id, reason);
  }

  /** @internal */
  member(id: string): InProcessTransport | undefined {
    return this.workers.get(id);
  }

  /** @internal The state of the link from → to, created from the default profile on first use. */
  link(from: string, to: string): LinkState {
    const name = `${from}>${to}`;
    let state = this.links.get(name);
    if (state === undefined) {
      state = {
        latencyMs: this.defaultLink.latencyMs ?? 0,
        bucket: this.defaultLink.bandwidth ? new TokenBucket(this.defaultLink.bandwidth) : undefined,
        drops: 0,
      };
      this.links.set(name, state);
    }
    return state;
  }

  /** Closes every member. */
  async close(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.close()));
  }
}

/** Creates a network with one transport per id (in that order). */
export function createInProcessNetwork(ids: readonly string[], options: InProcessNetworkOptions = {}): InProcessNetwork {
  const network = new InProcessNetwork(options);
  network.initialMembers = sortedIds(ids);
  for (const id of ids) network.join(id);
  return network;
}

/** One worker's transport on an InProcessNetwork (create it with network.join or createInProcessNetwork). */
export class InProcessTransport implements Transport {
  private readonly mailbox = new Map<string, Delivery>();
  private readonly waiting = new Map<string, { pending: Pending<Delivery>; from: string; viewEpoch: number | undefined }>();
  private readonly outgoing = new Map<string, { pending: Pending<void>; to: string; viewEpoch: number | undefined }>();
  /** Deliveries of a view this worker has not installed yet. */
  private readonly future: { name: string; delivery: Delivery }[] = [];
  readonly views: ViewKeeper;
  private readonly finished = new BoundedSet<string>(REMEMBERED_TRANSFERS);
  private readonly sent = new BoundedSet<string>(REMEMBERED_TRANSFERS);
  private readonly known = new Set<string>();
  private readonly departed = new Map<string, LeaveKind>();
  private readonly events = new MembershipStream();
  private readonly counters: TransportStats = {
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    messagesRejected: 0,
    retransmitRequests: 0,
    chunksRetransmitted: 0,
  };
  private readonly rejections: Partial<Record<WireErrorReason, number>> = {};
  private closed = false;

  /** @internal Use network.join(id). */
  constructor(
    readonly id: string,
    private readonly network: InProcessNetwork,
  ) {
    for (const other of network.memberIds()) if (other !== id) this.known.add(other);
    const members = network.initialMembers?.includes(id) ? network.initialMembers : sortedIds([id, ...this.known]);
    this.views = new ViewKeeper(id, { epoch: 0, members, startRound: 0 }, this.viewHost, network.viewOptions);
  }

  private get epoch(): number {
    return this.views.current().epoch;
  }

  private readonly viewHost: ViewHost = {
    broadcast: (message) => {
      for (const other of this.network.transports) {
        if (other !== this) queueMicrotask(() => other.views.onMessage(this.id, message));
      }
    },
    send: (to, message) => {
      const other = this.network.member(to);
      if (other !== undefined && other !== this) queueMicrotask(() => other.views.onMessage(this.id, message));
    },
    seal: (epoch) => {
      const error = () => new ViewChangedError(`the membership view ${epoch} is changing`, epoch);
      for (const w of [...this.waiting.values()]) if (w.viewEpoch !== undefined) w.pending.reject(error());
      for (const o of [...this.outgoing.values()]) if (o.viewEpoch !== undefined) o.pending.reject(error());
    },
    install: (view: MembershipView) => {
      for (const peer of [...this.known]) {
        if (view.members.includes(peer)) continue;
        this.known.delete(peer);
        if (!this.departed.has(peer)) this.departed.set(peer, 'timeout');
      }
      for (const [name, d] of [...this.mailbox]) if (d.epoch < view.epoch) this.mailbox.delete(name);
      // A new view is a new space of transfers: a round redone in it reuses its keys.
      this.finished.clear();
      this.sent.clear();
      const held = this.future.splice(0);
      for (const f of held) this.deliver(f.name, f.delivery);
    },
    fence: (error) => {
      for (const w of [...this.waiting.values()]) w.pending.reject(error);
      for (const o of [...this.outgoing.values()]) o.pending.reject(error);
    },
  };

  private checkView(viewEpoch: number | undefined): void {
    this.views.checkOperation(viewEpoch);
  }

  members(): readonly string[] {
    return this.closed ? [] : sortedIds([this.id, ...this.known]);
  }

  membership(): AsyncIterable<MembershipEvent> {
    return this.events.iterate(sortedIds(this.known).map((worker) => ({ kind: 'joined', worker })));
  }

  stats(): TransportStats {
    return { ...this.counters, rejectedByReason: { ...this.rejections } };
  }

  send(to: string, key: TransferKey, data: Float32Array, options: SendOptions = {}): Promise<void> {
    return held(this.doSend(to, key, data, options));
  }

  private async doSend(to: string, key: TransferKey, data: Float32Array, options: SendOptions): Promise<void> {
    checkKey(key);
    const name = transferName(this.id, key.tensor, key.round);
    if (this.sent.has(`${to}|${name}`)) throw new TransportUsageError(`${this.id} already sent tensor ${key.tensor} of round ${key.round} to ${to}`);
    const bad = firstNonFinite(bytesOf(data), DType.DTYPE_F32);
    if (bad >= 0) throw new BadMessageError(`element ${bad} of the tensor for ${to} is ${data[bad]}: only finite values can be sent`, to);
    this.checkView(options.viewEpoch);
    this.sent.add(`${to}|${name}`);
    const values = this.encodeForWire(data, options.dtype ?? 'f32', options.blockSize ?? DEFAULT_INT8_BLOCK);
    await this.transmit(to, name, values, options.dtype ?? 'f32', options.timeoutMs ?? this.network.sendTimeoutMs, options.signal, options.viewEpoch);
  }

  receive(from: string, key: TransferKey, options: ReceiveOptions = {}): Promise<Float32Array> {
    return held(this.doReceive(from, key, options));
  }

  private async doReceive(from: string, key: TransferKey, options: ReceiveOptions): Promise<Float32Array> {
    checkKey(key);
    this.checkView(options.viewEpoch);
    const delivery = await this.await(from, transferName(from, key.tensor, key.round), options.timeoutMs ?? this.network.receiveTimeoutMs, options.signal, options.viewEpoch);
    if (options.into === undefined) return delivery.values;
    if (options.into.length !== delivery.values.length) {
      this.reject('LENGTH_MISMATCH');
      throw new BadMessageError(`${from} sent ${delivery.values.length} values for tensor ${key.tensor} of round ${key.round}, the destination holds ${options.into.length}`, from);
    }
    options.into.set(delivery.values);
    return options.into;
  }

  allReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions = {}): Promise<Float32Array> {
    return held(this.doAllReduce(key, data, options));
  }

  private async doAllReduce(key: TransferKey, data: Float32Array, options: AllReduceOptions): Promise<Float32Array> {
    const ring = ringOptions(this.id, this.members(), key, options, this.network.receiveTimeoutMs);
    this.ensureOpen();
    this.checkView(options.viewEpoch);
    return ringAllReduce(this.segmentLink, data, ring);
  }

  private readonly segmentLink: SegmentLink = {
    sendSegment: async (to: string, t: SegmentTransfer, values: Float32Array) => {
      const copy = values.slice();
      wireRoundTrip(copy, t.dtype, t.blockSize);
      this.checkView(t.viewEpoch);
      await this.transmit(to, this.segmentName(this.id, t), copy, t.dtype, t.timeoutMs, undefined, t.viewEpoch);
    },
    receiveSegment: async (from: string, t: SegmentTransfer, into: Float32Array) => {
      this.checkView(t.viewEpoch);
      const delivery = await this.await(from, this.segmentName(from, t), t.timeoutMs, undefined, t.viewEpoch);
      if (delivery.values.length !== into.length) {
        this.reject('LENGTH_MISMATCH');
        throw new BadMessageError(`${from} sent a segment of ${delivery.values.length} values, expected ${into.length}`, from);
      }
      into.set(delivery.values);
    },
  };

  private segmentName(sender: string, t: SegmentTransfer): string {
    return transferName(sender, t.key.tensor, t.key.round, t.collectiveId, PHASE_NUMBER[t.phase], t.step);
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return;
    this.network.remove(this.id, options.reason === 'done' ? 'done' : options.reason === 'failed' ? 'error' : 'leave');
    this.shutDown('closed');
  }

  // ---- internals -------------------------------------------------------------------------------

  /** The values the receiver gets: a private copy (f32), or the decoded wire encoding (lossy dtypes). */
  private encodeForWire(data: Float32Array, dtype: WireDType, blockSize: number): Float32Array {
    if (dtype === 'f32') return data.slice();
    return decodeTensor(encodeTensor(data, WIRE_DTYPES[dtype], dtype === 'int8' ? blockSize : 0));
  }

  private async transmit(to: string, name: string, values: Float32Array, dtype: WireDType, timeoutMs: number, signal: AbortSignal | undefined, viewEpoch: number | undefined): Promise<void> {
    this.ensureOpen();
    this.ensurePeer(to);
    // After the wire round trip: a finite float32 can still overflow f16 (|x| > 65504).
    const bad = firstNonFinite(bytesOf(values), DType.DTYPE_F32);
    if (bad >= 0) throw new BadMessageError(`element ${bad} of the tensor for ${to} is not finite on the wire (${dtype}): only finite values can be sent`, to);
    const wireBytes = tensorByteLength(WIRE_DTYPES[dtype], values.length);
    const pending = new Pending<void>({
      timeoutMs,
      signal,
      timeoutError: () => new TransportTimeoutError(`${to} did not get ${name} within ${timeoutMs} ms`, to, timeoutMs),
      onSettle: () => this.outgoing.delete(`${to}|${name}`),
    });
    this.outgoing.set(`${to}|${name}`, { pending, to, viewEpoch });
    const epoch = this.epoch;
    const link = this.network.link(this.id, to);
    this.counters.bytesSent += wireBytes;
    this.counters.messagesSent++;
    if (link.drops > 0) {
      link.drops--; // lost: nobody is told; the timeouts fire
      return pending.promise;
    }
    const deliver = (): void => {
      if (pending.settled) return;
      const receiver = this.network.member(to);
      if (receiver === undefined) return; // gone meanwhile: peerLeft() rejected `pending`
      receiver.deliver(name, { values, wireBytes, epoch });
      pending.resolve();
    };
    const delay = async (): Promise<void> => {
      if (link.bucket !== undefined) await link.bucket.take(wireBytes);
      if (link.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, link.latencyMs));
      deliver();
    };
    if (link.bucket === undefined && link.latencyMs === 0) deliver();
    else void delay();
    return pending.promise;
  }

  /** @internal A transfer arrives from the network. */
  deliver(name: string, delivery: Delivery): void {
    if (this.closed) return;
    if (delivery.epoch < this.epoch) {
      this.reject('STALE_EPOCH');
      return;
    }
    if (delivery.epoch > this.epoch) {
      this.future.push({ name, delivery }); // its view is being committed: hold it until then
      return;
    }
    if (this.finished.has(name) || this.mailbox.has(name)) {
      this.reject('DUPLICATE');
      return;
    }
    this.counters.messagesReceived++;
    this.counters.bytesReceived += delivery.wireBytes;
    const waiter = this.waiting.get(name);
    if (waiter !== undefined) {
      this.finished.add(name);
      waiter.pending.resolve(delivery);
    } else {
      this.mailbox.set(name, delivery);
    }
  }

  private await(from: string, name: string, timeoutMs: number, signal: AbortSignal | undefined, viewEpoch: number | undefined): Promise<Delivery> {
    this.ensureOpen();
    const ready = this.mailbox.get(name);
    if (ready !== undefined) {
      this.mailbox.delete(name);
      this.finished.add(name);
      return Promise.resolve(ready);
    }
    if (this.finished.has(name)) return Promise.reject(new TransportUsageError(`${name} was already received`, from));
    if (this.waiting.has(name)) return Promise.reject(new TransportUsageError(`${name} is already being received`, from));
    this.ensurePeer(from);
    const pending = new Pending<Delivery>({
      timeoutMs,
      signal,
      timeoutError: () => new TransportTimeoutError(`nothing from ${from} for ${name} within ${timeoutMs} ms`, from, timeoutMs),
      onSettle: () => this.waiting.delete(name),
    });
    this.waiting.set(name, { pending, from, viewEpoch });
    return pending.promise;
  }

  private ensureOpen(): void {
    if (this.closed) throw new TransportClosedError(`transport ${this.id} is closed`);
  }

  private ensurePeer(peer: string): void {
    if (peer === this.id) throw new TransportUsageError(`${this.id} cannot exchange with itself`);
    const left = this.departed.get(peer);
    if (left !== undefined) throw new PeerLeftError(`${peer} left the run (${left})`, peer, left);
    if (!this.known.has(peer)) throw new TransportUsageError(`${peer} is not a member of the run`, peer);
  }

  private reject(reason: WireErrorReason): void {
    this.counters.messagesRejected++;
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1;
  }

  /** @internal */
  peerJoined(id: string): void {
    if (this.closed) return;
    this.known.add(id);
    this.departed.delete(id);
    this.events.emit({ kind: 'joined', worker: id });
  }

  /** @internal */
  peerLeft(id: string, reason: LeaveKind): void {
    if (this.closed) return;
    if (reason !== 'done') this.views.suspect(id);
    if (!this.known.delete(id)) return;
    this.departed.set(id, reason);
    const error = () => new PeerLeftError(`${id} left the run (${reason})`, id, reason);
    for (const w of [...this.waiting.values()]) if (w.from === id) w.pending.reject(error());
    for (const o of [...this.outgoing.values()]) if (o.to === id) o.pending.reject(error());
    this.events.emit({ kind: 'left', worker: id, reason });
  }

  /** @internal Rejects everything pending and ends the membership stream. */
  shutDown(why: string): void {
    if (this.closed) return;
    this.closed = true;
    const error = () => new TransportClosedError(`transport ${this.id} ${why}`);
    for (const w of [...this.waiting.values()]) w.pending.reject(error());
    for (const o of [...this.outgoing.values()]) o.pending.reject(error());
    this.mailbox.clear();
    this.events.end();
    this.views.close();
  }
}
