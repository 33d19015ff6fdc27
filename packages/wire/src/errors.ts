// Rejections: every bad message becomes a typed WireError (never an exception), which a
// WireErrorCounter counts by reason and sender and hands to a listener for logging. Nothing here
// prints: the worker routes the listener to its event log and the CLI renders it.
import { ErrorCode } from './proto.js';
import type { MessageKind } from './proto.js';

/** Why a message or chunk was rejected. */
export const WireErrorReason = {
  /** Not a parseable Envelope, no body, an unknown enum value, or a field breaking its documented rule. */
  MALFORMED: 'MALFORMED',
  /** protocol_version is not PROTOCOL_VERSION. */
  VERSION: 'VERSION',
  /** run_id is not this worker's run. */
  WRONG_RUN: 'WRONG_RUN',
  /** The sender is not a member of the run. */
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  /** crc32c does not match the payload (and scales). */
  CHECKSUM: 'CHECKSUM',
  /** The message is larger than the transport's max payload, or a chunk longer than its slot. */
  OVERSIZED: 'OVERSIZED',
  /** The bytes end mid-field, or a chunk is shorter than its slot. */
  TRUNCATED: 'TRUNCATED',
  /** A float that must be finite is NaN or ±Inf. */
  NON_FINITE: 'NON_FINITE',
  /** Lengths disagree: total_bytes vs dtype × element_count, scales vs blocks, vector vs dim, tensor length vs the expected one. */
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',
  /** An index, offset or count is outside its range. */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** A chunk that already arrived (the first copy is kept). */
  DUPLICATE: 'DUPLICATE',
  /** A chunk claiming bytes outside its own slot of the chunk grid (it would overwrite another chunk). */
  OVERLAP: 'OVERLAP',
  /** A chunk of another round than the one being assembled (e.g. a late one). */
  WRONG_ROUND: 'WRONG_ROUND',
  /** A chunk of another tensor, sender, dtype, block size or chunk grid than the one being assembled. */
  MISMATCH: 'MISMATCH',
  /** A message of an older membership view than the receiver's (e.g. from a worker that was frozen and fenced out). */
  STALE_EPOCH: 'STALE_EPOCH',
} as const;
export type WireErrorReason = (typeof WireErrorReason)[keyof typeof WireErrorReason];

/** All reasons, in declaration order. */
export const WIRE_ERROR_REASONS = Object.values(WireErrorReason) as readonly WireErrorReason[];

/** Sender named in errors about bytes whose sender is unknown (unparseable, and no hint from the transport). */
export const UNKNOWN_SENDER_NAME = '(unknown)';

/** One rejected message or chunk. */
export interface WireError {
  reason: WireErrorReason;
  /** Who sent it: the envelope's sender, else the transport's hint, else UNKNOWN_SENDER_NAME. */
  sender: string;
  /** What exactly was wrong, for logs. */
  detail: string;
  /** The message kind, when the envelope parsed far enough to tell. */
  kind?: MessageKind;
  /** The envelope's sequence number, when known. */
  seq?: number;
  /** For tensor chunks: which tensor, round and chunk. */
  tensorId?: number;
  round?: number;
  chunkIndex?: number;
}

/** The ErrorCode to put in an ErrorReport telling the sender why its message was rejected. */
export function errorCodeOf(reason: WireErrorReason): ErrorCode {
  switch (reason) {
    case 'MALFORMED':
      return ErrorCode.ERROR_CODE_MALFORMED;
    case 'VERSION':
      return ErrorCode.ERROR_CODE_VERSION;
    case 'WRONG_RUN':
      return ErrorCode.ERROR_CODE_WRONG_RUN;
    case 'UNKNOWN_SENDER':
      return ErrorCode.ERROR_CODE_UNKNOWN_SENDER;
    case 'CHECKSUM':
      return ErrorCode.ERROR_CODE_CHECKSUM;
    case 'OVERSIZED':
      return ErrorCode.ERROR_CODE_OVERSIZED;
    case 'TRUNCATED':
      return ErrorCode.ERROR_CODE_TRUNCATED;
    case 'NON_FINITE':
      return ErrorCode.ERROR_CODE_NON_FINITE;
    case 'LENGTH_MISMATCH':
      return ErrorCode.ERROR_CODE_LENGTH_MISMATCH;
    case 'OUT_OF_RANGE':
      return ErrorCode.ERROR_CODE_OUT_OF_RANGE;
    case 'DUPLICATE':
      return ErrorCode.ERROR_CODE_DUPLICATE;
    case 'OVERLAP':
      return ErrorCode.ERROR_CODE_OVERLAP;
    case 'WRONG_ROUND':
      return ErrorCode.ERROR_CODE_WRONG_ROUND;
    case 'MISMATCH':
      return ErrorCode.ERROR_CODE_MISMATCH;
    case 'STALE_EPOCH':
      return ErrorCode.ERROR_CODE_STALE_EPOCH;
  }
}

/** One line for a log: "CHECKSUM from w3 (tensorChunk seq 17, tensor 0 round 4 chunk 2): crc32c …". */
export function formatWireError(error: WireError): string {
  const where: string[] = [];
  if (error.kind !== undefined) where.push(error.kind);
  if (error.seq !== undefined) where.push(`seq ${error.seq}`);
  if (error.tensorId !== undefined) where.push(`tensor ${error.tensorId}`);
  if (error.round !== undefined) where.push(`round ${error.round}`);
  if (error.chunkIndex !== undefined) where.push(`chunk ${error.chunkIndex}`);
  const context = where.length > 0 ? ` (${where.join(', ')})` : '';
  return `${error.reason} from ${error.sender}${context}: ${error.detail}`;
}

export interface WireErrorCounterOptions {
  /** Called with every recorded error (e.g. to log it). Exceptions it throws are swallowed. */
  onError?: (error: WireError) => void;
  /**
   * Distinct senders tracked individually; errors from further senders are counted under
   * OTHER_SENDERS, so a flood of forged sender names cannot grow memory without bound. Default 1024.
   */
  maxSenders?: number;
}

/** Sender key under which errors from senders beyond `maxSenders` are counted. */
export const OTHER_SENDERS = '(other senders)';

/** Counts rejections by reason and by sender. */
export class WireErrorCounter {
  private readonly counts = new Map<string, Map<WireErrorReason, number>>();
  private readonly onError: ((error: WireError) => void) | undefined;
  private readonly maxSenders: number;
  private totalCount = 0;

  constructor(options: WireErrorCounterOptions = {}) {
    this.onError = options.onError;
    this.maxSenders = options.maxSenders ?? 1024;
  }

  /** Counts one error and passes it to the listener. */
  record(error: WireError): void {
    this.totalCount++;
    let key = error.sender;
    if (!this.counts.has(key) && this.counts.size >= this.maxSenders) key = OTHER_SENDERS;
    let bySender = this.counts.get(key);
    if (bySender === undefined) {
      bySender = new Map();
      this.counts.set(key, bySender);
    }
    bySender.set(error.reason, (bySender.get(error.reason) ?? 0) + 1);
    if (this.onError !== undefined) {
      try {
        this.onError(error);
      } catch {
        // A failing logger must not turn a rejected message into a crashed worker.
      }
    }
  }

  /** Errors recorded since construction (or the last reset). */
  get total(): number {
    return this.totalCount;
  }

  /** Errors matching the filter: a reason, a sender, both, or neither (= total). */
  count(filter: { reason?: WireErrorReason; sender?: string } = {}): number {
    let sum = 0;
    for (const [sender, byReason] of this.counts) {
      if (filter.sender !== undefined && filter.sender !== sender) continue;
      for (const [reason, n] of byReason) if (filter.reason === undefined || filter.reason === reason) sum += n;
    }
    return sum;
  }

  /** Counts per reason (every reason present, zeros included). */
  byReason(): Record<WireErrorReason, number> {
    const out = Object.fromEntries(WIRE_ERROR_REASONS.map((r) => [r, 0])) as Record<WireErrorReason, number>;
    for (const byReason of this.counts.values()) for (const [reason, n] of byReason) out[reason] += n;
    return out;
  }

  /** Counts per sender (senders with no errors absent). */
  bySender(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [sender, byReason] of this.counts) {
      let sum = 0;
      for (const n of byReason.values()) sum += n;
      out.set(sender, sum);
    }
    return out;
  }

  /** Every non-zero (sender, reason) count, e.g. for a metrics event. */
  entries(): Array<{ sender: string; reason: WireErrorReason; count: number }> {
    const out: Array<{ sender: string; reason: WireErrorReason; count: number }> = [];
    for (const [sender, byReason] of this.counts) for (const [reason, count] of byReason) out.push({ sender, reason, count });
    return out;
  }

  reset(): void {
    this.counts.clear();
    this.totalCount = 0;
  }
}
