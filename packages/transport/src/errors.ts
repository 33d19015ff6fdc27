// Typed failures of a transfer. Algorithms branch on the class (e.g. D-SGD drops a neighbour that
// timed out or left and re-normalizes its mixing weights), so every rejection of send/receive/allReduce
// is one of these, never a bare Error or a NATS client error.

/** Base class of every transport failure. */
export class TransportError extends Error {
  /** The peer concerned, when there is one. */
  readonly peer: string | undefined;

  constructor(message: string, peer?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.peer = peer;
  }
}

/** Nothing (or not everything) arrived, or the peer did not acknowledge, within the timeout. */
export class TransportTimeoutError extends TransportError {
  constructor(
    message: string,
    peer: string | undefined,
    /** The timeout that expired, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super(message, peer);
  }
}

/** The peer left the run (Leave message), or was declared gone after missing heartbeats. */
export class PeerLeftError extends TransportError {
  constructor(
    message: string,
    peer: string,
    readonly reason: 'leave' | 'timeout' | 'error' | 'done',
  ) {
    super(message, peer);
  }
}

/**
 * The transfer cannot complete because of bad data: the peer's tensor does not fit the destination
 * (wrong length), or the peer rejected what this worker sent (it reported an error for the transfer).
 */
export class BadMessageError extends TransportError {}

/** The transport was closed (locally) while the operation was pending, or was used after close(). */
export class TransportClosedError extends TransportError {}

/** The operation was aborted through its AbortSignal; `cause` holds the signal's reason. */
export class TransportAbortedError extends TransportError {}

/** The caller broke the API's rules (unknown peer, key reused, group without this worker, ...). */
export class TransportUsageError extends TransportError {}

/**
 * The NATS server refused this worker's publish (or subscription): its credentials do not allow the
 * subject. Fatal for the transport: every pending and later operation fails with it, since a worker
 * that cannot publish on its own subjects can take part in nothing.
 */
export class TransportPermissionError extends TransportError {
  constructor(
    message: string,
    readonly operation: 'publish' | 'subscription',
    readonly subject: string,
  ) {
    super(message);
  }
}

/**
 * The membership view changed (a member failed, left or joined) while the operation was pending, or
 * the operation was planned in another view than the transport's. The caller waits for the next view
 * (`transport.views.after(epoch)`) and re-plans the round over it.
 */
export class ViewChangedError extends TransportError {
  constructor(
    message: string,
    /** The view the operation belonged to. */
    readonly epoch: number,
  ) {
    super(message);
  }
}

/**
 * This worker was removed from the run: a view it did not acknowledge (it was silent, e.g. frozen)
 * was committed without it. Fatal for the transport: the worker exits (the run goes on without it).
 */
export class FencedError extends TransportError {
  constructor(
    message: string,
    /** The first view committed without this worker. */
    readonly epoch: number,
  ) {
    super(message);
  }
}

/** No view could be agreed within the view-change timeout (too few survivors for a quorum, or none answering). */
export class QuorumLostError extends TransportError {}

/** True when `error` is one of the transport's typed errors. */
export function isTransportError(error: unknown): error is TransportError {
  return error instanceof TransportError;
}
