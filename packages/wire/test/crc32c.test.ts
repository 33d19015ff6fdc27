// CRC-32C: published check values, running CRCs, every alignment. Its speed is a benchmark
// (`gossamer bench --only crc32c`), not a test.
import { describe, expect, it } from 'vitest';
import { crc32c } from '@gossamer/wire';
import { rng } from './fixtures.js';

/** The textbook bit-at-a-time CRC-32C, as the reference. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, of 0xFF, ascending and descending.
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it('equals the bitwise reference for every length 0..300 at every alignment 0..7', () => {
    const random = rng(1);
    const base = Uint8Array.from({ length: 320 }, () => Math.floor(random() * 256));
    for (let offset = 0; offset < 8; offset++) {
      for (let n = 0; n <= 300; n++) {
        const view = base.subarray(offset, offset + n);
        expect(crc32c(view)).toBe(crc32cBitwise(view));
      }
    }
  });

  it('continues a running CRC: crc32c(b, crc32c(a)) = crc32c(a ‖ b)', () => {
    const random = rng(2);
    const all = Uint8Array.from({ length: 5000 }, () => Math.floor(random() * 256));
    for (const cut of [0, 1, 3, 64, 1001, 4999, 5000]) {
      expect(crc32c(all.subarray(cut), crc32c(all.subarray(0, cut)))).toBe(crc32c(all));
    }
  });
});
