// The small interface every algorithm is written against. Two implementations: NATS (real runs) and
// in-process (simulation and unit tests). Algorithms never see a socket, a subject or a timer of the
// transport's own; they see peers, rounds and Float32Arrays.

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
}

export interface ReceiveOptions {
  /** Reject with TransportTimeoutError after this long (default: the transport's receive timeout). */
  readonly timeoutMs?: number;
  /** Where to put the values; must have the sender's length. Default: a new Float32Array. */
  readonly into?: Float32Array;
  /** Abort the wait (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

export interface AllReduceOptions {
  /** 'mean' (default) or 'sum' over the group. */
  readonly op?: 'mean' | 'sum';
  /** The workers taking part, in a canonical order shared by all of them (default: all members). */
  readonly group?: readonly string[];
  readonly timeoutMs?: number;
  readonly dtype?: WireDType;
}

export type MembershipEvent =
  | { readonly kind: 'joined'; readonly worker: string }
  | { readonly kind: 'left'; readonly worker: string; readonly reason: 'leave' | 'timeout' | 'error' };

export interface TransportStats {
  bytesSent: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Messages dropped as malformed, of another run, from unknown senders, duplicates, ... */
  messagesRejected: number;
  retransmitRequests: number;
}

export interface Transport {
  /** This worker's id. */
  readonly id: string;
  /** The workers currently known to be in the run (including this one), sorted. */
  members(): readonly string[];
  /** Sends `data` to one peer under `key`. Resolves when the bytes are handed to the network. */
  send(to: string, key: TransferKey, data: Float32Array, options?: SendOptions): Promise<void>;
  /**
   * Resolves with the tensor `from` sent under `key`: complete, checksummed, exactly once. Messages
   * that arrive before `receive` is called are buffered. Rejects with a typed TransportError
   * (timeout, peer left, bad message).
   */
  receive(from: string, key: TransferKey, options?: ReceiveOptions): Promise<Float32Array>;
  /** In-place all-reduce of `data` over the group; every member calls it with the same key. */
  allReduce(key: TransferKey, data: Float32Array, options?: AllReduceOptions): Promise<Float32Array>;
  /** Membership changes, as an async iterator (ends when the transport closes). */
  membership(): AsyncIterable<MembershipEvent>;
  stats(): TransportStats;
  close(): Promise<void>;
}
