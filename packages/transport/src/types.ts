// The small interface every algorithm is written against. Two implementations: NATS (real runs) and
// in-process (simulation and unit tests). Algorithms never see a socket, a subject or a timer of the
// transport's own; they see peers, rounds and Float32Arrays.
import type { MembershipView, ViewChange } from './views.js';


/** Names one transfer: which tensor (an algorithm-chosen id, e.g. 0 = parameters) of which round. */
export interface TransferKey {
  /** Algorithm-chosen tensor id (uint32). */
  readonly tensor: number;
  /** Round or iteration number (uint32). */
  readonly round: number;
}

/** Wire precision of a tensor transfer; the receiver always gets float32. */
export type WireDType = 'f32' | 'f16' | 'bf16' | 'int8';

export interface SendOptions {
  /** Precision on the wire (default f32, which is exact). */
  readonly dtype?: WireDType;
  /** int8 only: elements per scale block (default 256). */
  readonly blockSize?: number;
  /** Reject with TransportTimeoutError if the peer has not acknowledged the whole tensor by then (default: the transport's send timeout). */
  readonly timeoutMs?: number;
  /** Abort the transfer (rejects with TransportAbortedError). */
  readonly signal?: AbortSignal;
  /**
   * The membership view (epoch) the caller planned this operation in. If given, the operation fails
   * with ViewChangedError when the transport is in another view, or the view changes before it
   * completes. Without it the operation ignores views (tests, tools).
   */
  readonly viewEpoch?: number;
}

export interface ReceiveOptions {
  /** Reject with TransportTimeoutError after this long (default: the transport's receive timeout). */
  readonly timeoutMs?: number;
  /** Where to put the values; must have the sender's length. Default: a new Float32Array. */
  readonly into?: Float32Array;
  /** Abort the wait (rejects with TransportAbortedError whose cause is the signal's reason). */
  readonly signal?: AbortSignal;
  /**
   * The membership view (epoch) the caller planned this operation in. If given, the operation fails
   * with ViewChangedError when the transport is in another view, or the view changes before it
   * completes. Without it the operation ignores views (tests, tools).
   */
  readonly viewEpoch?: number;
}

export interface AllReduceOptions {
  /** 'mean' (default) or 'sum' over the group. */
  readonly op?: 'mean' | 'sum';
  /** The workers taking part, in a canonical order shared by all of them (default: all members, sorted). */
  readonly group?: readonly string[];
  readonly timeoutMs?: number;
  readonly dtype?: WireDType;
  /** int8 only: elements per scale block (default 256). */
  readonly blockSize?: number;
  /** Tells concurrent all-reduces of the same key apart (uint32 >= 1, default 1); every member passes the same. */
  readonly collectiveId?: number;
  /**
   * The membership view (epoch) the caller planned this operation in. If given, the operation fails
   * with ViewChangedError when the transport is in another view, or the view changes before it
   * completes. Without it the operation ignores views (tests, tools).
   */
  readonly viewEpoch?: number;
}

export type MembershipEvent =
  | { readonly kind: 'joined'; readonly worker: string }
  | { readonly kind: 'left'; readonly worker: string; readonly reason: LeaveKind };

/** Why a peer left: it finished ('done'), stopped ('leave'), went silent ('timeout') or failed ('error'). */
export type LeaveKind = 'leave' | 'timeout' | 'error' | 'done';

export interface TransportStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Messages dropped as malformed, of another run, from unknown senders, duplicates, ... */
  messagesRejected: number;
  retransmitRequests: number;
  /** Chunks sent again (answering retransmit requests, or probing a silent receiver). */
  chunksRetransmitted?: number;
  /** Times the connection to the message server was lost and re-established (NATS only). */
  reconnects?: number;
  /** Rejections by reason (WireErrorReason names, e.g. CHECKSUM, WRONG_RUN, UNKNOWN_SENDER, DUPLICATE). */
  rejectedByReason?: Readonly<Record<string, number>>;
}

/** The run's membership views as one worker sees them (see views.ts for the protocol). */
export interface MembershipViews {
  /** The committed view this worker is in. */
  current(): MembershipView;
  /**
   * The first committed view after `epoch` (at once if there is one already). Rejects with
   * FencedError when this worker was removed, QuorumLostError when none is agreed in time.
   */
  after(epoch: number): Promise<MembershipView>;
  /** True while a next view is being agreed: operations of the current one fail; wait with after(). */
  readonly changing: boolean;
  /**
   * Tells the view agreement the first round whose communication this worker has not completed; a
   * new view starts at the highest such round of its members (who skip communication until then).
   */
  reportRound(round: number): void;
  /**
   * A round's communication is in flight: acknowledgements of a proposal wait for releaseAcks()
   * (after reportRound), so that they say whether that round completed.
   */
  holdAcks(): void;
  releaseAcks(): void;
  /** Every view change so far, oldest first. */
  changes(): readonly ViewChange[];
}

export interface CloseOptions {
  /** 'done' (finished its rounds: peers do not change the view), 'shutdown' (default) or 'failed'. */
  readonly reason?: 'done' | 'shutdown' | 'failed';
  readonly detail?: string;
}

export interface Transport {
  /** This worker's id. */
  readonly id: string;
  /** The workers currently known to be in the run (including this one), sorted. */
  members(): readonly string[];
  /**
   * Sends `data` to one peer under `key`. Resolves once the peer has acknowledged the complete
   * tensor (NATS) or it was delivered (in-process); until then `data` must not be modified, because
   * lost chunks are re-sent from it. Rejects with a typed TransportError (timeout, peer left, bad
   * message, closed). Each (peer, key) may be sent once.
   */
  send(to: string, key: TransferKey, data: Float32Array, options?: SendOptions): Promise<void>;
  /**
   * Resolves with the tensor `from` sent under `key`: complete, checksummed, exactly once. Messages
   * that arrive before `receive` is called are buffered. Rejects with a typed TransportError
   * (timeout, peer left, bad message).
   */
  receive(from: string, key: TransferKey, options?: ReceiveOptions): Promise<Float32Array>;
  /**
   * In-place all-reduce of `data` over the group; every member calls it with the same key, length
   * and options. The result is bit-identical on every member and across implementations (see
   * ringAllReduce for the canonical order of the float32 arithmetic). Resolves with `data`.
   */
  allReduce(key: TransferKey, data: Float32Array, options?: AllReduceOptions): Promise<Float32Array>;
  /**
   * Membership changes, as an async iterator (ends when the transport closes). Each iterator first
   * yields a 'joined' event for every current member other than this worker, then the changes.
   */
  membership(): AsyncIterable<MembershipEvent>;
  /** Membership views: the live set agreed at round boundaries. */
  readonly views: MembershipViews;
  stats(): TransportStats;
  /** Leaves the run (peers see a Leave with the reason) and fails everything pending. */
  close(options?: CloseOptions): Promise<void>;
}
