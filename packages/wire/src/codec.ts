// Encoding and decoding of envelopes.
//
// Encoding copies a tensor payload exactly once, from wherever it lives (e.g. a view of a GPU readback
// buffer) into the outgoing message. protobufjs's own path costs more: its Writer reserves one byte
// for a nested message's length and, when the length needs more (any body over 127 bytes), shifts the
// whole body with copyWithin; `finish()` then copies everything into a new buffer. Here the small
// headers are encoded with the generated encoders into a reused Writer, the lengths are computed, and
// the message is assembled in a buffer of its exact final size. The result is byte-for-byte what the
// generated `Envelope.encode` produces (a test checks every message kind).
//
// Decoding never throws: bad bytes come back as a typed WireError naming the sender, counted by the
// WireErrorCounter if one is given.
import $protobuf from 'protobufjs/minimal.js';
import { UNKNOWN_SENDER_NAME, type WireError, type WireErrorCounter } from './errors.js';
import { pb, type Envelope, type EnvelopeBodies, type EnvelopeHeaderInit, type EnvelopeOf, type MessageKind, type TensorChunk } from './proto.js';
import { validateEnvelope, utf8ByteLength, type Rejection, type ValidationOptions } from './validate.js';
import { DEFAULT_MAX_PAYLOAD, MAX_ID_BYTES, PROTOCOL_VERSION } from './version.js';

// Field numbers of the bodies and bulk fields the fast path frames by hand (see proto/gossamer.proto).
const ENVELOPE_TENSOR_CHUNK_FIELD = 13;
const ENVELOPE_ALL_REDUCE_CHUNK_FIELD = 17;
const ALL_REDUCE_CHUNK_CHUNK_FIELD = 15;
const TENSOR_CHUNK_SCALES_FIELD = 14;
const TENSOR_CHUNK_PAYLOAD_FIELD = 15;
const WIRE_TYPE_LEN = 2;

const EMPTY = new Uint8Array(0);

/** Length of `value` as a protobuf varint (value < 2^32). */
export function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function writeVarint32(buf: Uint8Array, pos: number, value: number): number {
  let v = value >>> 0;
  while (v > 0x7f) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[pos++] = v;
  return pos;
}

/** Key (tag) of a length-delimited field. */
const lenKey = (field: number): number => (field << 3) | WIRE_TYPE_LEN;

/** Size of a length-delimited field holding `length` bytes: key + length varint + bytes (0 if omitted when empty). */
function bytesFieldSize(field: number, length: number): number {
  return length === 0 ? 0 : varint32Size(lenKey(field)) + varint32Size(length) + length;
}

function writeBytesField(out: Uint8Array, pos: number, field: number, bytes: Uint8Array): number {
  if (bytes.length === 0) return pos;
  pos = writeVarint32(out, pos, lenKey(field));
  pos = writeVarint32(out, pos, bytes.length);
  out.set(bytes, pos);
  return pos + bytes.length;
}

/** Builds an envelope of kind `kind` with the current protocol version. */
export function createEnvelope<K extends MessageKind>(header: EnvelopeHeaderInit, kind: K, message: EnvelopeBodies[K]): EnvelopeOf<K> {
  return {
    protocolVersion: PROTOCOL_VERSION,
    runId: header.runId,
    sender: header.sender,
    seq: header.seq,
    sendTimeMs: header.sendTimeMs,
    viewEpoch: header.viewEpoch ?? 0,
    body: kind,
    [kind]: message,
  } as unknown as EnvelopeOf<K>;
}

export interface EncoderOptions {
  /**
   * Allocates the buffer of each encoded message (exact size). Default `new Uint8Array(n)`. A pool
   * may hand out recycled buffers, but NATS's publish() keeps a reference to the bytes until its next
   * flush (a microtask later), so a buffer must not be reused before that.
   */
  allocate?: (byteLength: number) => Uint8Array;
}

/** The parts of one message, measured before anything is written. */
interface Layout {
  total: number;
  write(out: Uint8Array, offset: number): void;
}

/**
 * Encodes envelopes; reuses one protobufjs Writer for the small headers. Not reentrant (one encode
 * at a time per encoder), which JavaScript's single thread makes automatic.
 */
export class EnvelopeEncoder {
  private readonly writer: $protobuf.Writer = $protobuf.Writer.create();
  private readonly allocate: (byteLength: number) => Uint8Array;

  constructor(options: EncoderOptions = {}) {
    this.allocate = options.allocate ?? ((n) => new Uint8Array(n));
  }

  /** Exact encoded length of `envelope`. */
  encodedLength(envelope: Envelope): number {
    return this.layout(envelope).total;
  }

  /**
   * Encodes `envelope` into a new buffer of its exact size, owned by the caller (safe to publish and
   * forget). A tensor payload is copied once, straight from its source view.
   */
  encode(envelope: Envelope): Uint8Array {
    const layout = this.layout(envelope);
    const out = this.allocate(layout.total);
    if (out.length < layout.total) throw new RangeError(`allocate(${layout.total}) returned ${out.length} bytes`);
    layout.write(out, 0);
    return out.length === layout.total ? out : out.subarray(0, layout.total);
  }

  /** Encodes `envelope` into `target` at `offset`; returns the number of bytes written. */
  encodeInto(envelope: Envelope, target: Uint8Array, offset = 0): number {
    const layout = this.layout(envelope);
    if (offset + layout.total > target.length) {
      throw new RangeError(`encodeInto: ${layout.total} bytes do not fit at offset ${offset} of ${target.length}`);
    }
    layout.write(target, offset);
    return layout.total;
  }

  private resetWriter(): $protobuf.Writer {
    const w = this.writer;
    w.pos = 0;
    w.states = null;
    return w;
  }

  private layout(envelope: Envelope): Layout {
    const w = this.resetWriter();
    // The header alone (no body field): the body is framed below.
    pb.Envelope.encode(
      {
        protocolVersion: envelope.protocolVersion,
        runId: envelope.runId,
        sender: envelope.sender,
        seq: envelope.seq,
        sendTimeMs: envelope.sendTimeMs,
        // proto3 leaves a zero out of the encoding: the first view costs no bytes.
        viewEpoch: envelope.viewEpoch === 0 ? undefined : envelope.viewEpoch,
      },
      w,
    );
    const headerEnd = w.pos;
    switch (envelope.body) {
      case 'tensorChunk':
        return this.chunkLayout(headerEnd, ENVELOPE_TENSOR_CHUNK_FIELD, headerEnd, envelope.tensorChunk);
      case 'allReduceChunk': {
        const { chunk, ...collective } = envelope.allReduceChunk;
        pb.AllReduceChunk.encode(collective, w);
        return this.chunkLayout(headerEnd, ENVELOPE_ALL_REDUCE_CHUNK_FIELD, w.pos, chunk, ALL_REDUCE_CHUNK_CHUNK_FIELD);
      }
      default: {
        // Small bodies: the generated encoder appends an Envelope holding only the body field after
        // the header (concatenated protobuf messages merge, and this is the byte order Envelope.encode
        // uses anyway); the whole message is then copied out once.
        const body: Record<string, unknown> = {};
        body[envelope.body] = (envelope as unknown as Record<string, unknown>)[envelope.body];
        pb.Envelope.encode(body as never, w);
        const total = w.pos;
        return { total, write: (out, offset) => out.set(w.buf.subarray(0, total), offset) };
      }
    }
  }

  /**
   * Layout of an envelope whose body holds a TensorChunk, directly (tensor_chunk) or inside one more
   * message (all_reduce_chunk, whose other fields are already in the writer at [headerEnd, outerEnd)).
   */
  private chunkLayout(headerEnd: number, bodyField: number, outerEnd: number, chunk: TensorChunk, innerField?: number): Layout {
    const w = this.writer;
    pb.TensorChunk.encode({ ...chunk, scales: EMPTY, payload: EMPTY }, w);
    const chunkHeaderEnd = w.pos;
    const { scales, payload } = chunk;
    const chunkLength =
      chunkHeaderEnd - outerEnd + bytesFieldSize(TENSOR_CHUNK_SCALES_FIELD, scales.length) + bytesFieldSize(TENSOR_CHUNK_PAYLOAD_FIELD, payload.length);
    // With an outer message, its body = its own fields + the chunk field (always present).
    const bodyLength =
      innerField === undefined
        ? chunkLength
        : outerEnd - headerEnd + varint32Size(lenKey(innerField)) + varint32Size(chunkLength) + chunkLength;
    const total = headerEnd + varint32Size(lenKey(bodyField)) + varint32Size(bodyLength) + bodyLength;
    const scratch = w.buf;
    return {
      total,
      write: (out, offset) => {
        out.set(scratch.subarray(0, headerEnd), offset);
        let pos = writeVarint32(out, offset + headerEnd, lenKey(bodyField));
        pos = writeVarint32(out, pos, bodyLength);
        if (innerField !== undefined) {
          out.set(scratch.subarray(headerEnd, outerEnd), pos);
          pos += outerEnd - headerEnd;
          pos = writeVarint32(out, pos, lenKey(innerField));
          pos = writeVarint32(out, pos, chunkLength);
        }
        out.set(scratch.subarray(outerEnd, chunkHeaderEnd), pos);
        pos += chunkHeaderEnd - outerEnd;
        pos = writeBytesField(out, pos, TENSOR_CHUNK_SCALES_FIELD, scales);
        writeBytesField(out, pos, TENSOR_CHUNK_PAYLOAD_FIELD, payload);
      },
    };
  }
}

const defaultEncoder = new EnvelopeEncoder();

/** Encodes with a shared default encoder: a new exact-size buffer, tensor payload copied once. */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return defaultEncoder.encode(envelope);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

export interface DecoderOptions extends ValidationOptions {
  /** Larger messages are rejected as OVERSIZED without being parsed. Default DEFAULT_MAX_PAYLOAD (1 MiB). */
  maxMessageBytes?: number;
  /** Counts (and, through its listener, logs) every rejection. */
  errors?: WireErrorCounter;
}

export type DecodeResult = { ok: true; envelope: Envelope } | { ok: false; error: WireError };

/**
 * The protocol_version of bytes that do not parse as a whole, if they start with that field (so a
 * peer speaking another version is reported as VERSION even when its messages no longer parse).
 */
function peekProtocolVersion(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x08) return undefined; // field 1, varint
  let value = 0;
  for (let i = 1, shift = 0; i < bytes.length && i < 6; i++, shift += 7) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return value;
  }
  return undefined;
}

/** Decodes and validates envelopes with fixed options. */
export class EnvelopeDecoder {
  constructor(private readonly options: DecoderOptions = {}) {}

  /**
   * Decodes `bytes` (e.g. a NATS message's data). Never throws. `receivedFrom` is who the transport
   * believes sent them (e.g. from the subject); it names the sender of bytes too broken to say.
   *
   * Bytes fields of the result (tensor payloads, scales, vectors) are views into `bytes`, not copies.
   */
  decode(bytes: Uint8Array, receivedFrom?: string): DecodeResult {
    const fallbackSender = receivedFrom ?? UNKNOWN_SENDER_NAME;
    if (!(bytes instanceof Uint8Array)) {
      return this.fail({ reason: 'MALFORMED', detail: 'not a byte array' }, fallbackSender);
    }
    const maxBytes = this.options.maxMessageBytes ?? DEFAULT_MAX_PAYLOAD;
    if (bytes.length > maxBytes) {
      return this.fail({ reason: 'OVERSIZED', detail: `message is ${bytes.length} bytes, the limit ${maxBytes}` }, fallbackSender);
    }
    let decoded: Envelope;
    try {
      // The generated decoder returns the Envelope class; validation below establishes the
      // invariants the Envelope type states (one body, required nested messages present).
      decoded = pb.Envelope.decode(bytes) as unknown as Envelope;
    } catch (err) {
      const version = peekProtocolVersion(bytes);
      if (version !== undefined && version !== PROTOCOL_VERSION) {
        return this.fail({ reason: 'VERSION', detail: `protocol_version ${version}, this worker speaks ${PROTOCOL_VERSION}` }, fallbackSender);
      }
      const message = err instanceof Error ? err.message : String(err);
      const truncated = err instanceof RangeError && message.includes('index out of range');
      return this.fail({ reason: truncated ? 'TRUNCATED' : 'MALFORMED', detail: `does not parse: ${message}` }, fallbackSender);
    }
    let rejection: Rejection | undefined;
    try {
      rejection = validateEnvelope(decoded, this.options);
    } catch (err) {
      // Validation is written not to throw; a knownSenders predicate might.
      rejection = { reason: 'MALFORMED', detail: `validation failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (rejection) {
      const claimed = typeof decoded.sender === 'string' && decoded.sender.length > 0 && utf8ByteLength(decoded.sender) <= MAX_ID_BYTES;
      const error: WireError = { ...rejection, sender: claimed ? decoded.sender : fallbackSender };
      if (decoded.body !== undefined) error.kind = decoded.body;
      if (decoded.seq !== 0) error.seq = decoded.seq;
      this.options.errors?.record(error);
      return { ok: false, error };
    }
    return { ok: true, envelope: decoded };
  }

  private fail(rejection: Rejection, sender: string): DecodeResult {
    const error: WireError = { ...rejection, sender };
    this.options.errors?.record(error);
    return { ok: false, error };
  }
}

/** Decodes and validates one message (see EnvelopeDecoder.decode). Never throws. */
export function decodeEnvelope(bytes: Uint8Array, options: DecoderOptions & { receivedFrom?: string } = {}): DecodeResult {
  return new EnvelopeDecoder(options).decode(bytes, options.receivedFrom);
}
