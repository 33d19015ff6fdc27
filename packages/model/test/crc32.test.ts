import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, decodeCheckpoint, encodeCheckpoint } from '@gossamer/model';

describe('crc32 (the checkpoint checksum, without node:zlib)', () => {
  it('equals zlib crc32 on empty, short and long inputs', () => {
    const inputs = [new Uint8Array(0), new TextEncoder().encode('123456789'), Uint8Array.from({ length: 100_003 }, (_, i) => (i * 2654435761) >>> 24)];
    for (const bytes of inputs) expect(crc32(bytes)).toBe(zlibCrc32(bytes) >>> 0);
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the standard check value
  });

  it('still verifies checkpoints (a flipped byte is caught)', () => {
    const bytes = encodeCheckpoint({ model: { name: 'm' } } as never, [{ name: 'params', data: Float32Array.from([1, -0, 3.5]) }]);
    expect(decodeCheckpoint(bytes).sections.get('params')).toEqual(Float32Array.from([1, -0, 3.5]));
    bytes[20] ^= 1;
    expect(() => decodeCheckpoint(bytes)).toThrow(/checksum mismatch/);
  });
});
