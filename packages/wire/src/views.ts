// Typed views over received bytes without copying when the alignment allows it. protobufjs decodes a
// `bytes` field as a view into the received message, whose offset is almost never a multiple of 4, so
// the copy path is the common one for payloads taken straight from a decoded message; payloads that
// were written into an aligned staging buffer (the reassembler's destination) take the view path.

/** True on little-endian hosts (every platform WebGPU runs on); the wire is little-endian. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A typed view of some bytes, and whether making it needed a copy. */
export interface TypedView<T> {
  values: T;
  /** True when the bytes were misaligned (or the host is big-endian) and were copied once. */
  copied: boolean;
}

/**
 * The little-endian float32 values in `bytes` as a Float32Array: a view sharing the bytes' memory
 * when `bytes.byteOffset` is a multiple of 4, else one copy. Throws a RangeError only when the length
 * is not a multiple of 4 (validated payloads never are).
 */
export function float32View(bytes: Uint8Array): TypedView<Float32Array> {
  if (bytes.byteLength % 4 !== 0) throw new RangeError(`float32View: ${bytes.byteLength} bytes is not a whole number of float32`);
  const n = bytes.byteLength / 4;
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return { values: new Float32Array(bytes.buffer, bytes.byteOffset, n), copied: false };
  }
  const values = new Float32Array(n);
  if (HOST_IS_LITTLE_ENDIAN) {
    new Uint8Array(values.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) values[i] = view.getFloat32(4 * i, true);
  }
  return { values, copied: true };
}

/** The little-endian u16 values in `bytes` (f16 or bf16 elements): a view when 2-aligned, else one copy. */
export function uint16View(bytes: Uint8Array): TypedView<Uint16Array> {
  if (bytes.byteLength % 2 !== 0) throw new RangeError(`uint16View: ${bytes.byteLength} bytes is not a whole number of u16`);
  const n = bytes.byteLength / 2;
  if (HOST_IS_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
    return { values: new Uint16Array(bytes.buffer, bytes.byteOffset, n), copied: false };
  }
  const values = new Uint16Array(n);
  for (let i = 0; i < n; i++) values[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return { values, copied: true };
}

/** The signed bytes of an int8 payload: always a view (bytes have no alignment). */
export function int8View(bytes: Uint8Array): Int8Array {
  return new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The bytes of a typed array, as a view (no copy): what the wire carries for it on little-endian hosts. */
export function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
