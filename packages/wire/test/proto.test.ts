// The proto and its generated code: version mirror, and every message kind round-trips through the
// one-copy encoder and the validating decoder, byte-for-byte equal to protobufjs's own encoder.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MESSAGE_KINDS,
  PROTOCOL_VERSION,
  ProtocolVersion,
  EnvelopeEncoder,
  decodeEnvelope,
  encodeEnvelope,
  pb,
  gossamer,
  createEnvelope,
  DType,
  ErrorCode,
  WIRE_ERROR_REASONS,
  errorCodeOf,
  type Envelope,
} from '@gossamer/wire';
import { RUN_ID, bodies, envelopeOf, header, plain, project, smallChunk } from './fixtures.js';

const protoText = readFileSync(new URL('../../../proto/gossamer.proto', import.meta.url), 'utf8');

describe('proto/gossamer.proto', () => {
  it('PROTOCOL_VERSION mirrors the highest ProtocolVersion value', () => {
    const versions = Object.values(ProtocolVersion).filter((v): v is number => typeof v === 'number');
    expect(Math.max(...versions)).toBe(PROTOCOL_VERSION);
    expect(protoText).toContain(`PROTOCOL_VERSION_${PROTOCOL_VERSION} = ${PROTOCOL_VERSION};`);
  });

  it('lists every message kind in its header comment', () => {
    for (const kind of MESSAGE_KINDS) {
      const snake = kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      expect(protoText, kind).toMatch(new RegExp(`^//\\s+.*\\b${snake}\\b`, 'm'));
    }
  });

  it('documents every field: each field (or group of adjacent fields) sits under a comment', () => {
    const lines = protoText.split('\n').map((l) => l.trim());
    const isField = (l: string) => /^(optional |repeated )?[\w.<>, ]+ \w+ = \d+;/.test(l) && !l.startsWith('//');
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      if (!isField(line)) return;
      let j = i - 1;
      while (j >= 0 && isField(lines[j])) j--;
      const above = lines[j] ?? '';
      const isEnumValue = /^[A-Z0-9_]+ = \d+;/.test(line);
      if (!above.startsWith('//') && !/^oneof \w+ \{$/.test(above) && !(isEnumValue && /^enum \w+ \{$/.test(above))) undocumented.push(line);
    });
    expect(undocumented).toEqual([]);
  });

  it('every wire error reason has an ErrorCode of the same name', () => {
    for (const reason of WIRE_ERROR_REASONS) {
      expect(ErrorCode[errorCodeOf(reason)]).toBe(`ERROR_CODE_${reason}`);
    }
  });
});

describe('round trips', () => {
  const encoder = new EnvelopeEncoder();
  for (const kind of MESSAGE_KINDS) {
    it(`${kind}: encode → decode gives back every field`, () => {
      const envelope = envelopeOf(kind);
      const bytes = encoder.encode(envelope);
      expect(bytes.length).toBe(encoder.encodedLength(envelope));
      const result = decodeEnvelope(bytes, { runId: RUN_ID, knownSenders: new Set(['w1']) });
      if (!result.ok) throw new Error(result.error.detail);
      expect(result.envelope.body).toBe(kind);
      expect(plain(project(result.envelope, envelope))).toEqual(plain(envelope));
    });

    it(`${kind}: bytes equal protobufjs's own Envelope.encode`, () => {
      const envelope = envelopeOf(kind);
      const reference = pb.Envelope.encode(envelope as gossamer.v1.Envelope.$Properties).finish();
      expect(Array.from(encodeEnvelope(envelope))).toEqual(Array.from(reference));
    });
  }

  it('encodes an empty tensor (no payload field) and long payloads (3-byte length varints) identically', () => {
    const empty = { ...smallChunk(), chunkIndex: 0, chunkCount: 1, byteOffset: 0, totalBytes: 0, elementCount: 0, payload: new Uint8Array(0), crc32c: 0 };
    const big = new Uint8Array(300_000).map((_, i) => i * 7);
    const long = { ...smallChunk(), chunkIndex: 0, chunkCount: 1, chunkBytes: big.length, byteOffset: 0, totalBytes: big.length, elementCount: big.length / 4, payload: big };
    for (const chunk of [empty, long]) {
      for (const envelope of [
        createEnvelope(header(), 'tensorChunk', chunk),
        createEnvelope(header(), 'allReduceChunk', { ...bodies.allReduceChunk(), chunk }),
      ] as Envelope[]) {
        const reference = pb.Envelope.encode(envelope as gossamer.v1.Envelope.$Properties).finish();
        expect(Buffer.from(encodeEnvelope(envelope)).equals(Buffer.from(reference))).toBe(true);
      }
    }
  });

  it('encodeInto writes at an offset and refuses a target that is too small', () => {
    const encoder = new EnvelopeEncoder();
    const envelope = envelopeOf('tensorChunk');
    const n = encoder.encodedLength(envelope);
    const target = new Uint8Array(n + 10);
    expect(encoder.encodeInto(envelope, target, 10)).toBe(n);
    expect(Array.from(target.subarray(10))).toEqual(Array.from(encoder.encode(envelope)));
    expect(() => encoder.encodeInto(envelope, new Uint8Array(n - 1))).toThrow(RangeError);
  });

  it('a custom allocator receives the exact size', () => {
    const sizes: number[] = [];
    const encoder = new EnvelopeEncoder({ allocate: (n) => (sizes.push(n), new Uint8Array(n)) });
    const bytes = encoder.encode(envelopeOf('heartbeat'));
    expect(sizes).toEqual([bytes.length]);
  });

  it('the payload of a decoded chunk is a view into the received bytes (no copy)', () => {
    const bytes = encodeEnvelope(envelopeOf('tensorChunk'));
    const result = decodeEnvelope(bytes);
    if (!result.ok || result.envelope.body !== 'tensorChunk') throw new Error('decode failed');
    expect(result.envelope.tensorChunk.payload.buffer).toBe(bytes.buffer);
    expect(result.envelope.tensorChunk.dtype).toBe(DType.DTYPE_F32);
  });
});
