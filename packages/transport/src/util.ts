// Small pieces both transports share: pending operations with timeout/abort, membership event
// streams, bounded "seen" sets, key checks and names of transfers.
import { TransportAbortedError, TransportTimeoutError, TransportUsageError, type TransportError } from './errors.js';
import type { MembershipEvent, TransferKey } from './types.js';

/**
 * Returns `promise` itself, marked as handled. The transports' operations are promises their callers
 * hold while doing other work (an all-reduce runs while the next step computes; a receive is posted
 * before the matching send is awaited); one that fails meanwhile (its peer left, a timeout) must not
 * surface as an unhandled rejection, which ends a Node process (and fails a vitest run). Whoever
 * awaits the promise still gets its error.
 */
export function held<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * A pending operation that settles once: by the owner, by its timeout, or by its AbortSignal. Its
 * promise is marked as handled (see held()): it may be rejected (peer left, closed) before or
 * without anyone awaiting it.
 */
export class Pending<T> {
  readonly promise: Promise<T>;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (error: Error) => void;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort: (() => void) | undefined;
  settled = false;

  constructor(options: { timeoutMs?: number; signal?: AbortSignal; timeoutError?: () => TransportError; onSettle?: () => void }) {
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    held(this.promise);
    this.onSettleHook = options.onSettle;
    if (options.timeoutMs !== undefined && Number.isFinite(options.timeoutMs)) {
      const timeoutMs = options.timeoutMs;
      this.timer = setTimeout(
        () => this.reject(options.timeoutError?.() ?? new TransportTimeoutError(`timed out after ${timeoutMs} ms`, undefined, timeoutMs)),
        Math.max(0, timeoutMs),
      );
    }
    this.signal = options.signal;
    if (this.signal !== undefined) {
      const signal = this.signal;
      this.onAbort = () => this.reject(new TransportAbortedError('aborted', undefined, { cause: signal.reason }));
      if (signal.aborted) queueMicrotask(this.onAbort);
      else signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  private readonly onSettleHook: (() => void) | undefined;

  private cleanup(): void {
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.signal !== undefined && this.onAbort !== undefined) this.signal.removeEventListener('abort', this.onAbort);
    this.onSettleHook?.();
  }

  resolve(value: T): void {
    if (this.settled) return;
    this.cleanup();
    this.resolveFn(value);
  }

  reject(error: Error): void {
    if (this.settled) return;
    this.cleanup();
    this.rejectFn(error);
  }
}

/** Fan-out of membership events: each iterator gets the current members first, then every change. */
export class MembershipStream {
  private readonly listeners = new Set<{ push(e: MembershipEvent | undefined): void }>();
  private ended = false;

  emit(event: MembershipEvent): void {
    for (const l of this.listeners) l.push(event);
  }

  end(): void {
    this.ended = true;
    for (const l of this.listeners) l.push(undefined);
    this.listeners.clear();
  }

  iterate(initial: readonly MembershipEvent[]): AsyncIterable<MembershipEvent> {
    const queue: MembershipEvent[] = [...initial];
    let done = this.ended;
    let wake: (() => void) | undefined;
    const listener = {
      push: (e: MembershipEvent | undefined) => {
        if (e === undefined) done = true;
        else queue.push(e);
        wake?.();
        wake = undefined;
      },
    };
    if (!done) this.listeners.add(listener);
    const listeners = this.listeners;
    return {
      [Symbol.asyncIterator](): AsyncIterator<MembershipEvent> {
        return {
          async next(): Promise<IteratorResult<MembershipEvent>> {
            for (;;) {
              const e = queue.shift();
              if (e !== undefined) return { value: e, done: false };
              if (done) return { value: undefined, done: true };
              await new Promise<void>((resolve) => (wake = resolve));
            }
          },
          async return(): Promise<IteratorResult<MembershipEvent>> {
            done = true;
            listeners.delete(listener);
            return { value: undefined, done: true };
          },
        };
      },
    };
  }
}

/** A set that forgets its oldest entries beyond `capacity` (remembers finished transfers, bounded). */
export class BoundedSet<T> {
  private readonly items = new Set<T>();
  constructor(private readonly capacity: number) {}
  add(item: T): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
  }
  has(item: T): boolean {
    return this.items.has(item);
  }
  clear(): void {
    this.items.clear();
  }
}

const isUint32 = (v: number): boolean => Number.isInteger(v) && v >= 0 && v <= 0xffffffff;

/** Throws a TransportUsageError unless tensor and round are uint32. */
export function checkKey(key: TransferKey): void {
  if (!isUint32(key.tensor) || !isUint32(key.round)) {
    throw new TransportUsageError(`transfer key {tensor: ${key.tensor}, round: ${key.round}} must hold two uint32`);
  }
}

/** Throws a TransportUsageError unless `value` is a valid collective id (uint32 >= 1). */
export function checkCollectiveId(value: number): void {
  if (!isUint32(value) || value === 0) throw new TransportUsageError(`collectiveId ${value} must be a uint32 >= 1`);
}

/**
 * Internal name of one transfer from or to `peer`: point to point (collective 0) or one step of a
 * collective. Field order matches wire TransferKey.
 */
export function transferName(peer: string, tensor: number, round: number, collectiveId = 0, phase = 0, step = 0): string {
  return `${peer}|${tensor}|${round}|${collectiveId}|${phase}|${step}`;
}

/** Sorted copy of worker ids. */
export function sortedIds(ids: Iterable<string>): string[] {
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
