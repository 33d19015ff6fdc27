// Token-bucket bandwidth limiter, to emulate slow links in experiments. Used by both transports: the
// NATS transport delays each publish on a worker's uplink, the in-process network delays each delivery
// on a simulated link.

export interface BandwidthLimit {
  /** Sustained rate, bytes per second (> 0). */
  readonly bytesPerSecond: number;
  /** Largest burst, bytes (default: one tenth of a second at the rate, at least 64 KiB). */
  readonly burstBytes?: number;
}

export interface TokenBucketOptions extends BandwidthLimit {
  /** Clock in milliseconds (default performance.now), replaceable for tests. */
  readonly now?: () => number;
}

/**
 * A token bucket: `burstBytes` of capacity, refilled at `bytesPerSecond`. A message waits until the
 * bucket would hold all its bytes; a message larger than the burst drives the bucket negative, so it
 * costs size / rate seconds like any other (no message is ever refused for being large).
 */
export class TokenBucket {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  private readonly now: () => number;
  private tokens: number;
  private last: number;
  /** Reservations are served in order, so a large message is not starved by small ones. */
  private tail: Promise<void> = Promise.resolve();

  constructor(options: TokenBucketOptions) {
    if (!(options.bytesPerSecond > 0) || !Number.isFinite(options.bytesPerSecond)) {
      throw new RangeError(`TokenBucket: bytesPerSecond must be a positive number, got ${options.bytesPerSecond}`);
    }
    this.bytesPerSecond = options.bytesPerSecond;
    this.burstBytes = options.burstBytes ?? Math.max(65_536, options.bytesPerSecond / 10);
    if (!(this.burstBytes > 0)) throw new RangeError(`TokenBucket: burstBytes must be positive, got ${this.burstBytes}`);
    this.now = options.now ?? (() => performance.now());
    this.tokens = this.burstBytes;
    this.last = this.now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burstBytes, this.tokens + ((t - this.last) * this.bytesPerSecond) / 1000);
    this.last = t;
  }

  /**
   * Milliseconds to wait before `bytes` may pass, reserving them now (the caller must then wait that
   * long). 0 when the bucket holds enough.
   */
  reserve(bytes: number): number {
    this.refill();
    // Taken now; the wait is the time the bucket needs to refill to zero (the transmission time).
    const waitMs = this.tokens >= bytes ? 0 : ((bytes - this.tokens) * 1000) / this.bytesPerSecond;
    this.tokens -= bytes;
    return waitMs;
  }

  /** Resolves when `bytes` may pass; concurrent callers pass in call order. */
  take(bytes: number): Promise<void> {
    const turn = this.tail.then(() => {
      const waitMs = this.reserve(bytes);
      return waitMs > 0 ? sleep(waitMs) : undefined;
    });
    this.tail = turn;
    return turn;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
